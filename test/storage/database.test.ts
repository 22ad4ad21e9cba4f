import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase, PG_ERRORS, sqlStateOf } from '../../src/storage/database.ts';
import { DirLockedError } from '../../src/storage/dir-lock.ts';
import { tokens } from '../../src/storage/schema.ts';
import { backends } from '../helpers/db.ts';

describe.each(backends)('storage on $name', (backend) => {
  it('migrates idempotently and reports ready', async () => {
    const db = await backend.open();
    try {
      expect(await db.ready()).toBe(true);
      await db.migrate(); // second run applies nothing and does not fail
      const rows = await db.execute<{ n: number }>(sql`select 1::int as n`);
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('reports driver errors with their SQLSTATE, the same on both drivers', async () => {
    const db = await backend.open();
    try {
      const row = { id: 't1', sha256: 'h', subject: 'https://x/', roles: ['admin'] };
      await db.db.insert(tokens).values(row);
      const err = await db.db
        .insert(tokens)
        .values(row)
        .catch((e: unknown) => e);
      expect(sqlStateOf(err)).toBe(PG_ERRORS.uniqueViolation);
      // and a failed transaction leaves nothing behind
      await db.db
        .transaction(async (tx) => {
          await tx.insert(tokens).values({ ...row, id: 't2', sha256: 'h2' });
          await tx.insert(tokens).values(row);
        })
        .catch(() => undefined);
      const ids = (await db.db.select({ id: tokens.id }).from(tokens)).map((r) => r.id);
      expect(ids).toEqual(['t1']);
    } finally {
      await db.close();
    }
  });
});

describe.runIf(backends.some((b) => b.name === 'postgres'))('PostgreSQL start-up', () => {
  it('lets several instances migrate one empty database at once', async () => {
    const backend = backends.find((b) => b.name === 'postgres')!;
    const fresh = await backend.freshUrl!();
    try {
      const dbs = await Promise.all(
        [1, 2, 3, 4].map(() => openDatabase({ driver: 'postgres', url: fresh.url, max: 2 })),
      );
      await Promise.all(dbs.map((d) => d.migrate()));
      for (const d of dbs) expect(await d.ready()).toBe(true);
      const applied = await dbs[0]!.execute<{ n: number }>(
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      );
      expect(applied[0]!.n).toBeGreaterThan(0);
      await Promise.all(dbs.map((d) => d.close()));
    } finally {
      await fresh.drop();
    }
  });
});

describe('PGlite data directory', () => {
  it('refuses a second opener while the first holds it, and reopens with data intact', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-lock-')), 'pgdata');
    const first = await openDatabase({ driver: 'pglite', dataDir: dir });
    await first.migrate();
    await first.db.insert(tokens).values({ id: 'keep', sha256: 'k', subject: 'https://x/', roles: ['admin'] });
    await expect(openDatabase({ driver: 'pglite', dataDir: dir })).rejects.toBeInstanceOf(DirLockedError);
    await first.close();
    const second = await openDatabase({ driver: 'pglite', dataDir: dir });
    try {
      await second.migrate();
      expect((await second.db.select().from(tokens)).map((r) => r.id)).toEqual(['keep']);
    } finally {
      await second.close();
    }
  });
});
