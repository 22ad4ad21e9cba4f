// A new PGlite data directory starts from a snapshot instead of running initdb: the data directory
// of an empty database with every migration applied, cleanly shut down, copied file by file into
// the new directory, where PGlite then starts as on any restart. initdb takes seconds; the copy tens
// of milliseconds. (Loading PGlite's own `dumpDataDir` tar with `loadDataDir` was measured too:
// it extracts 40 MB through the WebAssembly file system, about a second more than the copy.)
//
// The snapshot is cached under node_modules/.cache/waybill/, named by the PGlite version and the
// migrations it holds, so another PGlite or a new migration never loads a stale one. It is made
// by `npm install` (the `prepare` script, scripts/pglite-snapshot.ts) and, failing that, by the
// first start on an empty data directory, right after its migrations and before anything else is
// written. Every database made from it shares its cluster's system identifier, which waybill
// never reads. Any problem with the cache only costs the initdb it would have saved.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrationsDir } from './migrate.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function pgliteVersion(): string {
  try {
    const file = path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Where the snapshot for this PGlite and these migrations lives (or would). */
export function snapshotFile(folder: string = migrationsDir()): string {
  const hash = createHash('sha256');
  for (const m of readMigrationFiles({ migrationsFolder: folder })) hash.update(`${m.folderMillis}:${m.hash}\n`);
  const key = `${pgliteVersion()}-${hash.digest('hex').slice(0, 16)}`;
  return path.join(ROOT, 'node_modules/.cache/waybill', `pglite-${key}`);
}

/** True when `dataDir` holds no database yet (PGlite would run initdb). */
export function isNewDataDir(dataDir: string): boolean {
  return !existsSync(path.join(dataDir, 'PG_VERSION'));
}

/**
 * Start `dataDir` (new, empty or absent) from the cached snapshot; false when there is none (or it
 * could not be copied: then `dataDir` is left as it was, for initdb).
 */
export function copySnapshot(dataDir: string): boolean {
  try {
    const dir = snapshotFile();
    if (!existsSync(path.join(dir, 'PG_VERSION'))) return false;
    cpSync(dir, dataDir, { recursive: true });
    return true;
  } catch {
    rmSync(dataDir, { recursive: true, force: true });
    return false;
  }
}

/**
 * Cache `client`'s data directory as the snapshot: call it only on a database that holds its
 * migrations and nothing else. PGlite's dump is loaded into a temporary directory by a second
 * PGlite, shut down cleanly there, and the directory renamed into place, so a reader never sees
 * half a snapshot; returns false (leaving nothing behind) if the cache is not writable.
 */
export async function saveSnapshot(client: PGlite): Promise<boolean> {
  let tmp: string | undefined;
  try {
    const dir = snapshotFile();
    if (existsSync(dir)) return true;
    const tar = await client.dumpDataDir('none');
    mkdirSync(path.dirname(dir), { recursive: true });
    tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    const copy = await PGlite.create({ dataDir: tmp, loadDataDir: tar });
    await copy.close();
    renameSync(tmp, dir);
    return true;
  } catch {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    return false;
  }
}
