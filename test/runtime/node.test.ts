// The real process, as an operator runs it: `waybill serve` on an empty data directory.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer } from '../helpers/process.ts';

describe('waybill serve on the embedded database', () => {
  it('starts on an empty directory, bootstraps an admin token, restarts with its data, refuses a second ' +
    'process', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-start-')), 'data');
    const env = { WAYBILL_DATA_DIR: dataDir };

    const first = await spawnServer(env);
    const tokenFile = path.join(dataDir, 'admin-token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const admin = readFileSync(tokenFile, 'utf8').trim();
    expect(admin).toMatch(/^wb_/);
    expect(first.output()).toContain('admin-token');
    expect(first.output()).not.toContain(admin);

    // a second server on the same directory fails with a clear message, and the first is unharmed
    const second = await spawnServer(env, { timeoutMs: 20_000 }).then(
      () => 'started',
      (err: Error) => err.message,
    );
    expect(second).toMatch(/in use by another process/);

    // the CLI mints a token through the API with the admin token from the data dir
    const created = await runCli([
      'tokens',
      'create',
      '--subject',
      'https://ci.example.com/p',
      '--role',
      'builder',
      '--server',
      first.url,
      '--data-dir',
      dataDir,
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; token: string };

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');

    const again = await spawnServer(env);
    try {
      // same admin token (no new one minted), and the minted token still exists
      expect(readFileSync(tokenFile, 'utf8').trim()).toBe(admin);
      const list = await runCli(['tokens', 'list', '--server', again.url, '--token', admin]);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(token.id);
      const revoke = await runCli(['tokens', 'revoke', token.id, '--server', again.url, '--token', admin]);
      expect(revoke.code).toBe(0);
      const denied = await runCli(['tokens', 'list', '--server', again.url, '--token', token.token]);
      expect(denied.code).toBe(4); // refused: a 401
      expect(denied.stderr).toMatch(/invalid, expired or revoked/);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  }, 120_000);

  it('stops at start-up listing every bad setting', async () => {
    const res = await runCli(['serve'], { PORT: 'x', LOG_LEVEL: 'loud' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/PORT/);
    expect(res.stderr).toMatch(/LOG_LEVEL/);
  });
});
