// waybill's transparency log: an RFC 6962 tree in PostgreSQL, appended to through a
// sequencer. Concurrent appends wait in one queue; each batch is a single transaction under
// the log's advisory lock that assigns indices, writes the entries (and the attestation rows
// that they log, from each item's pending `record`), the new complete nodes and the signed
// checkpoint. Only after commit does any caller get its entry and proof, so an acknowledged
// append survives a crash and a crashed batch leaves nothing behind. Several processes on one
// database share the lock and therefore one log with no gap and no duplicate index.
//
// Between batches the log keeps its head (tree size and frontier nodes) in memory. Under the
// lock it reads only the committed tree size: when it is the size this process last
// committed, the cached frontier is current; otherwise another process appended meanwhile and
// the frontier is read again. Any failed batch forgets the head.
import { type KeyObject, verify } from 'node:crypto';
import { toBase64 } from '../util/encoding.ts';
import {
  type AppendItem,
  type BuiltBatch,
  buildBatch,
  checkpointNote,
  DuplicateAttestationError,
  dedupe,
  entryJson,
  type Head,
  type HeadState,
  type LogSigner,
  loggedRecord,
  NO_HEAD,
  type Outcome,
  type PendingRecord,
  type TlogEntryJson,
} from './batch.ts';
import { logId as logIdOf } from './checkpoint.ts';
import { inclusionPromise, verifyInclusionPromise } from './entry.ts';
import { type LogIdentity, logIdentity } from './identity.ts';
import {
  consistencyPlan,
  EMPTY_ROOT,
  frontierIds,
  hashRanges,
  inclusionPlan,
  type NodeId,
  nodeMap,
  nodesFor,
} from './merkle.ts';
import { type BatchStats, type LogStats, timedRecord, timedTransaction } from './stats.ts';
import type { LoggedRecord, LogStore, StoredCheckpoint, StoredHead } from './store.ts';
import { chainOf, headMessage, signHead } from './subject-index.ts';

/** How many subject digests' index heads a log keeps in memory between batches. */
const HEAD_CACHE_SIZE = 50_000;

/**
 * Where appends go instead of this process's own queue: on Workers, the log's Durable Object
 * (runtime/sequencer.ts), which runs a TransparencyLog of its own. Items are plain data.
 */
export interface Sequencer {
  append(item: AppendItem): Promise<TlogEntryJson>;
}

interface Pending {
  item: AppendItem;
  resolve(entry: TlogEntryJson): void;
  reject(err: unknown): void;
}

export class TransparencyLog {
  readonly identity: LogIdentity;
  readonly #store: LogStore;
  readonly #signer: LogSigner;
  readonly #now: () => Date;
  readonly #maxBatch: number;
  readonly #sequencer: Sequencer | undefined;
  #queue: Pending[] = [];
  #running = false;
  #head: Head | undefined;
  /** Index heads this process committed last, by digest (insertion order = least recently used first). */
  readonly #heads = new Map<string, HeadState>();
  /** Public keys an index head may be signed with, by hex log id (the current and retired log keys). */
  readonly #indexKeys: ReadonlyMap<string, KeyObject>;
  #stats: LogStats | undefined;

