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
import { ADVISORY_LOCKS, type Database, PG_ERRORS, type SqlClient, sqlStateOf } from './database.ts';
import type { attestations, logCheckpoints, logEntries, logNodes } from './schema.ts';

// Rows as the schema has them; tlog/store.ts declares the same shapes from the log's side.
export type StoredCheckpoint = Omit<typeof logCheckpoints.$inferSelect, 'createdAt'>;
export type StoredEntry = typeof logEntries.$inferSelect;
export type NodeRow = typeof logNodes.$inferSelect;
type NodeId = Omit<NodeRow, 'hash'>;
type AttestationRow = typeof attestations.$inferSelect;
export type UniqueKey = Pick<AttestationRow, 'signerSubject' | 'statementSha256'>;

/** What the batch transaction found once it held the lock. */
export interface BatchStart {
  treeSize: number;
  existing: Array<Pick<AttestationRow, 'id' | 'signerSubject' | 'statementSha256'>>;
}

/** One batch: the attestations it logs (with their subjects), entries, new nodes, checkpoint. */
export interface BatchRows {
  oldSize: number;
  records: Array<{
    row: typeof attestations.$inferInsert;
    subjects: Array<{ digest: string; name: string | null }>;
  }>;
  entries: StoredEntry[];
  nodes: NodeRow[];
  checkpoint: StoredCheckpoint;
}

const toU8 = (v: unknown): Uint8Array =>
  Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : (v as Uint8Array);

const SQL = {
  lock: 'select pg_advisory_xact_lock($1::int8)',
  treeSize: 'select tree_size from log_checkpoints order by tree_size desc limit 1',
  latestCheckpoint: 'select tree_size, root_hash, note from log_checkpoints order by tree_size desc limit 1',
  checkpointAt: 'select tree_size, root_hash, note from log_checkpoints where tree_size = $1::int8',
  entry: `select log_index, body, leaf_hash, integrated_time, kind, attestation_id from log_entries
          where log_index = $1::int8`,
  nodes: `select n.level, n.idx, n.hash from log_nodes n
          join unnest($1::int2[], $2::int8[]) as u(l, i) on n.level = u.l and n.idx = u.i`,
  // Both lookups are index scans: the primary key, and the unique (signer, statement) index.
  existing: `select id, signer_subject, statement_sha256 from attestations where id = any($1::text[])
             union
             select a.id, a.signer_subject, a.statement_sha256
             from unnest($2::text[], $3::text[]) as u(s, h)
             join attestations a on a.signer_subject = u.s and a.statement_sha256 = u.h`,
  // Every row of a batch in one statement: $1 is the batch as JSON, parsed once. It writes only
  // when the committed tree size is $5, the size the batch was built on (it runs after the
  // lock is held, so it sees every committed batch); otherwise it writes nothing and returns no
  // row. Foreign keys (subjects and entries -> attestations) are checked at the end of it.
  write: `with d as materialized (
      select $1::text::jsonb as j
      where coalesce((select max(tree_size) from log_checkpoints), 0) = $5::int8
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
      insert into log_entries (log_index, body, leaf_hash, integrated_time, kind, attestation_id)
      select r.log_index, decode(r.body, 'base64'), decode(r.leaf_hash, 'base64'), r.integrated_time, r.kind,
        r.attestation_id
      from d, jsonb_to_recordset(d.j -> 'e') as r(log_index int8, body text, leaf_hash text,
        integrated_time int8, kind text, attestation_id text)
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

// A string with a character beyond Latin-1 anywhere in it makes V8 build the whole JSON text as
// a two-byte string, and encoding that to UTF-8 for the wire is ~10x slower than a one-byte
// one (~0.1 ms per statement here). Every logged bundle carries such a character: the
// checkpoint note's signature line starts with an em dash. So the note goes into the batch's
// JSON pre-escaped (\u2014), as raw JSON text; the stored value is the same.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII, control characters included
const NON_ASCII = /[^\u0000-\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const NON_ASCII_ALL = /[^\u0000-\u007f]/g;
const rawJson = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const asciiJsonString = (s: string): unknown =>
  // latin1 round trip: the escaped text is ASCII, but still stored two-byte until copied.
  rawJson ? rawJson(Buffer.from(JSON.stringify(s).replace(NON_ASCII_ALL, escapeChar), 'latin1').toString('latin1')) : s;

type BundleJson = {
  verificationMaterial?: { tlogEntries?: Array<{ inclusionProof?: { checkpoint?: { envelope?: unknown } } }> };
};

function withAsciiNotes(bundle: unknown): unknown {
  const vm = (bundle as BundleJson | null)?.verificationMaterial;
  const entries = vm?.tlogEntries;
  if (!rawJson || !Array.isArray(entries)) return bundle;
  let changed = false;
  const escaped = entries.map((e) => {
    const envelope = e?.inclusionProof?.checkpoint?.envelope;
    if (typeof envelope !== 'string' || !NON_ASCII.test(envelope)) return e;
    changed = true;
    return {
      ...e,
      inclusionProof: {
        ...e.inclusionProof,
        checkpoint: { ...e.inclusionProof!.checkpoint, envelope: asciiJsonString(envelope) },
      },
    };
  });
  return changed ? { ...(bundle as object), verificationMaterial: { ...vm, tlogEntries: escaped } } : bundle;
}

function writeStatement(batch: BatchRows): [string, unknown[]] {
  const doc = {
    a: batch.records.map(({ row }) => ({
      id: row.id,
      predicate_type: row.predicateType,
      statement: row.statement,
      statement_sha256: row.statementSha256,
      bundle: withAsciiNotes(row.bundle),
      signer_subject: row.signerSubject,
      signer_issuer: row.signerIssuer,
      environment: row.environment ?? null,
      origin: row.origin,
      log_index: row.logIndex,
      created_at: (row.createdAt ?? new Date()).toISOString(),
    })),
    s: batch.records.flatMap(({ row, subjects }) =>
      subjects.map((s) => ({ attestation_id: row.id, digest: s.digest, name: s.name })),
    ),
    e: batch.entries.map((e) => ({
      log_index: e.logIndex,
      body: b64(e.body),
      leaf_hash: b64(e.leafHash),
      integrated_time: e.integratedTime,
      kind: e.kind,
      attestation_id: e.attestationId,
    })),
    n: batch.nodes.map((n) => ({ level: n.level, idx: n.index, hash: b64(n.hash) })),
  };
  const cp = batch.checkpoint;
  return [SQL.write, [JSON.stringify(doc), cp.treeSize, b64(cp.rootHash), cp.note, batch.oldSize]];
}

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
    lookup: { ids: readonly string[]; unique: readonly UniqueKey[] },
    fn: (tx: LogBatch, start: BatchStart) => Promise<T>,
  ): Promise<T> {
    return this.#database.transaction(async (sql) => {
      const [, head, existing] = await Promise.all([
        sql.query(SQL.lock, [ADVISORY_LOCKS.log]),
        sql.query<{ tree_size: string | number }>(SQL.treeSize),
        sql.query<{ id: string; signer_subject: string; statement_sha256: string }>(SQL.existing, [
          lookup.ids,
          lookup.unique.map((u) => u.signerSubject),
          lookup.unique.map((u) => u.statementSha256),
        ]),
      ]);
      const start: BatchStart = {
        treeSize: head[0] ? Number(head[0].tree_size) : 0,
        existing: existing.map((r) => ({
          id: r.id,
          signerSubject: r.signer_subject,
          statementSha256: r.statement_sha256,
        })),
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
        }
      : undefined;
  }
}
