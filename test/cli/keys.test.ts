// `waybill keys generate`: production keys made offline, which the server then starts with.
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer } from '../helpers/process.ts';

describe('waybill keys generate', () => {
  it('writes production keys with tight modes that the server then starts with', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-keys-')), 'keys');
    const res = await runCli(['keys', 'generate', '--out', dir, '--organization', 'Example Corp']);
    expect(res.code).toBe(0);
    for (const f of ['ca-key.pem', 'ca-root-key.pem', 'log-key.pem'])
      expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    expect((await runCli(['keys', 'generate', '--out', dir])).code).not.toBe(0); // never overwrites
    const server = await spawnServer({
      WAYBILL_DATA_DIR: path.join(dir, '..', 'data'),
      WAYBILL_CA_KEY_FILE: path.join(dir, 'ca-key.pem'),
      WAYBILL_CA_CHAIN_FILE: path.join(dir, 'ca-chain.pem'),
      WAYBILL_LOG_KEY_FILE: path.join(dir, 'log-key.pem'),
    });
    try {
      const root = (await (await fetch(`${server.url}/v1/trust/root`)).json()) as {
        certificateAuthorities: Array<{ subject: { organization: string } }>;
      };
      expect(root.certificateAuthorities[0]!.subject.organization).toBe('Example Corp');
      expect(server.output()).not.toMatch(/generated a development CA/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 60_000);
});