  constructor(opts: {
    store: LogStore;
    privateKey: KeyObject;
    publicKey: KeyObject;
    issuer: string;
    treeId?: string | undefined;
    /** Retired log keys, whose index heads still verify. */
    retiredKeys?: readonly KeyObject[];
    now?: () => Date;
    maxBatch?: number;
    /** Send appends there instead of batching them here (reads stay on `store`). */
    sequencer?: Sequencer;
  }) {
    this.#store = opts.store;
    this.identity = logIdentity({ issuer: opts.issuer, publicKey: opts.publicKey, treeId: opts.treeId });
    const { keyName, origin, logId } = this.identity;
    this.#signer = { keyName, origin, logId, privateKey: opts.privateKey };
    this.#indexKeys = new Map(
      [opts.publicKey, ...(opts.retiredKeys ?? [])].map((k) => [Buffer.from(logIdOf(k)).toString('hex'), k]),
    );
    this.#now = opts.now ?? (() => new Date());
    this.#maxBatch = opts.maxBatch ?? 256;
    this.#sequencer = opts.sequencer;
  }

  /** Report where each batch's time goes to `stats` (the profiler's hook) until the returned stop. */
  observe(stats: LogStats): () => void {
    this.#stats = stats;
    return () => {
      if (this.#stats === stats) this.#stats = undefined;
    };
  }

  /** Append one entry; resolves with its entry, SET and inclusion proof once committed. */
  append(item: AppendItem): Promise<TlogEntryJson> {
    if (this.#sequencer) return this.#sequencer.append(item);
    const appended = new Promise<TlogEntryJson>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) void this.#drain();
    });
    const stats = this.#stats;
    if (!stats) return appended;
    const t0 = performance.now();
    return appended.finally(() => stats.append(performance.now() - t0));
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
        if (!this.#store.overSocket) {
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
    const stats: BatchStats | undefined = this.#stats && { items: all.length, records: 0, recordMs: 0 };
    const record = stats ? timedRecord(stats) : loggedRecord;
    try {
      const cached = this.#head;
      if (cached) {
        const { items, outcomes } = dedupe(all, []);
        // Digests this process has not seen are taken to have no head yet; the write is guarded by
        // each head's entry count, so a wrong guess writes nothing and the batch goes the long way.
        const built = this.#build(
          items.map((i) => all[i]!),
          cached.size,
          cached.frontier,
          (digest) => this.#heads.get(digest) ?? NO_HEAD,
          record,
        );
        if (!Array.isArray(built)) {
          let outcome: Awaited<ReturnType<LogStore['appendAt']>>;
          const t0 = performance.now();
          try {
            const flight = this.#store.appendAt(built.rows);
            issued();
            // On a `conflict` (a repeated attestation) the long way finds which one.
            outcome = await flight;
          } catch (err) {
            this.#head = undefined;
            this.#heads.clear();
            throw err;
          }
          if (stats) stats.flight = { ms: performance.now() - t0, outcome };
          if (outcome === 'written') {
            this.#head = built.head;
            this.#remember(built.heads);
            for (const [i, at] of items.entries()) outcomes[at] = built.entries[i]!;
            return outcomes as Outcome[];
          }
        }
      }
      this.#head = undefined;
      this.#heads.clear();
      issued();
      return await this.#commitLocked(all, stats, record);
    } finally {
      issued();
      if (stats) this.#stats?.batch(stats);
    }
  }

  async #commitLocked(
    all: AppendItem[],
    stats: BatchStats | undefined,
    record: (pending: PendingRecord, entry: TlogEntryJson) => LoggedRecord,
  ): Promise<Outcome[]> {
    const lookup = {
      ids: all.map((it) => it.attestationId),
      unique: all.flatMap((it) => (it.unique ? [it.unique] : [])),
      digests: [...new Set(all.flatMap((it) => it.subjectDigests))],
    };
    let head: Head | undefined;
    let heads: Map<string, HeadState> | undefined;
    const t0 = performance.now();
    const locked = stats && { ms: 0, openMs: 0, nodeReadMs: 0, writeMs: 0, commitMs: 0 };
    let inside = Number.NaN;
    const outcomes = await this.#store.batch(lookup, async (transaction, start) => {
      if (locked) locked.openMs = performance.now() - t0;
      const tx = locked ? timedTransaction(transaction, locked) : transaction;
      try {
        const { items, outcomes } = dedupe(all, start.existing);
        const oldSize = start.treeSize;
        const frontier = nodeMap(await tx.nodes(frontierIds(oldSize)));
        if (items.length === 0) {
          head = { size: oldSize, frontier };
          return outcomes;
        }
        const logged = items.map((i) => all[i]!);
        const stored = this.#verifiedHeads(start.heads);
        const headOf = (digest: string) => stored.get(digest) ?? NO_HEAD;
        let built = this.#build(logged, oldSize, frontier, headOf, record);
        // Proof nodes neither in the frontier nor new (none in practice): read them, build again.
        if (Array.isArray(built)) {
          const known = new Map([...frontier, ...nodeMap(await tx.nodes(built))]);
          built = this.#build(logged, oldSize, known, headOf, record);
        }
        if (Array.isArray(built)) throw new Error('log: proof nodes missing from storage');
        if (!(await tx.write(built.rows))) throw new Error('log: the tree size moved while the log lock was held');
        head = built.head;
        heads = built.heads;
        for (const [i, at] of items.entries()) outcomes[at] = built.entries[i]!;
        return outcomes;
      } finally {
        inside = performance.now();
      }
    });
    if (stats && locked) {
      locked.ms = performance.now() - t0;
      locked.commitMs = performance.now() - inside;
      stats.locked = locked;
    }
    this.#head = head;
    if (heads) this.#remember(heads);
    return outcomes as Outcome[];
  }

  #build(
    items: AppendItem[],
    oldSize: number,
    known: ReadonlyMap<string, Uint8Array>,
    headOf: (digest: string) => HeadState,
    record: (pending: PendingRecord, entry: TlogEntryJson) => LoggedRecord,
  ): BuiltBatch | NodeId[] {
    const integratedTime = Math.floor(this.#now().getTime() / 1000);
    return buildBatch(this.#signer, items, oldSize, known, integratedTime, headOf, record);
  }

  /**
   * The stored heads a batch extends, each checked against the log's keys first: extending a
   * head edited in storage would sign the edit, making the log an oracle for hiding evidence.
   */
  #verifiedHeads(stored: readonly StoredHead[]): Map<string, HeadState> {
    const out = new Map<string, HeadState>();
    for (const h of stored) {
      const key = this.#indexKeys.get(Buffer.from(h.keyId).toString('hex'));
      if (!key || !verify('sha256', headMessage(this.identity.origin, h), key, h.signature)) {
        throw new Error(`log: the subject index head of ${h.digest} is not signed by this log (edited in storage?)`);
      }
      out.set(h.digest, { entries: h.entries, lastLogIndex: h.lastLogIndex, chain: h.chain });
    }
    return out;
  }

  #remember(heads: ReadonlyMap<string, HeadState>): void {
    for (const [digest, state] of heads) {
      this.#heads.delete(digest);
      this.#heads.set(digest, state);
    }
    for (const digest of this.#heads.keys()) {
      if (this.#heads.size <= HEAD_CACHE_SIZE) break;
      this.#heads.delete(digest);
    }
  }

  /**
   * Sign what data from before SETs and index heads were kept lacks (see LogStore.seal). What is
   * sealed is what storage holds at that moment; waybill runs it once at start-up.
   */
  async seal(): Promise<{ sets: number; heads: number }> {
    const key = { privateKey: this.#signer.privateKey, keyId: this.#signer.logId };
    return this.#store.seal({
      set: (e) => inclusionPromise({ ...e, logId: this.#signer.logId }, this.#signer.privateKey),
      head: (digest, rows) =>
        signHead(
          this.identity.origin,
          { digest, entries: rows.length, lastLogIndex: rows.at(-1)?.logIndex ?? -1, chain: chainOf(rows) },
          key,
        ),
    });
  }

  /** The keys index heads are signed with, by hex log id (for readers that check them). */
  get indexKeys(): ReadonlyMap<string, KeyObject> {
    return this.#indexKeys;
  }

  /** The latest signed checkpoint (an empty tree's when nothing was logged yet). */
  async checkpoint(): Promise<StoredCheckpoint> {
    const latest = await this.#store.latestCheckpoint();
    if (latest) return latest;
    return { treeSize: 0, rootHash: EMPTY_ROOT, note: checkpointNote(this.#signer, 0, EMPTY_ROOT) };
  }

  /** An entry with the SET signed when it was logged and a proof against the latest checkpoint. */
  async entry(logIndex: number): Promise<TlogEntryJson | undefined> {
    return (await this.entryWithAttestation(logIndex))?.entry;
  }

  async entryWithAttestation(logIndex: number): Promise<{ entry: TlogEntryJson; attestationId: string } | undefined> {
    const stored = await this.#store.entry(logIndex);
    if (!stored) return undefined;
    const checkpoint = await this.checkpoint();
    const plan = inclusionPlan(logIndex, checkpoint.treeSize);
    const hashes = hashRanges(plan, nodeMap(await this.#store.nodes(nodesFor(plan))));
    const kind = { kind: stored.kind, version: apiVersionOf(stored.body) };
    const setLogId = stored.set ? this.#setSigner(stored, stored.set) : undefined;
    const entry = entryJson(this.#signer, { ...stored, kind, setLogId }, { checkpoint, hashes });
    return { entry, attestationId: stored.attestationId };
  }

  /**
   * The log id of the key that signed an entry's stored SET: the key in service when it was logged,
   * a retired one after a rotation. None verifies for an altered row: then the current key's id,
   * and a verifier refuses the SET.
   */
  #setSigner(e: { logIndex: number; body: Uint8Array; integratedTime: number }, set: Uint8Array): Uint8Array {
    if (this.#indexKeys.size > 1) {
      for (const [hex, key] of this.#indexKeys) {
        const logId = Buffer.from(hex, 'hex');
        if (verifyInclusionPromise({ ...e, logId }, set, key)) return logId;
      }
    }
    return this.#signer.logId;
  }

  /** Consistency proof between two stored checkpoints (0 < from <= to <= latest). */
  async consistency(
    from: number,
    to: number,
  ): Promise<{ hashes: string[]; from: StoredCheckpoint; to: StoredCheckpoint } | undefined> {
    const [a, b] = await Promise.all([this.#store.checkpointAt(from), this.#store.checkpointAt(to)]);
    if (!a || !b) return undefined;
    const plan = consistencyPlan(from, to);
    const nodes = nodeMap(await this.#store.nodes(nodesFor(plan)));
    return { hashes: hashRanges(plan, nodes).map(toBase64), from: a, to: b };
  }

  /** Inclusion proof hashes for (index, size) at any stored size. */
  async inclusionHashes(logIndex: number, treeSize: number): Promise<Uint8Array[]> {
    const plan = inclusionPlan(logIndex, treeSize);
    return hashRanges(plan, nodeMap(await this.#store.nodes(nodesFor(plan))));
  }
}

// The entry's kind version is its body's apiVersion: 0.0.1 for dsse and hashedrekord, 0.0.2 for
// the intoto entries the Rekor-compatible API logs.
function apiVersionOf(body: Uint8Array): string {
  try {
    const v = (JSON.parse(Buffer.from(body).toString('utf8')) as { apiVersion?: unknown }).apiVersion;
    return typeof v === 'string' ? v : '0.0.1';
  } catch {
    return '0.0.1';
  }
}

function settle(p: Pending, outcome: Outcome): void {
  if (outcome instanceof DuplicateAttestationError) p.reject(outcome);
  else p.resolve(outcome);
}
