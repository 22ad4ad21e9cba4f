// waybill's transparency log: an RFC 6962 tree in PostgreSQL, appended to through a
// sequencer. Concurrent appends wait in one queue; each batch is a single transaction under
// the log's advisory lock that assigns indices, writes the entries (and the attestation rows
// that they log, from each item's `record`), the new complete nodes and the signed
// checkpoint. Only after commit does any caller get its entry and proof, so an acknowledged
// append survives a crash and a crashed batch leaves nothing behind. Several processes on one
// database share the lock and therefore one log with no gap and no duplicate index.
//
// Between batches the log keeps its head (tree size and frontier nodes) in memory. Under the
// lock it reads only the committed tree size: when it is the size this process last
// committed, the cached frontier is current; otherwise another process appended meanwhile and
// the frontier is read again. Any failed batch forgets the head.
import type { KeyObject } from 'node:crypto';
import { PG_ERRORS, sqlStateOf } from '../storage/database.ts';
import type {
  BatchRows,
  ExistingAttestation,
  LoggedRecord,
  LogRepo,
  StoredCheckpoint,
  UniqueKey,
} from '../storage/log-repo.ts';
import { checkpointBody, logId as logIdOf, signCheckpoint } from './checkpoint.ts';
import { inclusionPromise } from './entry.ts';
import {
  appendNodes,
  consistencyPlan,
  EMPTY_ROOT,
  frontierIds,
  type HashedNode,
  hashRanges,
  inclusionPlan,
  leafHash,
  type NodeId,
  nodeKey,
  nodesFor,
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
  /**
   * The attestation's (signer, statement) pair, unique among attestations. With it, an item
   * that repeats a stored attestation (or an earlier item of its batch) is not logged: its
   * append rejects with a `DuplicateAttestationError`.
   */
  unique?: UniqueKey;
  /** The attestation this entry logs, given its log entry; written in the batch's transaction. */
  record(entry: TlogEntryJson): LoggedRecord;
}

/**
 * The appended item repeats an attestation that is stored (committed) by the time this is
 * thrown: same id, or same signer and statement. Nothing was logged for it.
 */
export class DuplicateAttestationError extends Error {
  readonly attestationId: string;
  constructor(attestationId: string) {
    super(`the attestation is already stored as ${attestationId}`);
    this.name = 'DuplicateAttestationError';
    this.attestationId = attestationId;
  }
}

/** The log head this process last committed: enough to append without reading the tree. */
interface Head {
  size: number;
  frontier: Map<string, Uint8Array>;
}

