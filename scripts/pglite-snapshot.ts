// `npm install` (the `prepare` script) and `node scripts/pglite-snapshot.ts`: cache the snapshot a
// new PGlite data directory starts from (src/storage/pglite-snapshot.ts), so that even the first
// `npm start` of a fresh clone skips initdb. Made in memory: an empty database with every
// migration applied. Never fails the install: without a snapshot the first start makes one.
import { existsSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import type { Db } from '../src/storage/driver.ts';
import { applyMigrations } from '../src/storage/migrate.ts';
import { saveSnapshot, snapshotFile } from '../src/storage/pglite-snapshot.ts';
import * as schema from '../src/storage/schema.ts';

try {
  const file = snapshotFile();
  if (existsSync(file)) {
    console.log(`PGlite snapshot: ${file} (cached)`);
  } else {
    const client = await PGlite.create();
    try {
      await applyMigrations(drizzle(client, { schema }) as unknown as Db);
      console.log(`PGlite snapshot: ${(await saveSnapshot(client)) ? file : 'not written (cache not writable)'}`);
    } finally {
      await client.close();
    }
  }
} catch (err) {
  console.log(`PGlite snapshot not made (the first start will make it): ${(err as Error).message}`);
}
