// `waybill policy list`, `waybill policy replay` and `waybill attestations revoke` against a server.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeArg } from '../../src/cli/policies.ts';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import { runCli } from '../helpers/process.ts';

describe('waybill policy list / replay, attestations revoke', () => {
  let server: RunningServer;
  let dir: string;
  let auditor: string;
  let admin: string;
  let provenanceId: string;
  const A = 'b2'.repeat(32);
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wb-policies-'));
    server = await startServer(
      parseConfig({ WAYBILL_DATA_DIR: path.join(dir, 'data'), PORT: '0', LOG_LEVEL: 'silent' }),
    );
    const token = (roles: Array<'auditor' | 'admin' | 'deployer'>, subject: string) =>
      server.deps.tokens.create({ subject, roles }).then((t) => t.token);
    auditor = await token(['auditor'], 'https://audit.example.com/');
    admin = await token(['admin'], 'https://people.example.com/admin');
    const deployer = await token(['deployer'], 'https://cd.example.com/deploy');
    const signed = await server.deps.attest.sign(
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
    provenanceId = signed.record.id;
    const res = await fetch(`${server.url}/v1/verdicts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${deployer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ digest: `sha256:${A}`, environment: 'dev' }),
    });
    expect(((await res.json()) as { decision: string }).decision).toBe('allow');
  });
  afterAll(async () => server.stop());

  it('policy list shows the files in force', async () => {
    const res = await runCli(['policy', 'list', '--server', server.url], { WAYBILL_TOKEN: auditor });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^ENVIRONMENT\s+FILE\s+SHA256\s+IN FORCE/);
    expect(res.stdout).toMatch(/\ndev\s+dev\.yaml\s+[0-9a-f]{12}\s+yes/);
  });

  it('policy replay prints the flips of a stricter dev policy as a table, and JSON with --json', async () => {
    const candidates = path.join(dir, 'candidates');
    mkdirSync(candidates);
    writeFileSync(
      path.join(candidates, 'dev.yaml'),
      'environment: dev\nrules:\n  - name: has-provenance\n    predicateType: https://slsa.dev/provenance/v1\n' +
        '    signer:\n      issuer: $self\n      subject: "^https://ci\\\\.example\\\\.com/release$"\n',
    );
    const args = ['policy', 'replay', '--policies', candidates, '--since', '1h', '--server', server.url];
    const res = await runCli(args, { WAYBILL_TOKEN: auditor });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/\ndev\s+[0-9a-f]{12}\s+1\s+0\s+1\s+0\n/);
    expect(res.stdout).toMatch(/allow->deny\s+vd_\S+\s+sha256:b2b2b2b2b2b2…/);
    expect(res.stdout).toContain('has-provenance: no https://slsa.dev/provenance/v1 evidence');
    const asJson = JSON.parse((await runCli([...args, '--json'], { WAYBILL_TOKEN: auditor })).stdout);
    expect(asJson.environments[0].allowToDeny).toHaveLength(1);
    const usage = await runCli(['policy', 'replay', '--policies', candidates, '--since', 'soon'], {
      WAYBILL_TOKEN: auditor,
    });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--since "soon"');
  });

  it('attestations revoke signs a revocation; a second one is refused', async () => {
    const args = ['attestations', 'revoke', provenanceId, '--reason', 'built on a compromised runner'];
    const res = await runCli([...args, '--server', server.url], { WAYBILL_TOKEN: admin });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^revoked ${provenanceId}\\n  revocation [0-9a-f]{64} \\(log #\\d+, `));
    const again = await runCli([...args, '--server', server.url], { WAYBILL_TOKEN: admin });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already revoked');
  });

  it('reads --since as a duration ago or an RFC 3339 time', () => {
    const now = new Date('2026-12-03T12:00:00Z');
    expect(timeArg('30d', '--since', now)).toBe('2026-11-03T12:00:00.000Z');
    expect(timeArg('2026-12-01T00:00:00Z', '--since', now)).toBe('2026-12-01T00:00:00.000Z');
    expect(() => timeArg('yesterday', '--since', now)).toThrow(/expected a duration/);
  });
});
