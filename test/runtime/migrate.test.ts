import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { migrateDatabase } from '../../src/runtime/migrate.ts';
import { backends } from '../helpers/db.ts';

describe('npm run db:migrate', () => {
  it('needs DATABASE_URL: there is nothing to migrate on the embedded database', async () => {
    await expect(migrateDatabase({})).rejects.toBeInstanceOf(ConfigError);
  });

  const pg = backends.find((b) => b.name === 'postgres');
  it.runIf(pg)('migrates an empty PostgreSQL database, and a second run applies nothing', async () => {
    const fresh = await pg!.freshUrl!();
    try {
      expect(await migrateDatabase({ DATABASE_URL: fresh.url })).toBeGreaterThan(0);
      expect(await migrateDatabase({ DATABASE_URL: fresh.url })).toBe(0);
    } finally {
      await fresh.drop();
    }
  });
});
