// One way to open storage, whichever driver is underneath. PGlite (embedded Postgres in this
// process) is the zero-setup default; postgres.js talks to a real PostgreSQL. Callers see the
// same Drizzle API, rows as plain arrays, and driver errors as DatabaseError with a SQLSTATE.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
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

export interface Database {
  readonly driver: 'pglite' | 'postgres';
  readonly db: Db;
  /** Raw SQL returning rows as an array on both drivers. */
  execute<T extends Record<string, unknown>>(query: SQL, tx?: Tx): Promise<T[]>;
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
    mkdirSync(path.dirname(opts.dataDir), { recursive: true });
    // PGlite has no multi-process safety: a second process on the same directory would
    // silently lose writes, so refuse to open a directory another live process holds.
    lock = acquireDirLock(opts.dataDir + '.lock');
    try {
      client = await PGlite.create({ dataDir: opts.dataDir });
    } catch (err) {
      lock.release();
      throw err;
    }
  } else {
    client = await PGlite.create();
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    ...common('pglite', db),
    async migrate() {
      // One process owns the directory, so no advisory lock is needed here.
      await migratePglite(db as never, { migrationsFolder: MIGRATIONS_DIR });
    },
    async close() {
      try {
        if (!client.closed) await client.close();
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
  return {
    ...common('postgres', db),
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
