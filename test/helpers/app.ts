import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/app.ts';
import { type Config, parseConfig } from '../../src/config.ts';
import type { Deps } from '../../src/deps.ts';
import { wireServices } from '../../src/deps.ts';
import { createLogger } from '../../src/logger.ts';
import type { Role } from '../../src/services/tokens.ts';
import type { Database } from '../../src/storage/database.ts';

/** Captures log lines so tests can assert what was (not) logged. */
export function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

export function testConfig(env: Record<string, string> = {}): Config {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'waybill-test-'));
  return parseConfig({ WAYBILL_DATA_DIR: dataDir, WAYBILL_ISSUER: 'https://waybill.test', ...env });
}

export async function testApp(database: Database, env: Record<string, string> = {}, opts: { now?: () => Date } = {}) {
  const config = testConfig(env);
  const { logger, lines } = memoryLogger();
  const services = await wireServices(config, database, logger, opts);
  const { tokens } = services;
  const deps: Deps = { config, logger, database, ...services, close: async () => {} };
  const app = createApp(deps);
  const mint = async (roles: Role[], subject = `https://ci.example.com/${roles.join('-')}`) =>
    (await tokens.create({ subject, roles })).token;
  const call = (
    method: string,
    route: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    return app.request(`http://localhost${route}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  };
  return { app, deps, config, logLines: lines, mint, call };
}
