// One way to open storage, whichever driver is underneath. PGlite (embedded Postgres in this
// process) is the zero-setup default; postgres.js talks to a real PostgreSQL. Callers see the
// same Drizzle API, rows as plain arrays, and driver errors as DatabaseError with a SQLSTATE.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
import { privateDir, tightenTree } from './file-modes.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A Drizzle handle usable both as the database and inside a transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export type DatabaseOptions =
  | { driver: 'pglite'; dataDir: string }
  | { driver: 'pglite'; memory: true }
  | { driver: 'postgres'; url: string; max?: number };

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

// Arbitrary fixed keys for pg_advisory_lock; one namespace per purpose.
export const ADVISORY_LOCKS = { migrate: 0x7761_7901, log: 0x7761_7902 } as const;

/** SQLSTATE codes we act on. */
export const PG_ERRORS = { uniqueViolation: '23505', foreignKeyViolation: '23503' } as const;

export class DatabaseError extends Error {
  readonly sqlState: string | undefined;
  constructor(message: string, sqlState: string | undefined, cause: unknown) {
    super(message, { cause });
    this.name = 'DatabaseError';
    this.sqlState = sqlState;
  }
}

/** The SQLSTATE of a driver error, looking through Drizzle's wrapping (it puts it in `cause`). */
export function sqlStateOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * SQL straight to the driver, for the hot paths (signing, the log's batch transaction): `$n`
 * parameters, rows as objects keyed by column name. Column types differ between drivers
 * (int8: string on postgres.js, number on PGlite; bytea: Buffer or Uint8Array), so callers
 * normalise what they read.
 */
export interface SqlClient {
  query<T extends Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Database {
  readonly driver: 'pglite' | 'postgres';
  readonly db: Db;
  /** Raw SQL returning rows as an array on both drivers. */
  execute<T extends Record<string, unknown>>(query: SQL, tx?: Tx): Promise<T[]>;
  /**
   * Driver-level queries without the query builder. On PostgreSQL every distinct text is a
   * named prepared statement on each connection (parsed and planned once, one round trip per
   * execution), so the text must be fixed: the data goes in parameters.
   */
  readonly sql: SqlClient;
  /**
   * A transaction on the driver itself. On PostgreSQL, queries started without awaiting the
   * previous one are sent together (pipelined) and cost one round trip between them.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /**
   * Run `statements` in one transaction sent in one piece: on PostgreSQL BEGIN, the statements
   * and COMMIT are pipelined on one connection, one round trip in all. Resolves with each
   * statement's rows once committed; rejects if any statement fails, and then nothing is.
   */
  atomic(
    statements: ReadonlyArray<readonly [text: string, params?: readonly unknown[]]>,
  ): Promise<Array<Record<string, unknown>[]>>;
  migrate(): Promise<void>;
  /** True when the database answers and every table of the schema exists. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.driver === 'postgres' ? openPostgres(opts) : openPglite(opts);
}

function rowsOf<T>(result: unknown): T[] {
  // PGlite answers { rows }, postgres.js a plain array (with extra properties).
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

function common(driver: 'pglite' | 'postgres', db: Db) {
  const execute = async <T extends Record<string, unknown>>(query: SQL, tx?: Tx): Promise<T[]> =>
    rowsOf<T>(await (tx ?? db).execute(query));
  const ready = async () => {
    try {
      const rows = await execute<{ n: number }>(sql`
        select count(*)::int as n from information_schema.tables
        where table_schema = current_schema() and table_name in ${sql.raw(
          `(${schema.SCHEMA_TABLES.map((t) => `'${t}'`).join(',')})`,
        )}`);
      return rows[0]?.n === schema.SCHEMA_TABLES.length;
    } catch {
      return false;
    }
  };
  return { driver, db, execute, ready };
}

async function openPglite(opts: { dataDir: string } | { memory: true }): Promise<Database> {
  let lock: DirLock | undefined;
  let client: PGlite;
  if ('dataDir' in opts) {
    privateDir(path.dirname(opts.dataDir));
    // PGlite has no multi-process safety: a second process on the same directory would
    // silently lose writes, so refuse to open a directory another live process holds.
    lock = acquireDirLock(`${opts.dataDir}.lock`);
    try {
      client = await PGlite.create({ dataDir: opts.dataDir });
      tightenTree(opts.dataDir);
    } catch (err) {
      lock.release();
      throw err;
    }
  } else {
    client = await PGlite.create();
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  const on = (q: Pick<PGlite, 'query'>): SqlClient => ({
    query: async <T extends Record<string, unknown>>(text: string, params: readonly unknown[] = []) =>
      (await q.query<T>(text, params as unknown[])).rows,
  });
  return {
    ...common('pglite', db),
    sql: on(client),
    transaction: (fn) => client.transaction((tx) => fn(on(tx))),
    atomic: (statements) =>
      client.transaction(async (tx) => {
        const out: Array<Record<string, unknown>[]> = [];
        for (const [text, params] of statements)
          out.push((await tx.query<Record<string, unknown>>(text, (params ?? []) as unknown[])).rows);
        return out;
      }),
    async migrate() {
      // One process owns the directory, so no advisory lock is needed here.
      await migratePglite(db as never, { migrationsFolder: MIGRATIONS_DIR });
    },
    async close() {
      try {
        if (!client.closed) await client.close();
        if ('dataDir' in opts) tightenTree(opts.dataDir);
      } finally {
        lock?.release();
      }
    },
  };
}

async function openPostgres(opts: { url: string; max?: number }): Promise<Database> {
  const client = postgres(opts.url, {
    max: opts.max ?? 10,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  // `prepare: true` makes a named statement per text and connection; `simple: false` keeps even
  // parameterless queries on the extended protocol, so they are prepared too.
  const options = { prepare: true, simple: false } as postgres.UnsafeQueryOptions;
  const on = (q: Pick<postgres.Sql, 'unsafe'>): SqlClient => ({
    query: <T extends Record<string, unknown>>(text: string, params: readonly unknown[] = []) =>
      q.unsafe<T[]>(text, params as postgres.ParameterOrJSON<never>[], options) as unknown as Promise<T[]>,
  });
  return {
    ...common('postgres', db),
    sql: on(client),
    transaction: <T>(fn: (tx: SqlClient) => Promise<T>) => client.begin((tx) => fn(on(tx))) as Promise<T>,
    async atomic(statements) {
      const conn = await client.reserve();
      try {
        // Issued without awaiting each other, so postgres.js writes them out together.
        const settled = await Promise.allSettled([
          conn.unsafe('begin'),
          ...statements.map(([text, params]) =>
            conn.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[], options),
          ),
          conn.unsafe('commit'),
        ]);
        // A failed statement aborts the transaction: the later ones fail with 25P02 and the
        // pipelined COMMIT answers ROLLBACK. Report the statement that failed first.
        const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        if (failures.length > 0) throw failures.find((e) => sqlStateOf(e) !== '25P02') ?? failures[0];
        const commit = settled[settled.length - 1] as PromiseFulfilledResult<{ command?: string }>;
        if (commit.value.command !== 'COMMIT')
          throw new DatabaseError(`the transaction ended with ${commit.value.command}`, undefined, undefined);
        return settled.slice(1, -1).map((r) => [...(r as PromiseFulfilledResult<Record<string, unknown>[]>).value]);
      } finally {
        conn.release();
      }
    },
    async migrate() {
      // Several instances may start together: a session-level advisory lock on one reserved
      // connection makes them take turns; the later ones then find nothing left to apply.
      const conn = await client.reserve();
      try {
        await conn`select pg_advisory_lock(${ADVISORY_LOCKS.migrate})`;
        try {
          await migratePostgres(db as never, { migrationsFolder: MIGRATIONS_DIR });
        } finally {
          await conn`select pg_advisory_unlock(${ADVISORY_LOCKS.migrate})`;
        }
      } finally {
        conn.release();
      }
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
