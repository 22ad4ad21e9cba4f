// Rebuilds through HTTP: detection, the diff, and the exception flow from request to a verdict
// that cites the signed exception.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../../src/signing/verify.ts';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { sha256 } from '../../helpers/statements.ts';

const ISSUER = 'https://waybill.test';

/** GitHub-Actions-like provenance facts with pinned npm dependencies and a base image. */
function facts(
  digest: string,
  opts: { commit: string; lodash?: string; baseImage?: string; runner?: string; invocation?: string },
) {
  return {
    subjects: [{ name: 'ghcr.io/example/shop', digest: { sha256: digest } }],
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: {
      workflow: {
        ref: 'refs/heads/main',
        repository: 'https://github.com/example/shop',
        path: '.github/workflows/release.yml',
      },
    },
    resolvedDependencies: [
      { uri: 'git+https://github.com/example/shop@refs/heads/main', digest: { gitCommit: opts.commit } },
      {
        uri: `pkg:npm/lodash@${opts.lodash ?? '4.17.20'}`,
        digest: { sha512: sha512ish(`lodash${opts.lodash ?? '4.17.20'}`) },
      },
      { uri: 'pkg:npm/express@4.19.2', digest: { sha512: sha512ish('express') } },
      {
        uri: 'pkg:docker/node@20?repository_url=docker.io/library',
        digest: { sha256: opts.baseImage ?? sha256('node20-a') },
        annotations: { role: 'base-image' },
      },
    ],
    builder: {
      id: 'https://github.com/example/shop/.github/workflows/release.yml@refs/heads/main',
      version: { runner: opts.runner ?? '2.319.1' },
    },
    metadata: {
      invocationId:
        opts.invocation ?? `https://github.com/example/shop/actions/runs/${randomBytes(3).toString('hex')}/attempts/1`,
    },
  };
}
function sha512ish(s: string) {
  return (sha256(s) + sha256(`${s}!`)).slice(0, 128);
}
const testResult = (digest: string, result = 'PASSED') => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'ghcr.io/example/shop', digest: { sha256: digest } }],
  predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
  predicate: { result, configuration: [] },
});