export interface LogIdentity {
  /** The checkpoint signer name and origin prefix: the issuer URL's host. */
  keyName: string;
  treeId: string;
  origin: string;
  logId: Uint8Array;
}

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

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
  #head: Head | undefined;
  /** The database answers over a socket (PostgreSQL), not within this thread (PGlite). */
  readonly #overSocket: boolean;

  constructor(opts: {
    repo: LogRepo;
    privateKey: KeyObject;
    publicKey: KeyObject;
    issuer: string;
    treeId?: string | undefined;
    now?: () => Date;
    maxBatch?: number;
  }) {
    this.#repo = opts.repo;
    this.#overSocket = opts.repo.database.driver === 'postgres';
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
    // Answering a batch's callers is held back until the next batch is on its way to the
    // database (or nothing follows), so that their CPU work overlaps the database's.
    let answerLast: (() => void) | undefined;
    const releaseLast = () => {
      const answer = answerLast;
      answerLast = undefined;
      // Two setImmediate turns: the driver flushes its last small message in one of its own.
      if (answer) setImmediate(() => setImmediate(answer));
    };
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        let outcomes: Outcome[];
        try {
          outcomes = await this.#commit(
            batch.map((p) => p.item),
            releaseLast,
          );
        } catch (err) {
          releaseLast();
          if (batch.length === 1) {
            batch[0]!.reject(err);
          } else {
            // One bad item must not fail its neighbours: retry each on its own.
            for (const p of batch) {
              try {
                settle(p, (await this.#commit([p.item], () => {}))[0]!);
              } catch (e) {
                p.reject(e);
              }
            }
          }
          continue;
        }
        releaseLast(); // (a no-op unless #commit failed to call it)
        if (!this.#overSocket) {
          // PGlite answers within this thread: nothing to interleave with, and every event-loop
          // turn may hold a whole batch, so answer at once.
          for (const [i, p] of batch.entries()) settle(p, outcomes[i]!);
          continue;
        }
        // Answered callers resume with CPU work (building a response, signing their next
        // statement), all in microtasks. Answer them one per event-loop turn, so that database
        // answers (the next batch's among them) are read in between instead of after all of it.
        let next = 0;
        const answer = () => {
          settle(batch[next]!, outcomes[next]!);
          if (++next < batch.length) setImmediate(answer);
        };
        if (this.#queue.length === 0) answer();
        else answerLast = answer;
      }
    } finally {
      this.#running = false;
      const answer = answerLast;
      answerLast = undefined;
      answer?.();
    }
  }

  /**
   * One batch, in one transaction; the outcome per item is its entry, or the attestation it
   * repeats. Usually the batch is built on the head this process committed last and sent in one
   * round trip (`appendAt`); the write happens only if no other process appended since. When
   * one did (or nothing is cached, or a stored attestation is repeated), the batch runs the long
   * way: lock, read the tree size and the stored duplicates, build, write. `issued` is called
   * once the batch's database work has been started.
   */
  async #commit(all: AppendItem[], issued: () => void): Promise<Outcome[]> {
    try {
      const cached = this.#head;
      if (cached) {
        const { items, outcomes } = dedupe(all, []);
        const built = this.#build(
          items.map((i) => all[i]!),
          cached.size,
          cached.frontier,
        );
        if (!Array.isArray(built)) {
          let written = false;
          try {
            const flight = this.#repo.appendAt(built.rows);
            issued();
            written = await flight;
          } catch (err) {
            // A constraint (a repeated attestation) rejected the write; the long way finds which.
            if (sqlStateOf(err) !== PG_ERRORS.uniqueViolation) {
              this.#head = undefined;
              throw err;
            }
          }
          if (written) {
            this.#head = built.head;
            for (const [i, at] of items.entries()) outcomes[at] = built.entries[i]!;
            return outcomes as Outcome[];
          }
        }
      }
      this.#head = undefined;
      issued();
      return await this.#commitLocked(all);
    } finally {
      issued();
    }
  }

  async #commitLocked(all: AppendItem[]): Promise<Outcome[]> {
    const lookup = {
      ids: all.map((it) => it.attestationId),
      unique: all.flatMap((it) => (it.unique ? [it.unique] : [])),
    };
    let head: Head | undefined;
    const outcomes = await this.#repo.batch(lookup, async (tx, start) => {
      const { items, outcomes } = dedupe(all, start.existing);
      const oldSize = start.treeSize;
      const frontier = await tx.nodes(frontierIds(oldSize));
      if (items.length === 0) {
        head = { size: oldSize, frontier };
        return outcomes;
      }
      const logged = items.map((i) => all[i]!);
      let built = this.#build(logged, oldSize, frontier);
      // Proof nodes neither in the frontier nor new (none in practice): read them, build again.
      if (Array.isArray(built))
        built = this.#build(logged, oldSize, new Map([...frontier, ...(await tx.nodes(built))]));
      if (Array.isArray(built)) throw new Error('log: proof nodes missing from storage');
      if (!(await tx.write(built.rows))) throw new Error('log: the tree size moved while the log lock was held');
      head = built.head;
      const entries = built.entries;
      for (const [i, at] of items.entries()) outcomes[at] = entries[i]!;
      return outcomes;
    });
    this.#head = head;
    return outcomes as Outcome[];
  }

  /**
   * Build a batch on top of the tree of size `oldSize` whose frontier (and any older proof
   * nodes) `known` holds: the new nodes, the signed checkpoint, each entry with its SET and
   * inclusion proof, and the rows to write. When a proof needs nodes `known` lacks, returns
   * their ids instead.
   */
  #build(
    items: AppendItem[],
    oldSize: number,
    known: ReadonlyMap<string, Uint8Array>,
  ): { entries: TlogEntryJson[]; rows: BatchRows; head: Head } | NodeId[] {
    const leaves = items.map((it) => leafHash(it.body));
    const { nodes, root, size } = appendNodes(oldSize, known, leaves);
    // Proof nodes: the new ones are in memory, older ones are in `known`.
    const all = new Map<string, Uint8Array>(known);
    for (const n of nodes) all.set(nodeKey(n), n.hash);
    const plans = items.map((_, i) => inclusionPlan(oldSize + i, size));
    const missing = nodesFor(plans.flat()).filter((id) => !all.has(nodeKey(id)));
    if (missing.length > 0) return missing;

    const integratedTime = Math.floor(this.#now().getTime() / 1000);
    const note = signCheckpoint(checkpointBody({ origin: this.identity.origin, size, rootHash: root }), {
      name: this.identity.keyName,
      privateKey: this.#privateKey,
    });
    const keyId = b64(this.identity.logId);
    const rootB64 = b64(root);
    const entries = items.map((item, i): TlogEntryJson => {
      const logIndex = String(oldSize + i);
      const set = inclusionPromise(
        { body: item.body, integratedTime, logId: this.identity.logId, logIndex: oldSize + i },
        this.#privateKey,
      );
      return {
        logIndex,
        logId: { keyId },
        kindVersion: item.kind,
        integratedTime: String(integratedTime),
        inclusionPromise: { signedEntryTimestamp: b64(set) },
        inclusionProof: {
          logIndex,
          rootHash: rootB64,
          treeSize: String(size),
          hashes: hashRanges(plans[i]!, all).map(b64),
          checkpoint: { envelope: note },
        },
        canonicalizedBody: b64(item.body),
      };
    });
    const rows: BatchRows = {
      oldSize,
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
    };
    const frontier = new Map<string, Uint8Array>();
    for (const id of frontierIds(size)) frontier.set(nodeKey(id), all.get(nodeKey(id))!);
    return { entries, rows, head: { size, frontier } };
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
  async consistency(
    from: number,
    to: number,
  ): Promise<{ hashes: string[]; from: StoredCheckpoint; to: StoredCheckpoint } | undefined> {
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

type Outcome = TlogEntryJson | DuplicateAttestationError;

function settle(p: Pending, outcome: Outcome): void {
  if (outcome instanceof DuplicateAttestationError) p.reject(outcome);
  else p.resolve(outcome);
}

/**
 * Split a batch into the items to log (their positions) and the duplicates: an item whose id or (signer,
 * statement) is stored already, or was taken by an earlier item of the batch. A duplicate's
 * outcome is settled only after the batch commits, so the attestation it names is stored by
 * then.
 */
function dedupe(
  all: AppendItem[],
  existing: ExistingAttestation[],
): { items: number[]; outcomes: Array<TlogEntryJson | DuplicateAttestationError | undefined> } {
  const outcomes: Array<TlogEntryJson | DuplicateAttestationError | undefined> = new Array(all.length);
  const byId = new Map<string, string>();
  const byKey = new Map<string, string>();
  const keyOf = (u: UniqueKey) => `${u.signerSubject}\n${u.statementSha256}`;
  for (const e of existing) {
    byId.set(e.id, e.id);
    byKey.set(keyOf(e), e.id);
  }
  const items: number[] = [];
  all.forEach((it, i) => {
    const taken = byId.get(it.attestationId) ?? (it.unique ? byKey.get(keyOf(it.unique)) : undefined);
    if (taken !== undefined) {
      outcomes[i] = new DuplicateAttestationError(taken);
      return;
    }
    byId.set(it.attestationId, it.attestationId);
    if (it.unique) byKey.set(keyOf(it.unique), it.attestationId);
    items.push(i);
  });
  return { items, outcomes };
}
