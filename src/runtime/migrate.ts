// `npm run db:migrate`: apply the migrations to DATABASE_URL from Node, before a Workers deploy
// (a Worker cannot read the migration files) or any other time. Give the direct URL, not
// Hyperdrive's: the migration runs in one transaction under a transaction-scoped advisory lock
// (storage/migrate.ts), so concurrent migrators and starting Node instances take turns.
import { ConfigError, parseConfig } from '../config.ts';
import { messageOf } from '../errors.ts';
import { applyMigrations } from '../storage/migrate.ts';
import { openPostgres } from '../storage/postgres.ts';

export async function migrateDatabase(env: Record<string, string | undefined>): Promise<number> {
  const config = parseConfig(env);
  if (config.database.driver !== 'postgres')
    throw new ConfigError([{ key: 'DATABASE_URL', message: 'required: the PostgreSQL database to migrate' }]);
  const database = await openPostgres({ url: config.database.url, max: 1 });
  try {
    return await applyMigrations(database.db);
  } finally {
    await database.close();
  }
}

if (import.meta.main) {
  try {
    const applied = await migrateDatabase(process.env);
    process.stdout.write(`applied ${applied} migration${applied === 1 ? '' : 's'}\n`);
  } catch (err) {
    process.stderr.write(`db:migrate: ${messageOf(err)}\n`);
    process.exitCode = 1;
  }
}
