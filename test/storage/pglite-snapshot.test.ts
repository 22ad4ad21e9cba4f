import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.ts';
import { snapshotFile } from '../../src/storage/pglite-snapshot.ts';

describe('a new PGlite data directory starts from the cached snapshot', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'waybill-snapshot-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('holds the migrated schema and nothing another database wrote, in a private directory', async () => {
    // The first new directory makes the snapshot if none is cached yet; the second starts from it.
    const first = await openDatabase({ driver: 'pglite', dataDir: path.join(root, 'a', 'pgdata') });
    await first.migrate();
    await first.sql.query(`insert into tokens (id, sha256, subject, roles)
      values ('tok_a', 'h', 'https://ci.example.com/a', '{builder}')`);
    await first.close();
    expect(existsSync(path.join(snapshotFile(), 'PG_VERSION'))).toBe(true);

    const dataDir = path.join(root, 'b', 'pgdata');
    const second = await openDatabase({ driver: 'pglite', dataDir });
    try {
      // Before migrate(): the schema is already there, and empty.
      expect(await second.sql.query(`select count(*)::int as n from tokens`)).toEqual([{ n: 0 }]);
      expect(await second.sql.query(`select count(*)::int as n from attestations`)).toEqual([{ n: 0 }]);
      await second.migrate();
    } finally {
      await second.close();
    }
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dataDir, 'PG_VERSION')).mode & 0o777).toBe(0o600);
  });
});
