// Migrations: drizzle-kit's SQL files in migrations/, applied in ONE transaction that first
// takes a transaction-scoped advisory lock. Concurrent migrators (several instances starting
// at once, or `npm run db:migrate` during a rolling start) take turns, and the later ones find
// nothing left to apply. A session-level lock would not do: behind a transaction-mode pooler
// (PgBouncer, Hyperdrive) a session lock and the statements after it may land on different
// server connections. The bookkeeping table is Drizzle's own (drizzle.__drizzle_migrations),
// so databases migrated by Drizzle's migrator before carry on where they were.
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { ADVISORY_LOCKS, type Db } from './driver.ts';

/** The migrations folder of this checkout; resolved when called, never at import (a Worker has no files). */
export function migrationsDir(): string {
  return fileURLToPath(new URL('../../migrations', import.meta.url));
}

/** Apply every migration not applied yet; returns how many were applied. */
export async function applyMigrations(db: Db, folder: string = migrationsDir()): Promise<number> {
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${ADVISORY_LOCKS.migrate})`);
    await tx.execute(sql`create schema if not exists drizzle`);
    await tx.execute(sql`create table if not exists drizzle.__drizzle_migrations (
      id serial primary key, hash text not null, created_at bigint)`);
    const done = await tx.execute(sql`select created_at from drizzle.__drizzle_migrations
      order by created_at desc limit 1`);
    const rows = Array.isArray(done) ? done : (done as { rows: unknown[] }).rows;
    const last = rows[0] as { created_at: string | number } | undefined;
    let applied = 0;
    for (const m of migrations) {
      if (last && Number(last.created_at) >= m.folderMillis) continue;
      for (const statement of m.sql) await tx.execute(sql.raw(statement));
      await tx.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${m.hash}, ${m.folderMillis})`,
      );
      applied++;
    }
    return applied;
  });
}
