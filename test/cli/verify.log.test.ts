import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import { checkpointBody, parseCheckpoint, signCheckpoint } from '../../src/tlog/checkpoint.ts';
import { runCli } from '../helpers/process.ts';
import { provenanceStatement } from '../helpers/statements.ts';

describe('waybill log verify', () => {
  let server: RunningServer;
  let dir: string;
  let rootFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wb-logv-'));
    server = await startServer(
      parseConfig({
        WAYBILL_DATA_DIR: path.join(dir, 'data'),
        PORT: '0',
        LOG_LEVEL: 'silent',
        WAYBILL_ISSUER: 'http://localhost:8787',
      }),
    );
    rootFile = path.join(dir, 'root.json');
    writeFileSync(rootFile, JSON.stringify(server.deps.trustedRoot));
  });
  afterAll(async () => server.stop());

  const saveCheckpoint = async (name: string) => {
    const note = await (await fetch(`${server.url}/v1/log/checkpoint`)).text();
    writeFileSync(path.join(dir, name), note);
    return note;
  };

  it('accepts the current log as consistent with a checkpoint saved earlier', async () => {
    for (let i = 0; i < 3; i++) await server.deps.attest.sign(provenanceStatement(), 'https://ci.example.com/a');
    await saveCheckpoint('old.txt');
    for (let i = 0; i < 5; i++) await server.deps.attest.sign(provenanceStatement(), 'https://ci.example.com/a');
    const res = await runCli([
      'log',
      'verify',
      '--checkpoint',
      path.join(dir, 'old.txt'),
      '--server',
      server.url,
      '--trusted-root',
      rootFile,
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/consistent: size 3 -> 8/);
  });

  it('detects a fork: a validly signed checkpoint with another root at a size the log has passed', async () => {
    const real = parseCheckpoint(await saveCheckpoint('now.txt'));
    // A second tree of the same size, signed with the real log key: what a split view looks like.
    const forged = signCheckpoint(
      checkpointBody({ origin: real.origin, size: real.size, rootHash: new Uint8Array(32).fill(7) }),
      {
        name: 'localhost:8787',
        privateKey: server.deps.keys.log.privateKey,
      },
    );
    writeFileSync(path.join(dir, 'forged.txt'), forged);
    const res = await runCli([
      'log',
      'verify',
      '--checkpoint',
      path.join(dir, 'forged.txt'),
      '--server',
      server.url,
      '--trusted-root',
      rootFile,
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/forked/);

    await server.deps.attest.sign(provenanceStatement(), 'https://ci.example.com/a');
    const res2 = await runCli([
      'log',
      'verify',
      '--checkpoint',
      path.join(dir, 'forged.txt'),
      '--server',
      server.url,
      '--trusted-root',
      rootFile,
    ]);
    expect(res2.code).toBe(1);
    expect(res2.stderr).toMatch(/NOT consistent/);
  });

  it('refuses a checkpoint not signed by the trusted log key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const note = signCheckpoint(
      checkpointBody({ origin: 'localhost:8787 - 1', size: 1, rootHash: new Uint8Array(32) }),
      { name: 'localhost:8787', privateKey },
    );
    writeFileSync(path.join(dir, 'stranger.txt'), note);
    const res = await runCli([
      'log',
      'verify',
      '--checkpoint',
      path.join(dir, 'stranger.txt'),
      '--server',
      server.url,
      '--trusted-root',
      rootFile,
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/not signed by any log key/);
  });

  it('--state keeps the last verified checkpoint and proves each run consistent with it', async () => {
    const state = path.join(dir, 'state.txt');
    const first = await runCli(['log', 'verify', '--state', state, '--server', server.url, '--trusted-root', rootFile]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/started: size \d+/);
    await server.deps.attest.sign(provenanceStatement(), 'https://ci.example.com/a');
    const second = await runCli([
      'log',
      'verify',
      '--state',
      state,
      '--server',
      server.url,
      '--trusted-root',
      rootFile,
    ]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/consistent: size (\d+) -> (\d+)/);
    const [, a, b] = /size (\d+) -> (\d+)/.exec(second.stdout)!;
    expect(Number(b)).toBe(Number(a) + 1);
    // a state file holding a forged history is caught
    writeFileSync(
      state,
      signCheckpoint(
        checkpointBody({
          origin: parseCheckpoint(readFileSync(state, 'utf8')).origin,
          size: 1,
          rootHash: new Uint8Array(32).fill(9),
        }),
        { name: 'localhost:8787', privateKey: server.deps.keys.log.privateKey },
      ),
    );
    const third = await runCli(['log', 'verify', '--state', state, '--server', server.url, '--trusted-root', rootFile]);
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(/NOT consistent/);
  });
});
