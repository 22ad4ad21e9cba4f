import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import { runCli } from '../helpers/process.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const provenance = (digest: string, lodash: string, image?: string) => ({
  _type: 'https://in-toto.io/Statement/v1' as const,
  subject: [{ name: 'ghcr.io/example/shop', digest: { sha256: digest } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://example.com/build/v1',
      externalParameters: {},
      resolvedDependencies: [
        { uri: 'git+https://github.com/example/shop', digest: { gitCommit: 'c'.repeat(40) } },
        { uri: `pkg:npm/lodash@${lodash}`, digest: { sha256: (lodash === '4.17.20' ? '1' : '2').repeat(64) } },
        image ? { uri: image } : { uri: 'pkg:docker/node@20', digest: { sha256: '3'.repeat(64) } },
      ],
    },
    runDetails: { builder: { id: 'https://ci.example.com/b' } },
  },
});

describe('waybill diff', () => {
  let server: RunningServer;
  let token: string;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-diff-'));
    server = await startServer(parseConfig({ WAYBILL_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent' }));
    token = (await server.deps.tokens.create({ subject: 'https://audit.example.com/', roles: ['auditor'] })).token;
    await server.deps.attest.sign(provenance(A, '4.17.20'), 'https://ci.example.com/build');
    await server.deps.attest.sign(provenance(B, '4.17.21', 'docker://node:20'), 'https://ci.example.com/build');
  });
  afterAll(async () => server.stop());

  it('prints the diff grouped by kind, and JSON with --json', async () => {
    const res = await runCli(['diff', `sha256:${A}`, `sha256:${B}`, '--server', server.url], { WAYBILL_TOKEN: token });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/\(rebuild: same subject name and source\)/);
    expect(res.stdout).toMatch(/summary: .*lodash 4\.17\.20 -> 4\.17\.21/);
    expect(res.stdout).toMatch(/changed {2}lodash {2}4\.17\.20 sha256:111111111111 -> 4\.17\.21 sha256:222222222222/);
    expect(res.stdout).toMatch(/tag-only/);
    const json = await runCli(['diff', `sha256:${A}`, `sha256:${B}`, '--server', server.url, '--json'], {
      WAYBILL_TOKEN: token,
    });
    expect(JSON.parse(json.stdout).diff.dependencies.length).toBeGreaterThan(0);
    const missing = await runCli(['diff', `sha256:${A}`, `sha256:${'9'.repeat(64)}`, '--server', server.url], {
      WAYBILL_TOKEN: token,
    });
    expect(missing.code).toBe(4); // the server refuses: a 404
    expect(missing.stderr).toMatch(/no provenance/);
  });
});
