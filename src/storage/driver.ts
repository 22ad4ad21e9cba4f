// The database as the repositories see it, whatever the driver: the Drizzle handle, fixed SQL
// straight to the driver, transactions, and driver errors as a SQLSTATE. Nothing here opens a
// connection or reads a file, so a Workers bundle can import it (storage/database.ts opens PGlite
// or PostgreSQL on Node; storage/postgres.ts is the driver both runtimes share).
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A Drizzle handle usable both as the database and inside a transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

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
  /**
   * Apply the migrations in `migrations/` (storage/migrate.ts: one transaction under a
   * transaction-scoped advisory lock). Reads files: Node only, never from a Worker.
   */
  migrate(): Promise<void>;
  /** True when the database answers and every table of the schema exists. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

function rowsOf<T>(result: unknown): T[] {
  // PGlite answers { rows }, postgres.js a plain array (with extra properties).
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/** What both drivers share: `execute` over Drizzle, and the readiness probe. */
export function common(driver: 'pglite' | 'postgres', db: Db) {
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
