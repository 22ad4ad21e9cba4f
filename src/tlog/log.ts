// waybill's transparency log: an RFC 6962 tree in PostgreSQL, appended to through a
// sequencer. Concurrent appends wait in one queue; each batch is a single transaction under
// the log's advisory lock that assigns indices, writes the entries (and the attestation rows
// that they log, from each item's `record`), the new complete nodes and the signed
// checkpoint. Only after commit does any caller get its entry and proof, so an acknowledged
// append survives a crash and a crashed batch leaves nothing behind. Several processes on one
// database share the lock and therefore one log with no gap and no duplicate index.
import type { KeyObject } from 'node:crypto';
import type { LoggedRecord, LogRepo, StoredCheckpoint } from '../storage/log-repo.ts';
import { checkpointBody, logId as logIdOf, signCheckpoint } from './checkpoint.ts';
import { inclusionPromise } from './entry.ts';
import {
  appendNodes,
  consistencyPlan,
  EMPTY_ROOT,
  frontierIds,
  hashRanges,
  inclusionPlan,
  leafHash,
  nodeKey,
  nodesFor,
  type HashedNode,
} from './merkle.ts';

/** A transparency log entry as Sigstore bundles carry it (protobuf-specs JSON form). */
export interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise: { signedEntryTimestamp: string };
  inclusionProof: InclusionProofJson;
  canonicalizedBody: string;
}

export interface InclusionProofJson {
  logIndex: string;
  rootHash: string;
  treeSize: string;
  hashes: string[];
  checkpoint: { envelope: string };
}

export interface AppendItem {
  /** The canonicalized entry body (the leaf data). */
  body: Uint8Array;
  kind: { kind: string; version: string };
  attestationId: string;
  /** The attestation this entry logs, given its log entry; written in the batch's transaction. */
  record(entry: TlogEntryJson): LoggedRecord;
}

export interface LogIdentity {
  /** The checkpoint signer name and origin prefix: the issuer URL's host. */
  keyName: string;
  treeId: string;
  origin: string;
  logId: Uint8Array;
}

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

/** A stable tree id from the log key: its log id's first 7 bytes as a decimal number. */
export function treeIdFor(logId: Uint8Array): string {
  return BigInt('0x' + Buffer.from(logId.subarray(0, 7)).toString('hex')).toString(10);
}

export function logIdentity(opts: { issuer: string; publicKey: KeyObject; treeId?: number | undefined }): LogIdentity {
  const id = logIdOf(opts.publicKey);
  const keyName = new URL(opts.issuer).host;
  const treeId = opts.treeId !== undefined ? String(opts.treeId) : treeIdFor(id);
  return { keyName, treeId, origin: `${keyName} - ${treeId}`, logId: id };
}

interface Pending {
  item: AppendItem;
  resolve(entry: TlogEntryJson): void;
  reject(err: unknown): void;
}

export class TransparencyLog {
  readonly identity: LogIdentity;
  readonly #repo: LogRepo;
  readonly #privateKey: KeyObject;
  readonly #now: () => Date;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #running = false;

  constructor(opts: {
    repo: LogRepo;
    privateKey: KeyObject;
    publicKey: KeyObject;
    issuer: string;
    treeId?: number | undefined;
    now?: () => Date;
    maxBatch?: number;
  }) {
    this.#repo = opts.repo;
    this.#privateKey = opts.privateKey;
    this.identity = logIdentity({ issuer: opts.issuer, publicKey: opts.publicKey, treeId: opts.treeId });
    this.#now = opts.now ?? (() => new Date());
    this.#maxBatch = opts.maxBatch ?? 256;
  }

