// SQL for the transparency log: the latest checkpoint, complete tree nodes by id, and the
// batch transaction. Nodes are immutable once written, so reads need no lock; writers serialise
// on a transaction-scoped advisory lock.
//
// The batch transaction is the signing hot path, so it talks to the driver directly (fixed
// statement texts, prepared once per connection on PostgreSQL) and keeps its round trips
// few. The rows of every table go out as one statement whose parameter is the batch as JSON,
// and that statement writes only if the tree size is still the one the batch was built on.
// Two ways to run a batch:
// - `appendAt` (the usual case): the log built the batch on the head it committed last; BEGIN,
//   the lock, the guarded write and COMMIT go out together, one round trip.
// - `batch`: BEGIN, then the lock, the tree size and the duplicate lookup together, then the
//   log builds the batch on what it read, then the write and COMMIT.
import { toBase64 as b64 } from '../util/encoding.ts';
import { ADVISORY_LOCKS, type Database, PG_ERRORS, type SqlClient, sqlStateOf } from './driver.ts';
import type {
  BatchRows,
  BatchStart,
  HeadRow,
  NodeId,
  NodeRow,
  StoredCheckpoint,
  StoredEntry,
  UniqueKey,
} from './log-rows.ts';
import { writeParams } from './log-write.ts';

const toU8 = (v: unknown): Uint8Array =>
  Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : (v as Uint8Array);

const SQL = {
  lock: 'select pg_advisory_xact_lock($1::int8)',
  treeSize: 'select tree_size from log_checkpoints order by tree_size desc limit 1',
  latestCheckpoint: 'select tree_size, root_hash, note from log_checkpoints order by tree_size desc limit 1',
  checkpointAt: 'select tree_size, root_hash, note from log_checkpoints where tree_size = $1::int8',
  entry: `select log_index, body, leaf_hash, integrated_time, kind, attestation_id, set from log_entries
          where log_index = $1::int8`,
  nodes: `select n.level, n.idx, n.hash from log_nodes n
          join unnest($1::int2[], $2::int8[]) as u(l, i) on n.level = u.l and n.idx = u.i`,
  // Both lookups are index scans: the primary key, and the unique (signer, statement) index.
  existing: `select id, signer_subject, statement_sha256 from attestations where id = any($1::text[])
             union
             select a.id, a.signer_subject, a.statement_sha256
             from unnest($2::text[], $3::text[]) as u(s, h)
             join attestations a on a.signer_subject = u.s and a.statement_sha256 = u.h`,
  heads: `select digest, entries, last_log_index, chain, key_id, signature from subject_heads
          where digest = any($1::text[])`,
  // Every row of a batch in one statement: $1 is the batch as JSON, parsed once, $6 its subject
  // index heads. It writes only when the committed tree size is $5, the size the batch was built
  // on, and every head it moves still counts the entries it was built on (it runs after the lock
  // is held, so it sees every committed batch); otherwise it writes nothing and returns no row.
  // Foreign keys (subjects and entries -> attestations) are checked at the end of it.
  write: `with h as materialized (
      select * from jsonb_to_recordset($6::text::jsonb) as r(digest text, prev_entries int8, entries int8,
        last_log_index int8, chain text, key_id text, signature text)
    ),
    d as materialized (
      select $1::text::jsonb as j
      where coalesce((select max(tree_size) from log_checkpoints), 0) = $5::int8
        and not exists (select 1 from h left join subject_heads s on s.digest = h.digest
                        where coalesce(s.entries, 0) <> h.prev_entries)
    ),
    x as (
      insert into subject_heads (digest, entries, last_log_index, chain, key_id, signature)
      select h.digest, h.entries, h.last_log_index, decode(h.chain, 'base64'), decode(h.key_id, 'base64'),
        decode(h.signature, 'base64')
      from d, h
      on conflict (digest) do update set entries = excluded.entries, last_log_index = excluded.last_log_index,
        chain = excluded.chain, key_id = excluded.key_id, signature = excluded.signature
    ),
    a as (
      insert into attestations (id, predicate_type, statement, statement_sha256, bundle, signer_subject,
        signer_issuer, environment, origin, log_index, created_at)
      select r.id, r.predicate_type, r.statement, r.statement_sha256, r.bundle, r.signer_subject,
        r.signer_issuer, r.environment, r.origin, r.log_index, r.created_at
      from d, jsonb_to_recordset(d.j -> 'a') as r(id text, predicate_type text, statement jsonb,
        statement_sha256 text, bundle jsonb, signer_subject text, signer_issuer text, environment text,
        origin text, log_index int8, created_at timestamptz)
    ),
    s as (
      insert into attestation_subjects (attestation_id, digest, name)
      select r.attestation_id, r.digest, r.name
      from d, jsonb_to_recordset(d.j -> 's') as r(attestation_id text, digest text, name text)
    ),
    e as (
      insert into log_entries (log_index, body, leaf_hash, integrated_time, kind, attestation_id, set)
      select r.log_index, decode(r.body, 'base64'), decode(r.leaf_hash, 'base64'), r.integrated_time, r.kind,
        r.attestation_id, decode(r.set, 'base64')
      from d, jsonb_to_recordset(d.j -> 'e') as r(log_index int8, body text, leaf_hash text, integrated_time int8,
        kind text, attestation_id text, set text)
    ),
    n as (
      insert into log_nodes (level, idx, hash)
      select r.level, r.idx, decode(r.hash, 'base64')
      from d, jsonb_to_recordset(d.j -> 'n') as r(level int2, idx int8, hash text)
    )
    insert into log_checkpoints (tree_size, root_hash, note)
    select $2::int8, decode($3::text, 'base64'), $4::text from d
    returning tree_size`,
} as const;

