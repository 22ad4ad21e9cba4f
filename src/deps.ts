// The one composition root: config in, concrete implementations out. Nothing else picks a
// driver, a key or a clock.
import type { Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { ensureAdminToken } from './services/bootstrap.ts';
import { TokenService } from './services/tokens.ts';
import { openDatabase, type Database } from './storage/database.ts';

export interface Deps {
  config: Config;
  logger: Logger;
  database: Database;
  tokens: TokenService;
  close(): Promise<void>;
}

export async function buildDeps(config: Config, opts: { logger?: Logger } = {}): Promise<Deps> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database = await openDatabase(config.database);
  try {
    await database.migrate();
    const tokens = new TokenService(database, { adminToken: config.adminToken, issuer: config.issuer });
    await ensureAdminToken({
      tokens,
      dataDir: config.dataDir,
      issuer: config.issuer,
      adminTokenConfigured: Boolean(config.adminToken),
      logger,
    });
    return {
      config,
      logger,
      database,
      tokens,
      close: () => database.close(),
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
