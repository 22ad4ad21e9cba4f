// The log's identity: the checkpoint signer name, the tree id and origin, and the log id (the
// SHA-256 of the log key's SPKI), from the issuer and the log key.
import type { KeyObject } from 'node:crypto';
import { logId as logIdOf } from './checkpoint.ts';

export interface LogIdentity {
  /** The checkpoint signer name and origin prefix: the issuer URL's host. */
  keyName: string;
  treeId: string;
  origin: string;
  logId: Uint8Array;
}

/**
 * A stable tree id from the log key: its log id's first 7 bytes as a decimal number. Rotating the
 * log key changes it, so a log whose key will rotate pins it with WAYBILL_LOG_TREE_ID.
 */
export function treeIdFor(logId: Uint8Array): string {
  return BigInt(`0x${Buffer.from(logId.subarray(0, 7)).toString('hex')}`).toString(10);
}

export function logIdentity(opts: { issuer: string; publicKey: KeyObject; treeId?: string | undefined }): LogIdentity {
  const id = logIdOf(opts.publicKey);
  const keyName = new URL(opts.issuer).host;
  if (opts.treeId !== undefined && !/^[1-9][0-9]{0,18}$/.test(opts.treeId))
    throw new RangeError(`log: tree id ${JSON.stringify(opts.treeId)} is not a decimal integer from 1 to 2^63-1`);
  const treeId = opts.treeId ?? treeIdFor(id);
  return { keyName, treeId, origin: `${keyName} - ${treeId}`, logId: id };
}
