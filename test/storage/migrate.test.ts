import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate as drizzleMigrate } from 'drizzle-orm/pglite/migrator';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { ADVISORY_LOCKS } from '../../src/storage/driver.ts';
import { applyMigrations, migrationsDir } from '../../src/storage/migrate.ts';
import { openPostgres } from '../../src/storage/postgres.ts';
import { backends } from '../helpers/db.ts';

const journal = JSON.parse(readFileSync(path.join(migrationsDir(), 'meta/_journal.json'), 'utf8')) as {
  entries: unknown[];
};

describe('migrations', () => {
  it("carry on from a database Drizzle's own migrator set up, applying nothing twice", async () => {
    const client = await PGlite.create();
    try {
      const db = drizzle(client);
      await drizzleMigrate(db, { migrationsFolder: migrationsDir() });
      expect(await applyMigrations(db as never)).toBe(0);
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
      expect(rows[0]!.n).toBe(journal.entries.length);
    } finally {
      await client.close();
    }
  });

  const pg = backends.find((b) => b.name === 'postgres');
  it.runIf(pg)('wait for a transaction holding the migration lock, then apply every migration once', async () => {
    const fresh = await pg!.freshUrl!();
    const holder = postgres(fresh.url, { max: 1, onnotice: () => {} });
    const database = await openPostgres({ url: fresh.url, max: 2 });
    try {
      let migrated: Promise<number> | undefined;
      // A transaction-scoped lock, as a migrator behind a transaction-mode pooler holds it.
      await holder.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${ADVISORY_LOCKS.migrate})`;
        migrated = applyMigrations(database.db);
        // The migrator is queued behind the holder: its lock request is not granted.
        for (;;) {
          const [row] = await tx<{ n: number }[]>`select count(*)::int as n from pg_locks
            where locktype = 'advisory' and objid = ${ADVISORY_LOCKS.migrate} and not granted`;
          if (row!.n === 1) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const [tables] = await tx<{ n: number }[]>`select count(*)::int as n from information_schema.tables
          where table_name = 'attestations'`;
        expect(tables!.n).toBe(0);
      });
      expect(await migrated).toBe(journal.entries.length);
      expect(await database.ready()).toBe(true);
      expect(await applyMigrations(database.db)).toBe(0);
      // Nothing stays locked once the migrating transaction ended.
      const [locks] = await holder<
        { n: number }[]
      >`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
      expect(locks!.n).toBe(0);
      const applied = await database.execute<{ n: number }>(
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      );
      expect(applied[0]!.n).toBe(journal.entries.length);
    } finally {
      await holder.end();
      await database.close();
      await fresh.drop();
    }
  });
});
