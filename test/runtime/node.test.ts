// The real process, as an operator runs it: `waybill serve` on an empty data directory.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

  it('npm start: SIGTERM or SIGINT to npm stops the server it started', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-npm-')), 'data');
      const server = await spawnServer({ WAYBILL_DATA_DIR: dataDir }, { npm: true, timeoutMs: 60_000 });
      server.child.kill(signal);
      await server.exited;
      // the server under npm got the signal and shut down: nothing listens on its port any more
      await expect.poll(() => server.output()).toContain('"msg":"stopped"');
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    }
  }, 120_000);

  it('checks the policies before creating a data directory, keys or a database', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'wb-typo-'));
    const policies = path.join(root, 'policies');
    mkdirSync(policies);
    writeFileSync(path.join(policies, 'dev.yaml'), 'environment: dev\nrules:\n  - name: x\n    requir: {}\n');
    const dataDir = path.join(root, 'data');
    const res = await runCli(['serve'], { WAYBILL_POLICIES_DIR: policies, WAYBILL_DATA_DIR: dataDir });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/dev\.yaml:\d+:\d+: /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('stops at start-up listing every bad setting', async () => {
    const res = await runCli(['serve'], { PORT: 'x', LOG_LEVEL: 'loud' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/PORT/);
    expect(res.stderr).toMatch(/LOG_LEVEL/);
  });
});
