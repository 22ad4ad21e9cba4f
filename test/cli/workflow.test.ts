// The whole workflow from the command line, no curl: environments, deploy (a verdict, then the
// deployment), attestations, rebuild exceptions, evidence packs. Each command prints text by
// default and JSON with --json, and exits with the same codes: 0 success or allow, 1 deny or
// failed verification, 2 usage error, 3 server unreachable or 5xx, 4 refused (another 4xx).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import type { Json } from '../helpers/json.ts';
import { freePort } from '../helpers/process.ts';
import { sha256 } from '../helpers/statements.ts';

/** The CLI in-process (the server answers from this process too): exit code and output. */
async function waybill(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'waybill', ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function facts(digest: string, commit: string, lodash: string) {
  return {
    subjects: [{ name: 'ghcr.io/example/shop', digest: { sha256: digest } }],
    buildType: 'https://example.com/build/v1',
    externalParameters: { repository: 'https://github.com/example/shop' },
    resolvedDependencies: [
      { uri: 'git+https://github.com/example/shop@refs/heads/main', digest: { gitCommit: commit } },
      { uri: `pkg:npm/lodash@${lodash}`, digest: { sha256: sha256(lodash) } },
    ],
    builder: { id: 'https://ci.example.com/builder/v1' },
  };
}

describe('the workflow from the command line', () => {
  let server: RunningServer;
  let dir: string;
  let t: Record<'builder' | 'deployer' | 'alex' | 'sam' | 'auditor', string>;
  let S: string[]; // --server URL, for every remote command
  const A = sha256(randomBytes(8));
  const B = sha256(randomBytes(8));
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wb-flow-'));
    server = await startServer(
      parseConfig({
        WAYBILL_DATA_DIR: file('data'),
        PORT: '0',
        LOG_LEVEL: 'silent',
        WAYBILL_ISSUER: 'https://waybill.test',
      }),
    );
    S = ['--server', server.url];
    const mint = async (role: 'builder' | 'deployer' | 'approver' | 'auditor', subject: string) =>
      (await server.deps.tokens.create({ subject, roles: [role] })).token;
    t = {
      builder: await mint('builder', 'https://ci.example.com/build'),
      deployer: await mint('deployer', 'https://people.example.com/dana'),
      alex: await mint('approver', 'https://people.example.com/alex'),
      sam: await mint('approver', 'https://people.example.com/sam'),
      auditor: await mint('auditor', 'https://audit.example.com/'),
    };
    // A, and B: a rebuild of A (same source commit, a patched dependency).
    const commit = randomBytes(20).toString('hex');
    for (const [digest, lodash] of [
      [A, '4.17.20'],
      [B, '4.17.21'],
    ] as const) {
      const res = await fetch(`${server.url}/v1/provenance`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.builder}`, 'content-type': 'application/json' },
        body: JSON.stringify(facts(digest, commit, lodash)),
      });
      expect(res.status).toBe(201);
    }
    writeFileSync(file('root.json'), JSON.stringify(server.deps.trustedRoot));
  }, 60_000);
  afterAll(async () => server.stop());

  it('environments, then deploy: exit 0 and the deployment on allow, exit 1 and the reasons on deny', async () => {
    const before = await waybill('environments', ...S, '--token', t.auditor);
    expect(before.code).toBe(0);
    expect(before.out).toMatch(/^ENVIRONMENT\s+AFTER\s+DEPLOYED\s+DEPLOYED AT\s+DEPLOYMENT\s+OBSERVED RUNNING\n/);
    expect(before.out).toMatch(/^dev\s+-\s+-/m);
    expect(before.out).toMatch(/^staging\s+dev\s+-/m);

    const ok = await waybill('deploy', ...S, '--token', t.deployer, '--digest', `sha256:${A}`, '--environment', 'dev');
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(
      new RegExp(
        `^deployed sha256:${A} to dev \\(deployment dp_\\S+, verdict vd_\\S+, attestation [0-9a-f]{12}\\)$`,
        'm',
      ),
    );

    const after = await waybill('environments', ...S, '--token', t.auditor, '--json');
    expect(after.code).toBe(0);
    expect((JSON.parse(after.out) as Json[]).find((e) => e.name === 'dev').current.digest).toBe(`sha256:${A}`);
    const dev = await waybill('environments', 'dev', ...S, '--token', t.auditor);
    expect(dev.out).toMatch(new RegExp(`^dev: deployed sha256:${A} at `));
    expect(dev.out).toMatch(/DEPLOYED AT\s+DIGEST\s+DEPLOYER/);

    const deny = await waybill(
      'deploy',
      ...S,
      '--token',
      t.deployer,
      '--digest',
      `sha256:${B}`,
      '--environment',
      'staging',
    );
    expect(deny.code).toBe(1);
    expect(deny.out).toMatch(/^DENY sha256:/);
    expect(deny.err).toMatch(/^waybill: denied: /);

    // A verdict that does not exist: the server refuses (4), naming the URL.
    const refused = await waybill(
      'deploy',
      ...S,
      '--token',
      t.deployer,
      '--digest',
      `sha256:${A}`,
      '--environment',
      'dev',
      '--verdict',
      'vd_nope',
    );
    expect(refused.code).toBe(4);
    expect(refused.err).toMatch(new RegExp(`^waybill: refused: POST ${server.url}/v1/deployments: HTTP 4\\d\\d: `));
  });

  it('attestations list and get: a table, JSON, and the bundle written for verify-bundle', async () => {
    const list = await waybill('attestations', 'list', ...S, '--token', t.auditor, '--digest', `sha256:${A}`);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^ID\s+PREDICATE\s+ENVIRONMENT\s+SIGNER\s+ORIGIN\s+LOG\s+CREATED\n/);
    expect(list.out).toMatch(/\bprovenance\s+-\s+https:\/\/ci\.example\.com\/build\s+signed\s+#\d+/);
    const items = JSON.parse(
      (await waybill('attestations', 'list', ...S, '--token', t.auditor, '--digest', `sha256:${A}`, '--json')).out,
    ) as Json[];
    const prov = items.find((a) => a.predicateType === 'https://slsa.dev/provenance/v1');
    expect(prov.bundle).toBeUndefined();

    const get = await waybill('attestations', 'get', prov.id, ...S, '--token', t.auditor, '--out', file('prov.json'));
    expect(get.code).toBe(0);
    expect(get.out).toMatch(
      /^ {2}signer {6}https:\/\/ci\.example\.com\/build \(issuer https:\/\/waybill\.test, signed\)$/m,
    );
    const verified = await waybill(
      'verify-bundle',
      '--bundle',
      file('prov.json'),
      '--certificate-identity',
      'https://ci.example.com/build',
      '--certificate-oidc-issuer',
      'https://waybill.test',
      '--trusted-root',
      file('root.json'),
      `sha256:${A}`,
      '--json',
    );
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.out)).toMatchObject({
      verified: true,
      signer: { subject: 'https://ci.example.com/build' },
    });

    expect((await waybill('attestations', 'get', 'not-an-id', ...S, '--token', t.auditor)).code).toBe(2);
    expect((await waybill('attestations', 'get', 'f'.repeat(64), ...S, '--token', t.auditor)).code).toBe(4);
    expect((await waybill('attestations', 'list', ...S, '--token', t.auditor, '--digest', 'sha256:nope')).code).toBe(2);
  });

  it('exceptions request, approve (not by a deployer: refused) and list', async () => {
    const req = await waybill(
      'exceptions',
      'request',
      ...S,
      '--token',
      t.deployer,
      '--original',
      `sha256:${A}`,
      '--rebuild',
      `sha256:${B}`,
      '--environment',
      'production',
      '--reason',
      'hotfix: lodash prototype-pollution patch',
      '--ticket',
      'SEC-1',
      '--json',
    );
    expect(req.err).toBe('');
    expect(req.code).toBe(0);
    const x = JSON.parse(req.out) as Json;
    expect(x.status).toBe('pending');

    const notApprover = await waybill('exceptions', 'approve', x.id, ...S, '--token', t.deployer);
    expect(notApprover.code).toBe(4);
    expect(notApprover.err).toMatch(/HTTP 403/);
    const first = await waybill('exceptions', 'approve', x.id, ...S, '--token', t.alex);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(new RegExp(`^${x.id}: PENDING rebuild sha256:${B} of sha256:${A} for production`));
    expect(first.out).toMatch(/approvals 1\/2: https:\/\/people\.example\.com\/alex/);
    const second = await waybill('exceptions', 'approve', x.id, ...S, '--token', t.sam);
    expect(second.out).toMatch(/: APPROVED rebuild/);
    expect(second.out).toMatch(/signed: attestation [0-9a-f]{64}/);

    const list = await waybill('exceptions', 'list', ...S, '--token', t.auditor, '--status', 'approved');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(
      new RegExp(`^${x.id}\\s+approved\\s+production\\s+sha256:[0-9a-f]{12}…\\s+sha256:[0-9a-f]{12}…\\s+2/2`, 'm'),
    );
    expect((await waybill('exceptions', 'list', ...S, '--token', t.auditor, '--status', 'maybe')).code).toBe(2);
  });

  it('evidence: a pack for an environment or a digest, that audit verify accepts', async () => {
    const env = await waybill(
      'evidence',
      ...S,
      '--token',
      t.auditor,
      '--environment',
      'dev',
      '--out',
      file('dev.json'),
    );
    expect(env.code).toBe(0);
    expect(env.out).toMatch(new RegExp(`^wrote .*dev\\.json: sha256:${A} in dev, \\d+ bundles, steps dev\\n`));
    const audit = await waybill('audit', 'verify', file('dev.json'), '--trusted-root', file('root.json'), '--json');
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.out)).toMatchObject({ ok: true, environment: 'dev' });
    const byDigest = await waybill('evidence', ...S, '--token', t.auditor, '--digest', `sha256:${A}`);
    expect(JSON.parse(byDigest.out).manifest.digest).toBe(`sha256:${A}`);

    expect((await waybill('evidence', ...S, '--token', t.auditor)).code).toBe(2);
    expect(
      (await waybill('evidence', ...S, '--token', t.auditor, '--environment', 'dev', '--digest', `sha256:${A}`)).code,
    ).toBe(2);
    const none = await waybill('evidence', ...S, '--token', t.auditor, '--environment', 'production');
    expect(none.code).toBe(4);
    expect(none.err).toMatch(/HTTP 404: nothing has been deployed to production/);
    expect((await waybill('evidence', ...S, '--token', t.deployer, '--environment', 'dev')).code).toBe(4);
  });

  describe('the same exit codes for every command', () => {
    let broken: Server;
    let brokenUrl: string;
    beforeAll(async () => {
      // A server that fails every request: a 5xx is the server's trouble, like no server at all.
      broken = createServer((_req, res) => {
        res.writeHead(500, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ status: 500, detail: 'an internal error occurred; see the server log' }));
      });
      await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
      brokenUrl = `http://127.0.0.1:${(broken.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => broken.close(() => resolve())));

    const remote: string[][] = [
      ['environments'],
      ['deploy', '--digest', `sha256:${'a'.repeat(64)}`, '--environment', 'dev'],
      ['exceptions', 'list'],
      ['attestations', 'list', '--digest', `sha256:${'a'.repeat(64)}`],
      ['evidence', '--environment', 'dev'],
      ['tokens', 'list'],
      ['gate', '--digest', `sha256:${'a'.repeat(64)}`, '--environment', 'dev'],
    ];

    it('3 when the server cannot be reached, naming the URL and the cause', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      for (const args of remote) {
        const r = await waybill(...args, '--server', closed, '--token', 'x');
        expect(r.code, args.join(' ')).toBe(3);
        expect(r.err, args.join(' ')).toMatch(new RegExp(`^waybill: cannot reach ${closed}/v1/\\S+: .*ECONNREFUSED`));
      }
    });

    it('3 on a server error (5xx), 2 for a server that is not a URL', async () => {
      for (const args of remote) {
        const r = await waybill(...args, '--server', brokenUrl, '--token', 'x');
        expect(r.code, args.join(' ')).toBe(3);
        expect(r.err, args.join(' ')).toMatch(
          new RegExp(`^waybill: server error: \\w+ ${brokenUrl}/v1/\\S+: HTTP 500: an internal error`),
        );
        const bad = await waybill(...args, '--server', 'localhost 8787', '--token', 'x');
        expect(bad.code, args.join(' ')).toBe(2);
        expect(bad.err).toMatch(/--server "localhost 8787" is not a URL/);
      }
    });

    it('4 when refused (a bad token), 2 for a usage error', async () => {
      for (const args of remote) {
        const r = await waybill(...args, ...S, '--token', 'not-a-token');
        expect(r.code, args.join(' ')).toBe(4);
        expect(r.err, args.join(' ')).toMatch(/HTTP 401/);
      }
      const noDigest = await waybill('deploy', ...S, '--token', t.deployer, '--environment', 'dev');
      expect(noDigest.code).toBe(2);
      expect(
        (await waybill('deploy', ...S, '--token', t.deployer, '--digest', 'abc', '--environment', 'dev')).code,
      ).toBe(2);
      expect((await waybill('no-such-command')).code).toBe(2);
    });

    it('--json on every command prints JSON', async () => {
      const runs: string[][] = [
        ['environments', ...S, '--token', t.auditor],
        ['exceptions', 'list', ...S, '--token', t.auditor],
        ['attestations', 'list', ...S, '--token', t.auditor, '--digest', `sha256:${A}`],
        ['tokens', 'list', ...S, '--token', t.auditor, '--data-dir', file('none')],
        ['policy', 'check', 'policies'],
        ['keys', 'generate', '--out', file('keys')],
        ['keys', 'retire', '--trusted-root', file('root.json'), '--out', file('history.json')],
        ['log', 'verify', '--state', file('state.txt'), ...S, '--trusted-root', file('root.json')],
      ];
      for (const args of runs) {
        const r = await waybill(...args, '--json');
        if (args[0] === 'tokens') {
          expect(r.code).toBe(4); // an auditor is not an admin; the refusal is still a refusal
          continue;
        }
        expect(r.code, `${args.join(' ')}\n${r.err}`).toBe(0);
        expect(() => JSON.parse(r.out), args.join(' ')).not.toThrow();
      }
      expect(readFileSync(file('history.json'), 'utf8')).toMatch(/"end"/);
    });
  });

  it('exceptions reject (with a reason; not by the requester) and revoke (an approved one only)', async () => {
    const asked = await waybill(
      'exceptions',
      'request',
      ...S,
      '--token',
      t.deployer,
      '--original',
      `sha256:${A}`,
      '--rebuild',
      `sha256:${B}`,
      '--environment',
      'production',
      '--reason',
      'asked twice by mistake',
      '--ticket',
      'SEC-2',
      '--json',
    );
    expect(asked.code, asked.err).toBe(0);
    const id = (JSON.parse(asked.out) as Json).id as string;
    // --reason is required: a usage error before any request
    expect((await waybill('exceptions', 'reject', id, ...S, '--token', t.alex)).code).toBe(2);
    const byRequester = await waybill('exceptions', 'reject', id, ...S, '--token', t.deployer, '--reason', 'no');
    expect(byRequester.code).toBe(4);
    expect(byRequester.err).toMatch(/HTTP 403/);
    const rejected = await waybill('exceptions', 'reject', id, ...S, '--token', t.alex, '--reason', 'a duplicate');
    expect(rejected.code, rejected.err).toBe(0);
    expect(rejected.out).toMatch(new RegExp(`^${id}: REJECTED rebuild sha256:${B} of sha256:${A} for production`));
    const twice = await waybill('exceptions', 'reject', id, ...S, '--token', t.sam, '--reason', 'again');
    expect(twice.code).toBe(4);
    expect(twice.err).toMatch(/HTTP 409/);

    // Revoke the exception approved earlier in this file (revoking a pending one is refused).
    const approved = await waybill('exceptions', 'list', ...S, '--token', t.auditor, '--status', 'approved', '--json');
    const approvedId = (JSON.parse(approved.out) as Json[])[0]!.id as string;
    const notApproved = await waybill('exceptions', 'revoke', id, ...S, '--token', t.alex, '--reason', 'x');
    expect(notApproved.code).toBe(4);
    expect(notApproved.err).toMatch(/HTTP 409/);
    const byDeployer = await waybill('exceptions', 'revoke', approvedId, ...S, '--token', t.deployer, '--reason', 'x');
    expect(byDeployer.code).toBe(4);
    expect(byDeployer.err).toMatch(/HTTP 403/);
    const revoked = await waybill(
      'exceptions',
      'revoke',
      approvedId,
      ...S,
      '--token',
      t.sam,
      '--reason',
      'image found',
    );
    expect(revoked.code, revoked.err).toBe(0);
    expect(revoked.out.startsWith(`revoked exception ${approvedId}\n`)).toBe(true);
    expect(revoked.out).toMatch(/\n {2}revocation [0-9a-f]{64} \(log #\d+, \S+\)\n$/);
    const json = await waybill('exceptions', 'revoke', approvedId, ...S, '--token', t.sam, '--reason', 'y', '--json');
    expect(json.code).toBe(4); // already revoked
    expect(json.err).toMatch(/HTTP 409/);
  });
});