function toCheckpoint(row: Record<string, unknown> | undefined): StoredCheckpoint | undefined {
  return row ? { treeSize: Number(row.tree_size), rootHash: toU8(row.root_hash), note: row.note as string } : undefined;
}

function toHead(r: Record<string, unknown>): HeadRow {
  return {
    digest: r.digest as string,
    entries: Number(r.entries),
    lastLogIndex: Number(r.last_log_index),
    chain: toU8(r.chain),
    keyId: toU8(r.key_id),
    signature: toU8(r.signature),
  };
}

async function readNodes(sql: SqlClient, ids: readonly NodeId[]): Promise<NodeRow[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query<{ level: number; idx: string | number; hash: Uint8Array }>(SQL.nodes, [
    ids.map((i) => i.level),
    ids.map((i) => i.index),
  ]);
  return rows.map((r) => ({ level: Number(r.level), index: Number(r.idx), hash: toU8(r.hash) }));
}

/** The open batch transaction (inside `LogRepo.batch`). */
export class LogBatch {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Complete nodes by id, in one indexed query. */
  nodes(ids: readonly NodeId[]): Promise<NodeRow[]> {
    return readNodes(this.#sql, ids);
  }

  /**
   * Write the batch's attestations, subjects, entries, new nodes and checkpoint: one statement.
   * False (nothing written) when the tree size is no longer `batch.oldSize`.
   */
  async write(batch: BatchRows): Promise<boolean> {
    return (await this.#sql.query(...writeStatement(batch))).length === 1;
  }
}

const writeStatement = (batch: BatchRows): [string, unknown[]] => [SQL.write, writeParams(batch)];

export class LogRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  /** The database answers over a socket (PostgreSQL), not within this thread (PGlite). */
  get overSocket(): boolean {
    return this.#database.driver === 'postgres';
  }

  /**
   * Run `fn` in one transaction holding the log's advisory lock. Taking the lock, reading the
   * committed tree size and looking up the batch's possible duplicates go to the database
   * together (one round trip on PostgreSQL); each later statement of the transaction starts
   * after the lock is held, so it sees every batch committed before.
   */
  async batch<T>(
    lookup: { ids: readonly string[]; unique: readonly UniqueKey[]; digests: readonly string[] },
    fn: (tx: LogBatch, start: BatchStart) => Promise<T>,
  ): Promise<T> {
    return this.#database.transaction(async (sql) => {
      const [, head, existing, heads] = await Promise.all([
        sql.query(SQL.lock, [ADVISORY_LOCKS.log]),
        sql.query<{ tree_size: string | number }>(SQL.treeSize),
        sql.query<{ id: string; signer_subject: string; statement_sha256: string }>(SQL.existing, [
          lookup.ids,
          lookup.unique.map((u) => u.signerSubject),
          lookup.unique.map((u) => u.statementSha256),
        ]),
        sql.query(SQL.heads, [lookup.digests]),
      ]);
      const start: BatchStart = {
        treeSize: head[0] ? Number(head[0].tree_size) : 0,
        existing: existing.map((r) => ({
          id: r.id,
          signerSubject: r.signer_subject,
          statementSha256: r.statement_sha256,
        })),
        heads: heads.map(toHead),
      };
      return fn(new LogBatch(sql), start);
    });
  }

  /**
   * Append a batch built on the head this process committed last (`rows.oldSize`): BEGIN, the
   * lock, the guarded write and COMMIT in one round trip. `moved` when another process appended
   * meanwhile, `conflict` when a row repeats a stored attestation; nothing is written then.
   */
  async appendAt(rows: BatchRows): Promise<'written' | 'moved' | 'conflict'> {
    try {
      const [, written] = await this.#database.atomic([[SQL.lock, [ADVISORY_LOCKS.log]], writeStatement(rows)]);
      return written!.length === 1 ? 'written' : 'moved';
    } catch (err) {
      if (sqlStateOf(err) === PG_ERRORS.uniqueViolation) return 'conflict';
      throw err;
    }
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return toCheckpoint((await this.#database.sql.query(SQL.latestCheckpoint))[0]);
  }

  async checkpointAt(treeSize: number): Promise<StoredCheckpoint | undefined> {
    return toCheckpoint((await this.#database.sql.query(SQL.checkpointAt, [treeSize]))[0]);
  }

  /** Complete nodes by id, in one indexed query. Missing ids are simply absent from the answer. */
  async nodes(ids: readonly NodeId[]): Promise<NodeRow[]> {
    return readNodes(this.#database.sql, ids);
  }

  /**
   * The tree as stored, checked inside the database (nothing to transfer): leaf hashes against
   * entry bodies, level-0 nodes against leaf hashes, every other node against its children, the
   * node count per level, and the entry indices. Each list is at most `limit` long.
   */
  async treeProblems(limit = 20): Promise<{
    entries: { count: number; maxIndex: number };
    badLeaves: number[];
    badNodes: Array<{ level: number; index: number }>;
    nodesPerLevel: Map<number, { count: number; maxIndex: number }>;
  }> {
    const q = this.#database.sql;
    const [counts, leaves, level0, interior, levels] = await Promise.all([
      q.query<{ n: string | number; max: string | number }>(
        'select count(*) as n, coalesce(max(log_index), -1) as max from log_entries',
      ),
      q.query<{ log_index: string | number }>(
        `select log_index from log_entries where leaf_hash <> sha256(decode('00', 'hex') || body)
         order by log_index limit $1::int8`,
        [limit],
      ),
      q.query<{ idx: string | number }>(
        `select n.idx from log_nodes n left join log_entries e on e.log_index = n.idx
         where n.level = 0 and (e.leaf_hash is null or e.leaf_hash <> n.hash) order by n.idx limit $1::int8`,
        [limit],
      ),
      q.query<{ level: number; idx: string | number }>(
        `select n.level, n.idx from log_nodes n
         left join log_nodes l on l.level = n.level - 1 and l.idx = 2 * n.idx
         left join log_nodes r on r.level = n.level - 1 and r.idx = 2 * n.idx + 1
         where n.level > 0 and (l.hash is null or r.hash is null
           or n.hash <> sha256(decode('01', 'hex') || l.hash || r.hash))
         order by n.level, n.idx limit $1::int8`,
        [limit],
      ),
      q.query<{ level: number; n: string | number; max: string | number }>(
        'select level, count(*) as n, max(idx) as max from log_nodes group by level',
      ),
    ]);
    return {
      entries: { count: Number(counts[0]?.n ?? 0), maxIndex: Number(counts[0]?.max ?? -1) },
      badLeaves: leaves.map((r) => Number(r.log_index)),
      badNodes: [
        ...level0.map((r) => ({ level: 0, index: Number(r.idx) })),
        ...interior.map((r) => ({ level: Number(r.level), index: Number(r.idx) })),
      ],
      nodesPerLevel: new Map(levels.map((r) => [Number(r.level), { count: Number(r.n), maxIndex: Number(r.max) }])),
    };
  }

  /** Leaf hashes in log order from `from`, at most `limit`. */
  async leafHashes(from: number, limit: number): Promise<Array<{ logIndex: number; leafHash: Uint8Array }>> {
    const rows = await this.#database.sql.query<{ log_index: string | number; leaf_hash: Uint8Array }>(
      'select log_index, leaf_hash from log_entries where log_index >= $1::int8 order by log_index limit $2::int8',
      [from, limit],
    );
    return rows.map((r) => ({ logIndex: Number(r.log_index), leafHash: toU8(r.leaf_hash) }));
  }

  /** Stored checkpoints by tree size, from `from`, at most `limit`. */
  async checkpoints(from: number, limit: number): Promise<StoredCheckpoint[]> {
    const rows = await this.#database.sql.query(
      `select tree_size, root_hash, note from log_checkpoints where tree_size >= $1::int8
       order by tree_size limit $2::int8`,
      [from, limit],
    );
    return rows.map((r) => toCheckpoint(r)!);
  }

  /** Index heads in digest order after `after`, at most `limit`. */
  async headsAfter(after: string, limit: number): Promise<HeadRow[]> {
    const rows = await this.#database.sql.query(
      `select digest, entries, last_log_index, chain, key_id, signature from subject_heads
       where digest > $1 order by digest limit $2::int8`,
      [after, limit],
    );
    return rows.map(toHead);
  }

  /** See `LogStore.seal` (tlog/store.ts). */
  async seal(sealer: {
    set(e: { logIndex: number; body: Uint8Array; integratedTime: number }): Uint8Array;
    head(
      digest: string,
      rows: ReadonlyArray<{
        attestationId: string;
        logIndex: number;
        predicateType: string;
        environment: string | null;
      }>,
    ): HeadRow;
  }): Promise<{ sets: number; heads: number }> {
    // Both arrived in one version, so data that has every SET has every head (and the check is one
    // probe of a partial index).
    const [unsealed] = await this.#database.sql.query('select 1 as x from log_entries where set is null limit 1');
    if (!unsealed) return { sets: 0, heads: 0 };
    return this.#database.transaction(async (sql) => {
      await sql.query(SQL.lock, [ADVISORY_LOCKS.log]);
      let sets = 0;
      for (;;) {
        const rows = await sql.query<{
          log_index: string | number;
          body: Uint8Array;
          integrated_time: string | number;
        }>('select log_index, body, integrated_time from log_entries where set is null order by log_index limit 1000');
        if (rows.length === 0) break;
        const signed = rows.map((r) => {
          const e = { logIndex: Number(r.log_index), body: toU8(r.body), integratedTime: Number(r.integrated_time) };
          return { i: e.logIndex, s: b64(sealer.set(e)) };
        });
        await sql.query(
          `update log_entries e set set = decode(v.s, 'base64')
           from jsonb_to_recordset($1::text::jsonb) as v(i int8, s text) where e.log_index = v.i`,
          [JSON.stringify(signed)],
        );
        sets += rows.length;
      }
      let heads = 0;
      for (;;) {
        const digests = await sql.query<{ digest: string }>(
          `select distinct s.digest from attestation_subjects s
           where not exists (select 1 from subject_heads h where h.digest = s.digest) order by s.digest limit 500`,
        );
        if (digests.length === 0) break;
        const rows = await sql.query<{
          digest: string;
          id: string;
          log_index: string | number;
          predicate_type: string;
          environment: string | null;
        }>(
          `select s.digest, a.id, a.log_index, a.predicate_type, a.environment
           from attestation_subjects s join attestations a on a.id = s.attestation_id
           where s.digest = any($1::text[]) order by s.digest, a.log_index`,
          [digests.map((d) => d.digest)],
        );
        const byDigest = new Map<string, Parameters<typeof sealer.head>[1][number][]>();
        for (const r of rows) {
          const list = byDigest.get(r.digest) ?? [];
          list.push({
            attestationId: r.id,
            logIndex: Number(r.log_index),
            predicateType: r.predicate_type,
            environment: r.environment,
          });
          byDigest.set(r.digest, list);
        }
        const made = [...byDigest].map(([digest, list]) => sealer.head(digest, list));
        await sql.query(
          `insert into subject_heads (digest, entries, last_log_index, chain, key_id, signature)
           select h.digest, h.entries, h.last_log_index, decode(h.chain, 'base64'), decode(h.key_id, 'base64'),
             decode(h.signature, 'base64')
           from jsonb_to_recordset($1::text::jsonb) as h(digest text, entries int8, last_log_index int8, chain text,
             key_id text, signature text)
           on conflict (digest) do nothing`,
          [
            JSON.stringify(
              made.map((h) => ({
                digest: h.digest,
                entries: h.entries,
                last_log_index: h.lastLogIndex,
                chain: b64(h.chain),
                key_id: b64(h.keyId),
                signature: b64(h.signature),
              })),
            ),
          ],
        );
        heads += made.length;
      }
      return { sets, heads };
    });
  }

  /** The index of the entry with this leaf hash (a Rekor entry UUID), if any. */
  async indexByLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    const [row] = await this.#database.sql.query<{ log_index: string | number }>(
      'select log_index from log_entries where leaf_hash = $1 limit 1',
      [Buffer.from(leafHash)],
    );
    return row ? Number(row.log_index) : undefined;
  }

  /** The signed subject index heads of `digests` (those that have one). */
  async heads(digests: readonly string[]): Promise<HeadRow[]> {
    if (digests.length === 0) return [];
    return (await this.#database.sql.query(SQL.heads, [digests])).map(toHead);
  }

  async entry(logIndex: number): Promise<StoredEntry | undefined> {
    const [row] = await this.#database.sql.query(SQL.entry, [logIndex]);
    return row
      ? {
          logIndex: Number(row.log_index),
          body: toU8(row.body),
          leafHash: toU8(row.leaf_hash),
          integratedTime: Number(row.integrated_time),
          kind: row.kind as string,
          attestationId: row.attestation_id as string,
          set: row.set ? toU8(row.set) : null,
        }
      : undefined;
  }
}