describe.each(backends)('rebuilds on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let builder: string,
    tester: string,
    deployer: string,
    approver1: string,
    approver2: string,
    selfApprover: string,
    auditor: string;
  let clock: number | undefined;
  let root: unknown;

  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database, {}, { now: () => new Date(clock ?? Date.now()) });
    builder = await t.mint(['builder'], 'https://ci.example.com/build');
    tester = await t.mint(['tester'], 'https://ci.example.com/test');
    deployer = await t.mint(['deployer'], 'https://people.example.com/dana');
    selfApprover = await t.mint(['approver'], 'https://people.example.com/dana');
    approver1 = await t.mint(['approver'], 'https://people.example.com/alex');
    approver2 = await t.mint(['approver'], 'https://people.example.com/sam');
    auditor = await t.mint(['auditor'], 'https://audit.example.com/');
    root = await (await t.call('GET', '/v1/trust/root')).json();
  });
  afterAll(async () => database.close());

  const post = async (route: string, token: string, body?: unknown) => {
    const res = await t.call('POST', route, { token, ...(body === undefined ? {} : { body }) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const get = async (route: string) => (await (await t.call('GET', route, { token: auditor })).json()) as Json;
  const promote = async (digest: string, env: string) => {
    const v = await post('/v1/verdicts', deployer, { digest: `sha256:${digest}`, environment: env });
    expect(v.body.decision, JSON.stringify(v.body.reasons)).toBe('allow');
    expect(
      (await post('/v1/deployments', deployer, { digest: `sha256:${digest}`, environment: env, verdictId: v.body.id }))
        .status,
    ).toBe(201);
  };

  /** An original promoted to staging with passing staging tests, and a rebuild of it. */
  async function scenario(rebuildOpts: Partial<Parameters<typeof facts>[1]> = {}) {
    const commit = randomBytes(20).toString('hex');
    const A = sha256(randomBytes(16));
    const B = sha256(randomBytes(16));
    expect((await post('/v1/provenance', builder, facts(A, { commit }))).status).toBe(201);
    await promote(A, 'dev');
    await post('/v1/attestations', tester, { environment: 'dev', statement: testResult(A) });
    await promote(A, 'staging');
    await post('/v1/attestations', tester, { environment: 'staging', statement: testResult(A) });
    expect((await post('/v1/provenance', builder, facts(B, { commit, ...rebuildOpts }))).status).toBe(201);
    return { A, B, commit };
  }

  it('detects a rebuild, explains it with a diff, and names it in the deny', async () => {
    const { A, B } = await scenario({ lodash: '4.17.21', baseImage: sha256('node20-b') });
    const b = await get(`/v1/artifacts/sha256:${B}`);
    expect(b.rebuildOf.map((r: Json) => r.digest)).toEqual([`sha256:${A}`]);
    expect(b.rebuilds).toEqual([]);
    const a = await get(`/v1/artifacts/sha256:${A}`);
    expect(a.rebuilds.map((r: Json) => r.digest)).toEqual([`sha256:${B}`]);

    const diff = await get(`/v1/artifacts/sha256:${A}/diff/sha256:${B}`);
    expect(diff.rebuild).toBe(true);
    expect(diff.diff.dependencies.some((d: Json) => JSON.stringify(d).includes('4.17.21'))).toBe(true);
    expect(diff.diff.baseImages.length).toBeGreaterThan(0);
    expect(diff.diff.summary).toMatch(/lodash/);

    const v = await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'production' });
    expect(v.body.decision).toBe('deny');
    expect(v.body.reasons[0]).toMatch(
      new RegExp(`sha256:${B} is a rebuild of sha256:${A}.*which has the staging evidence; this digest has none`),
    );
  });

  it(
    'lets a rebuild through only under an approved, signed exception, cited by the verdict and the ' + 'deployment',
    async () => {
      const { A, B } = await scenario({ lodash: '4.17.21' });
      const req = await post('/v1/rebuild-exceptions', deployer, {
        original: `sha256:${A}`,
        rebuild: `sha256:${B}`,
        environment: 'production',
        reason: 'hotfix: lodash prototype-pollution patch, same source commit',
        ticket: 'SEC-1234',
        expiresIn: '1d',
      });
      expect(req.status).toBe(201);
      expect(req.body.status).toBe('pending');
      expect(req.body.summary).toMatch(/lodash/);
      const id = req.body.id;

      expect((await post(`/v1/rebuild-exceptions/${id}/approvals`, selfApprover)).status).toBe(403);
      const first = await post(`/v1/rebuild-exceptions/${id}/approvals`, approver1);
      expect(first.status).toBe(200);
      expect(first.body.status).toBe('pending');
      expect((await post(`/v1/rebuild-exceptions/${id}/approvals`, approver1)).status).toBe(409);
      // not yet approved: still a deny
      expect(
        (await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'production' })).body.decision,
      ).toBe('deny');

      const second = await post(`/v1/rebuild-exceptions/${id}/approvals`, approver2);
      expect(second.status).toBe(200);
      expect(second.body.status).toBe('approved');
      expect(second.body.approvers).toEqual(['https://people.example.com/alex', 'https://people.example.com/sam']);
      expect(second.body.checklist.filter((c: Json) => !c.ok).map((c: Json) => c.item)).toEqual(['own-tests']);
      await expect(
        verifyBundle(second.body.bundle, {
          trustedRoot: root,
          identity: { subjectAlternativeName: `${ISSUER}/verifier`, issuer: ISSUER },
        }),
      ).resolves.toBeDefined();
      const exc = JSON.parse(Buffer.from(second.body.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      expect(exc.predicateType).toBe('https://waybill.dev/rebuild-exception/v1');
      expect(exc.predicate).toMatchObject({
        original: `sha256:${A}`,
        rebuild: `sha256:${B}`,
        environment: 'production',
        ticket: 'SEC-1234',
      });

      // Approved, but production requires own-tests: without a PASSED test result of the rebuild
      // itself the exception does not count, and the deny says why.
      const untested = await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'production' });
      expect(untested.body.decision).toBe('deny');
      expect(untested.body.exception).toBeNull();
      const ownTestsReason = `own-tests: the rebuild sha256:${B} has no PASSED test result of its own`;
      expect(untested.body.reasons.some((r: string) => r.startsWith(ownTestsReason))).toBe(true);
      // A FAILED result of its own does not count (recorded in dev, so no staging rule trips on it).
      await post('/v1/attestations', tester, { environment: 'dev', statement: testResult(B, 'FAILED') });
      const failed = await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'production' });
      expect(failed.body.decision).toBe('deny');
      expect(failed.body.reasons.some((r: string) => r.startsWith(ownTestsReason))).toBe(true);
      await post('/v1/attestations', tester, { environment: 'staging', statement: testResult(B) });

      const v = await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'production' });
      expect(v.body.decision, JSON.stringify(v.body.reasons)).toBe('allow');
      expect(v.body.exception.attestationId).toBe(second.body.attestationId);
      const vsa = JSON.parse(Buffer.from(v.body.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      expect(vsa.predicate.inputAttestations.map((i: Json) => i.digest.sha256)).toContain(second.body.attestationId);
      const d = await post('/v1/deployments', deployer, {
        digest: `sha256:${B}`,
        environment: 'production',
        verdictId: v.body.id,
      });
      expect(d.status).toBe(201);
      const dep = JSON.parse(Buffer.from(d.body.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      expect(dep.predicate.exceptions[0].digest.sha256).toBe(second.body.attestationId);

      // the exception does not reach other environments
      expect(
        (await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'staging' })).body.decision,
      ).toBe('deny');
      // and once expired it is ignored
      clock = Date.now() + 2 * 86_400_000;
      try {
        expect(
          (await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'production' })).body.decision,
        ).toBe('deny');
      } finally {
        clock = undefined;
      }
      const report = await get('/v1/reports/rebuilds');
      const item = report.items.find((i: Json) => i.rebuild === `sha256:${B}`);
      expect(item.original).toBe(`sha256:${A}`);
      expect(item.promotions.map((p: Json) => p.environment)).toEqual(['production']);
      expect(item.exceptions[0].status).toBe('approved');
    },
  );

  it('refuses what is not a rebuild, unknown digests, and environments without exceptions', async () => {
    const { A } = await scenario();
    const C = sha256(randomBytes(16));
    await post('/v1/provenance', builder, facts(C, { commit: randomBytes(20).toString('hex') })); // another source
    const base = { environment: 'production', reason: 'a reason long enough', ticket: 'T-1' };
    expect(
      (await post('/v1/rebuild-exceptions', deployer, { ...base, original: `sha256:${A}`, rebuild: `sha256:${C}` }))
        .status,
    ).toBe(422);
    expect(
      (
        await post('/v1/rebuild-exceptions', deployer, {
          ...base,
          original: `sha256:${A}`,
          rebuild: `sha256:${'9'.repeat(64)}`,
        })
      ).status,
    ).toBe(404);
    expect(
      (await post('/v1/rebuild-exceptions', deployer, { ...base, original: 'sha256:nope', rebuild: `sha256:${C}` }))
        .status,
    ).toBe(400);
    expect(
      (
        await post('/v1/rebuild-exceptions', deployer, {
          ...base,
          environment: 'staging',
          original: `sha256:${A}`,
          rebuild: `sha256:${C}`,
        })
      ).status,
    ).toBe(409);
    expect((await post('/v1/rebuild-exceptions/rx_unknown/approvals', approver1)).status).toBe(404);
    expect(
      (await post('/v1/rebuild-exceptions', tester, { ...base, original: `sha256:${A}`, rebuild: `sha256:${C}` }))
        .status,
    ).toBe(403);
  });

  it('lists exceptions newest first, a page at a time', async () => {
    for (const lodash of ['4.17.20', '4.17.19']) {
      const { A, B } = await scenario({ lodash });
      const body = { original: `sha256:${A}`, rebuild: `sha256:${B}`, environment: 'production' };
      expect(
        (await post('/v1/rebuild-exceptions', deployer, { ...body, reason: 'a hotfix of a dependency' })).status,
      ).toBe(201);
    }
    const all = (await get('/v1/rebuild-exceptions?limit=500')).items as Json[];
    expect(all.length).toBeGreaterThan(1);
    const first = await get('/v1/rebuild-exceptions?limit=1');
    expect(first.items.map((x: Json) => x.id)).toEqual([all[0].id]);
    const next = await get(`/v1/rebuild-exceptions?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`);
    expect(next.items.map((x: Json) => x.id)).toEqual([all[1].id]);
    expect((await t.call('GET', '/v1/rebuild-exceptions?cursor=nonsense', { token: auditor })).status).toBe(400);
    expect((await t.call('GET', '/v1/rebuild-exceptions?limit=501', { token: auditor })).status).toBe(400);
  });
});
