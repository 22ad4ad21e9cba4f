// Opening storage on Node, whichever driver the configuration names. PGlite (embedded Postgres in
// this process) is the zero-setup default; postgres.js talks to a real PostgreSQL. Callers see the
// same `Database` (storage/driver.ts): one Drizzle API, rows as plain arrays, driver errors with a
// SQLSTATE. This module holds PGlite, so a Workers bundle must not import it: Workers open
// PostgreSQL through storage/postgres.ts, and the repositories import storage/driver.ts.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
import { common, type Database, type Db, type SqlClient } from './driver.ts';
import { privateDir, tightenTree } from './file-modes.ts';
import { applyMigrations } from './migrate.ts';
import { copySnapshot, isNewDataDir, saveSnapshot } from './pglite-snapshot.ts';
import { openPostgres } from './postgres.ts';
import * as schema from './schema.ts';

export {
  ADVISORY_LOCKS,
  type Database,
  DatabaseError,
  type Db,
  PG_ERRORS,
  type Schema,
  type SqlClient,
  sqlStateOf,
  type Tx,
} from './driver.ts';

export type DatabaseOptions =
  | { driver: 'pglite'; dataDir: string }
  | { driver: 'pglite'; memory: true }
  | { driver: 'postgres'; url: string; max?: number };

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.driver === 'postgres' ? openPostgres(opts) : openPglite(opts);
}

async function openPglite(opts: { dataDir: string } | { memory: true }): Promise<Database> {
  let lock: DirLock | undefined;
  let client: PGlite;
  // A new data directory starts from the cached snapshot of a migrated empty database, not initdb
  // (storage/pglite-snapshot.ts); without one, its first migration makes the snapshot.
  let makeSnapshot = false;
  if ('dataDir' in opts) {
    privateDir(path.dirname(opts.dataDir));
    // PGlite has no multi-process safety: a second process on the same directory would
    // silently lose writes, so refuse to open a directory another live process holds.
    lock = acquireDirLock(`${opts.dataDir}.lock`);
    try {
      makeSnapshot = isNewDataDir(opts.dataDir) && !copySnapshot(opts.dataDir);
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
      await applyMigrations(db);
      if (makeSnapshot) {
        makeSnapshot = false;
        await saveSnapshot(client);
      }
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
