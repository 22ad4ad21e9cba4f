import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import { runCli } from '../helpers/process.ts';

describe('waybill gate / policy', () => {
  let server: RunningServer;
  let dir: string;
  let deployer: string;
  const A = 'a1'.repeat(32);
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wb-gate-'));
    server = await startServer(
      parseConfig({ WAYBILL_DATA_DIR: path.join(dir, 'data'), PORT: '0', LOG_LEVEL: 'silent' }),
    );
    deployer = (await server.deps.tokens.create({ subject: 'https://cd.example.com/deploy', roles: ['deployer'] }))
      .token;
    await server.deps.attest.sign(
      {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'app', digest: { sha256: A } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {
          buildDefinition: { buildType: 'https://example.com/b', externalParameters: {} },
          runDetails: { builder: { id: 'https://ci.example.com/b' } },
        },
      },
      'https://ci.example.com/build',
    );
  });
  afterAll(async () => server.stop());

  it('gate exits 0 on allow and writes the VSA; 1 on deny with the reasons', async () => {
    const vsa = path.join(dir, 'vsa.json');
    const ok = await runCli(
      ['gate', '--digest', `sha256:${A}`, '--environment', 'dev', '--server', server.url, '--vsa', vsa],
      { WAYBILL_TOKEN: deployer },
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ALLOW sha256:a1/);
    expect(ok.stdout).toMatch(/✓ has-provenance/);
    expect(JSON.parse(readFileSync(vsa, 'utf8')).mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');

    const no = await runCli(['gate', '--digest', `sha256:${A}`, '--environment', 'staging', '--server', server.url], {
      WAYBILL_TOKEN: deployer,
    });
    expect(no.code).toBe(1);
    expect(no.stdout).toMatch(/^DENY/);
    expect(no.stdout).toMatch(/✗ deployed-to-dev/);
    expect(no.stderr).toMatch(/denied/);
  });

  it('policy explain shows the verdict rule by rule, and exits 1 on deny like gate', async () => {
    const res = await runCli(
      ['policy', 'explain', '--digest', `sha256:${A}`, '--environment', 'production', '--server', server.url],
      { WAYBILL_TOKEN: deployer },
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/DENY/);
    expect(res.stdout).toMatch(/passed-staging-tests/);
  });

  it('policy check passes the shipped policies and reports file:line for a broken one', async () => {
    expect((await runCli(['policy', 'check', 'policies'])).code).toBe(0);
    const bad = mkdtempSync(path.join(os.tmpdir(), 'wb-badpol-'));
    writeFileSync(
      path.join(bad, 'qa.yaml'),
      'environment: qa\nrules:\n  - name: x\n    predicateType: https://slsa.dev/provenance/v1\n    maxAge: forever\n',
    );
    const res = await runCli(['policy', 'check', bad]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/qa\.yaml:5:\d+: .*duration/i);
  });
});
