// First start: make sure an operator can reach the admin API. With WAYBILL_ADMIN_TOKEN unset
// and no admin token stored, one is minted and written to <data dir>/admin-token (0600). Its
// value is never logged; the log only says where it is.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { TokenService } from './tokens.ts';

export async function ensureAdminToken(opts: {
  tokens: TokenService;
  dataDir: string;
  issuer: string;
  adminTokenConfigured: boolean;
  logger: Logger;
}): Promise<string | undefined> {
  if (opts.adminTokenConfigured) return undefined;
  if (await opts.tokens.hasAdmin()) return undefined;
  const created = await opts.tokens.createFirstAdmin();
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(opts.dataDir, 'admin-token');
  writeFileSync(file, `${created.token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // writeFileSync keeps an existing file's mode
  opts.logger.warn({ file, tokenId: created.id }, 'created the first admin token; read it from the file');
  return file;
}
