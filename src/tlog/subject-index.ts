// The log's signed index of what it holds about each subject digest. A verdict selects its
// evidence by (digest, predicate type, environment) through database indexes; an insider who
// deletes or edits those index rows could hide a FAILED test without touching anything signed.
// So for every digest the sequencer keeps a head: how many entries are about it, the last one's
// log index, and a hash chain over each entry's (attestation id, log index, predicate type,
// environment), signed by the log key. A verdict recomputes the chain from the rows it can see
// and compares it with the signed head: a missing, added or edited row breaks it.
// Pure: the sequencer and the verdict read and write the rows.
import { createHash, type KeyObject, sign, verify } from 'node:crypto';

export const EMPTY_CHAIN: Uint8Array = new Uint8Array(32);

/** One log entry as the index covers it. */
export interface IndexedEntry {
  attestationId: string;
  logIndex: number;
  predicateType: string;
  /** The environment the signed statement names, or null. */
  environment: string | null;
}

/** The signed state of one digest's index. */
export interface SubjectHead {
  digest: string;
  entries: number;
  lastLogIndex: number;
  chain: Uint8Array;
  /** The log id (SHA-256 of the SPKI) of the key that signed it. */
  keyId: Uint8Array;
  signature: Uint8Array;
}

function field(h: ReturnType<typeof createHash>, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  h.update(len).update(bytes);
}

/** chain' = SHA-256(chain || id || logIndex || predicateType || environment), fields length-prefixed. */
export function extendChain(chain: Uint8Array, e: IndexedEntry): Uint8Array {
  const h = createHash('sha256').update(chain);
  field(h, e.attestationId);
  const index = Buffer.alloc(8);
  index.writeBigUInt64BE(BigInt(e.logIndex));
  h.update(index);
  field(h, e.predicateType);
  field(h, e.environment ?? '');
  return new Uint8Array(h.digest());
}

/** The chain over `entries` in log order. */
export function chainOf(entries: readonly IndexedEntry[]): Uint8Array {
  return entries.reduce((chain, e) => extendChain(chain, e), EMPTY_CHAIN);
}

/** The bytes the log key signs for a head: a text note, one field a line. */
export function headMessage(
  origin: string,
  h: Pick<SubjectHead, 'digest' | 'entries' | 'lastLogIndex' | 'chain'>,
): Buffer {
  const chain = Buffer.from(h.chain).toString('hex');
  return Buffer.from(`waybill subject index v1\n${origin}\n${h.digest}\n${h.entries}\n${h.lastLogIndex}\n${chain}\n`);
}

export function signHead(
  origin: string,
  h: Pick<SubjectHead, 'digest' | 'entries' | 'lastLogIndex' | 'chain'>,
  key: { privateKey: KeyObject; keyId: Uint8Array },
): SubjectHead {
  const signature = sign('sha256', headMessage(origin, h), key.privateKey);
  return { ...h, keyId: key.keyId, signature: new Uint8Array(signature) };
}

/**
 * Why the rows seen for a digest are not what the log signed, or undefined when they are.
 * `entries` must be every row about the digest, in log order; `keys` the log's public keys by
 * hex log id (a head signed before a key rotation verifies with the retired key).
 */
export function checkHead(
  origin: string,
  head: SubjectHead | undefined,
  digest: string,
  entries: readonly IndexedEntry[],
  keys: ReadonlyMap<string, KeyObject>,
): string | undefined {
  if (!head) {
    return entries.length === 0
      ? undefined
      : `the log holds no signed index for ${digest}, yet ${entries.length} rows name it`;
  }
  if (head.digest !== digest) return `the signed index head is for ${head.digest}, not ${digest}`;
  const key = keys.get(Buffer.from(head.keyId).toString('hex'));
  if (!key) return `the index head for ${digest} is signed by an unknown log key`;
  if (!verify('sha256', headMessage(origin, head), key, head.signature)) {
    return `the index head for ${digest} does not carry a valid log signature`;
  }
  if (entries.length !== head.entries) {
    return `the log signed ${head.entries} entries about ${digest}, storage shows ${entries.length}`;
  }
  const last = entries.at(-1)?.logIndex ?? -1;
  if (entries.length > 0 && last !== head.lastLogIndex) {
    return `the last entry about ${digest} is #${head.lastLogIndex} in the signed index, #${last} in storage`;
  }
  if (!Buffer.from(chainOf(entries)).equals(Buffer.from(head.chain))) {
    return `the rows about ${digest} (ids, log indices, predicate types, environments) are not the ones the log signed`;
  }
  return undefined;
}
