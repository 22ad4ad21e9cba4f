// SQL for the transparency log: the latest checkpoint, complete tree nodes by id, and the
// batch write. Nodes are immutable once written, so reads need no lock; writers serialise on
// a transaction-scoped advisory lock.
import { desc, eq, sql } from 'drizzle-orm';
import type { HashedNode, NodeId } from '../tlog/merkle.ts';
import { nodeKey } from '../tlog/merkle.ts';
import { ADVISORY_LOCKS, type Database, type Tx } from './database.ts';
import { attestations, attestationSubjects, logCheckpoints, logEntries, logNodes } from './schema.ts';

export interface StoredCheckpoint {
  treeSize: number;
  rootHash: Uint8Array;
  note: string;
}

export interface StoredEntry {
  logIndex: number;
  body: Uint8Array;
  leafHash: Uint8Array;
  integratedTime: number;
  kind: string;
  attestationId: string;
}

/** The attestation a log entry records: written in the same transaction as the entry. */
export interface LoggedRecord {
  row: typeof attestations.$inferInsert;
  subjects: Array<{ digest: string; name: string | null }>;
}

const toBuf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class LogRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  get database(): Database {
    return this.#database;
  }

  /** Run `fn` in one transaction holding the log's advisory lock. */
  async locked<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#database.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${ADVISORY_LOCKS.log})`);
      return fn(tx);
    });
  }

  async latestCheckpoint(tx?: Tx): Promise<StoredCheckpoint | undefined> {
    const [row] = await (tx ?? this.#database.db)
      .select()
      .from(logCheckpoints)
      .orderBy(desc(logCheckpoints.treeSize))
      .limit(1);
    return row ? { treeSize: row.treeSize, rootHash: row.rootHash, note: row.note } : undefined;
  }

  async checkpointAt(treeSize: number): Promise<StoredCheckpoint | undefined> {
    const [row] = await this.#database.db.select().from(logCheckpoints).where(eq(logCheckpoints.treeSize, treeSize));
    return row ? { treeSize: row.treeSize, rootHash: row.rootHash, note: row.note } : undefined;
  }

  /** Complete nodes by id, in one indexed query. Missing ids are simply absent from the map. */
  async nodes(ids: readonly NodeId[], tx?: Tx): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (ids.length === 0) return out;
    const levels = ids.map((i) => i.level);
    const idxs = ids.map((i) => i.index);
    const rows = await this.#database.execute<{ level: number; idx: string | number; hash: Uint8Array }>(
      sql`select n.level, n.idx, n.hash from log_nodes n
          join unnest(${`{${levels.join(',')}}`}::smallint[], ${`{${idxs.join(',')}}`}::bigint[]) as u(l, i)
            on n.level = u.l and n.idx = u.i`,
      tx,
    );
    for (const r of rows) {
      const h = Buffer.isBuffer(r.hash) ? new Uint8Array(r.hash) : r.hash;
      out.set(nodeKey({ level: Number(r.level), index: Number(r.idx) }), h);
    }
    return out;
  }

  async entry(logIndex: number): Promise<StoredEntry | undefined> {
    const [row] = await this.#database.db.select().from(logEntries).where(eq(logEntries.logIndex, logIndex));
    return row ?? undefined;
  }

  /**
   * Write a batch's attestations, entries, new nodes and checkpoint, each table in one
   * multi-row INSERT; call inside `locked`.
   */
  async writeBatch(
    tx: Tx,
    batch: { records: LoggedRecord[]; entries: StoredEntry[]; nodes: HashedNode[]; checkpoint: StoredCheckpoint },
  ): Promise<void> {
    if (batch.records.length > 0) {
      await tx.insert(attestations).values(batch.records.map((r) => r.row));
      const subjects = batch.records.flatMap((r) => r.subjects.map((s) => ({ attestationId: r.row.id, ...s })));
      for (let i = 0; i < subjects.length; i += 10_000) await tx.insert(attestationSubjects).values(subjects.slice(i, i + 10_000));
    }
    if (batch.entries.length > 0) {
      await tx.insert(logEntries).values(batch.entries.map((e) => ({ ...e, body: toBuf(e.body), leafHash: toBuf(e.leafHash) })));
    }
    // Chunk to stay far below the 65535 bind-parameter limit.
    for (let i = 0; i < batch.nodes.length; i += 5000) {
      await tx
        .insert(logNodes)
        .values(batch.nodes.slice(i, i + 5000).map((n) => ({ level: n.level, index: n.index, hash: toBuf(n.hash) })));
    }
    await tx.insert(logCheckpoints).values({
      treeSize: batch.checkpoint.treeSize,
      rootHash: toBuf(batch.checkpoint.rootHash),
      note: batch.checkpoint.note,
    });
  }
}
