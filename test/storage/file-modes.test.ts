// The embedded database holds every attestation and token hash: its directory is 0700 and its
// files 0600 whatever the umask (PGlite itself creates them 0666).
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.ts';

function modes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (p: string) => {
    const st = statSync(p);
    out.set(path.relative(root, p) || '.', st.mode & 0o777);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
  return out;
}

describe('PGlite data directory modes', () => {
  it('is owner-only after open and after close, even under umask 000', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'waybill-modes-')), 'data');
    const old = process.umask(0);
    try {
      const db = await openDatabase({ driver: 'pglite', dataDir: path.join(dataDir, 'pgdata') });
      await db.migrate();
      const loose = (root: string) =>
        [...modes(root)].filter(([p, mode]) =>
          statSync(path.join(root, p)).isDirectory() ? mode !== 0o700 : mode !== 0o600,
        );
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(loose(path.join(dataDir, 'pgdata'))).toEqual([]);
      await db.close();
      expect(modes(dataDir).size).toBeGreaterThan(100);
      expect(loose(dataDir)).toEqual([]);
    } finally {
      process.umask(old);
    }
  });
});