  /** Append one entry; resolves with its entry, SET and inclusion proof once committed. */
  append(item: AppendItem): Promise<TlogEntryJson> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const entries = await this.#commit(batch.map((p) => p.item));
          batch.forEach((p, i) => p.resolve(entries[i]!));
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
          } else {
            // One bad item must not fail its neighbours: retry each on its own.
            for (const p of batch) {
              try {
                p.resolve((await this.#commit([p.item]))[0]!);
              } catch (e) {
                p.reject(e);
              }
            }
          }
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #commit(items: AppendItem[]): Promise<TlogEntryJson[]> {
    const leaves = items.map((it) => leafHash(it.body));
    return this.#repo.locked(async (tx) => {
      const latest = await this.#repo.latestCheckpoint(tx);
      const oldSize = latest?.treeSize ?? 0;
      const frontier = await this.#repo.nodes(frontierIds(oldSize), tx);
      const { nodes, root, size } = appendNodes(oldSize, frontier, leaves);
      const integratedTime = Math.floor(this.#now().getTime() / 1000);
      const note = signCheckpoint(checkpointBody({ origin: this.identity.origin, size, rootHash: root }), {
        name: this.identity.keyName,
        privateKey: this.#privateKey,
      });

      // Proof nodes: the new ones are in memory, older ones come from storage in one query.
      const known = new Map<string, Uint8Array>(frontier);
      for (const n of nodes) known.set(nodeKey(n), n.hash);
      const plans = items.map((_, i) => inclusionPlan(oldSize + i, size));
      const missing = nodesFor(plans.flat()).filter((id) => !known.has(nodeKey(id)));
      for (const [k, v] of await this.#repo.nodes(missing, tx)) known.set(k, v);

      const entries = items.map((item, i): TlogEntryJson => {
        const logIndex = oldSize + i;
        const set = inclusionPromise(
          { body: item.body, integratedTime, logId: this.identity.logId, logIndex },
          this.#privateKey,
        );
        return {
          logIndex: String(logIndex),
          logId: { keyId: b64(this.identity.logId) },
          kindVersion: item.kind,
          integratedTime: String(integratedTime),
          inclusionPromise: { signedEntryTimestamp: b64(set) },
          inclusionProof: {
            logIndex: String(logIndex),
            rootHash: b64(root),
            treeSize: String(size),
            hashes: hashRanges(plans[i]!, known).map(b64),
            checkpoint: { envelope: note },
          },
          canonicalizedBody: b64(item.body),
        };
      });
      await this.#repo.writeBatch(tx, {
        records: items.map((item, i) => item.record(entries[i]!)),
        entries: items.map((item, i) => ({
          logIndex: oldSize + i,
          body: item.body,
          leafHash: leaves[i]!,
          integratedTime,
          kind: item.kind.kind,
          attestationId: item.attestationId,
        })),
        nodes: nodes as HashedNode[],
        checkpoint: { treeSize: size, rootHash: root, note },
      });
      return entries;
    });
  }

  /** The latest signed checkpoint (an empty tree's when nothing was logged yet). */
  async checkpoint(): Promise<StoredCheckpoint> {
    const latest = await this.#repo.latestCheckpoint();
    if (latest) return latest;
    const note = signCheckpoint(checkpointBody({ origin: this.identity.origin, size: 0, rootHash: EMPTY_ROOT }), {
      name: this.identity.keyName,
      privateKey: this.#privateKey,
    });
    return { treeSize: 0, rootHash: EMPTY_ROOT, note };
  }

  /** An entry with its SET (re-signed over the stored fields) and a proof against the latest checkpoint. */
  async entry(logIndex: number): Promise<TlogEntryJson | undefined> {
    return (await this.entryWithAttestation(logIndex))?.entry;
  }

  async entryWithAttestation(logIndex: number): Promise<{ entry: TlogEntryJson; attestationId: string } | undefined> {
    const stored = await this.#repo.entry(logIndex);
    if (!stored) return undefined;
    const cp = await this.checkpoint();
    const plan = inclusionPlan(logIndex, cp.treeSize);
    const nodes = await this.#repo.nodes(nodesFor(plan));
    const set = inclusionPromise(
      { body: stored.body, integratedTime: stored.integratedTime, logId: this.identity.logId, logIndex },
      this.#privateKey,
    );
    const entry: TlogEntryJson = {
      logIndex: String(logIndex),
      logId: { keyId: b64(this.identity.logId) },
      kindVersion: { kind: stored.kind, version: '0.0.1' },
      integratedTime: String(stored.integratedTime),
      inclusionPromise: { signedEntryTimestamp: b64(set) },
      inclusionProof: {
        logIndex: String(logIndex),
        rootHash: b64(cp.rootHash),
        treeSize: String(cp.treeSize),
        hashes: hashRanges(plan, nodes).map(b64),
        checkpoint: { envelope: cp.note },
      },
      canonicalizedBody: b64(stored.body),
    };
    return { entry, attestationId: stored.attestationId };
  }

  /** Consistency proof between two stored checkpoints (0 < from <= to <= latest). */
  async consistency(from: number, to: number): Promise<{ hashes: string[]; from: StoredCheckpoint; to: StoredCheckpoint } | undefined> {
    const [a, b] = await Promise.all([this.#repo.checkpointAt(from), this.#repo.checkpointAt(to)]);
    if (!a || !b) return undefined;
    const plan = consistencyPlan(from, to);
    const nodes = await this.#repo.nodes(nodesFor(plan));
    return { hashes: hashRanges(plan, nodes).map(b64), from: a, to: b };
  }

  /** Inclusion proof hashes for (index, size) at any stored size. */
  async inclusionHashes(logIndex: number, treeSize: number): Promise<Uint8Array[]> {
    const plan = inclusionPlan(logIndex, treeSize);
    return hashRanges(plan, await this.#repo.nodes(nodesFor(plan)));
  }
}
