// Benchmark databases: a fresh PostgreSQL database per use (created on BENCH_DATABASE_URL's
// server, dropped at the end, as test/helpers/db.ts does) or an in-memory PGlite.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, openDatabase } from '../src/storage/database.ts';

export type BackendName = 'postgres' | 'pglite';

export interface BenchDatabase {
  backend: BackendName;
  database: Database;
  /** The fresh database's URL (postgres only): for direct driver access such as COPY. */
  url?: string;
  /** Close the handle and, for postgres, drop the database. Idempotent. */
  close(): Promise<void>;
}

// Everything still open, so an interrupted run (Ctrl-C, a thrown error) drops its databases too.
const open = new Set<BenchDatabase>();

// Other resources to release on the same occasions (the HTTP benchmark's server process).
const cleanups = new Set<() => Promise<void>>();

export async function closeAll(): Promise<void> {
  for (const c of [...cleanups]) await c().catch(() => {});
  for (const d of [...open]) await d.close().catch(() => {});
}

/** Register `close` to run on closeAll (Ctrl-C, a thrown error); returns the unregister function. */
export function onCloseAll(close: () => Promise<void>): () => void {
  cleanups.add(close);
  return () => cleanups.delete(close);
}

/** A fresh, empty PostgreSQL database on `base`'s server; `drop()` removes it. */
export async function createDatabase(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `waybill_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** A fresh, migrated database on `backend`. */
export async function openBenchDatabase(backend: BackendName, baseUrl: string): Promise<BenchDatabase> {
  if (backend === 'pglite') {
    const database = await openDatabase({ driver: 'pglite', memory: true });
    await database.migrate();
    let closed = false;
    const handle: BenchDatabase = {
      backend,
      database,
      async close() {
        if (closed) return;
        closed = true;
        open.delete(handle);
        await database.close();
      },
    };
    open.add(handle);
    return handle;
  }
  const fresh = await createDatabase(baseUrl);
  let database: Database;
  try {
    // The service's default pool size: measure what production would run.
    database = await openDatabase({ driver: 'postgres', url: fresh.url });
    await database.migrate();
  } catch (err) {
    await fresh.drop().catch(() => {});
    throw err;
  }
  let closed = false;
  const handle: BenchDatabase = {
    backend,
    database,
    url: fresh.url,
    async close() {
      if (closed) return;
      closed = true;
      open.delete(handle);
      try {
        await database.close();
      } finally {
        await fresh.drop();
      }
    },
  };
  open.add(handle);
  return handle;
}

/** The PostgreSQL server version, or an error message when it cannot be reached. */
export async function postgresVersion(
  baseUrl: string,
): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  const sql = postgres(baseUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
    return { ok: true, version: row?.v ?? 'unknown' };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}
