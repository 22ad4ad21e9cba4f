// The promotion story through HTTP: build once, promote many. Then every way it must fail.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../../src/signing/verify.ts';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { sha256 } from '../../helpers/statements.ts';

const ISSUER = 'https://waybill.test';
const COMMIT = `${'c0ffee'.repeat(6)}c0ff`;

const facts = (digest: string, commit = COMMIT) => ({
  subjects: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
  buildType: 'https://example.com/build/v1',
  externalParameters: { repository: 'https://github.com/example/app', ref: 'refs/heads/main' },
  resolvedDependencies: [{ uri: 'git+https://github.com/example/app', digest: { gitCommit: commit } }],
  builder: { id: 'https://ci.example.com/builder/v1' },
});
const testResult = (digest: string, result: 'PASSED' | 'FAILED') => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
  predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
  predicate: {
    result,
    configuration: [],
    passedTests: result === 'PASSED' ? ['all'] : [],
    failedTests: result === 'FAILED' ? ['e2e'] : [],
  },
});

describe.each(backends)('promotion on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let builder: string, tester: string, deployer: string, auditor: string;
  let root: unknown;

  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    builder = await t.mint(['builder'], 'https://ci.example.com/pipelines/build');
    tester = await t.mint(['tester'], 'https://ci.example.com/pipelines/test');
    deployer = await t.mint(['deployer'], 'https://cd.example.com/deployer');
    auditor = await t.mint(['auditor'], 'https://audit.example.com/');
    root = await (await t.call('GET', '/v1/trust/root')).json();
  });
  afterAll(async () => database.close());

  const post = async (route: string, token: string, body: unknown) => {
    const res = await t.call('POST', route, { token, body });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const verdict = (digest: string, environment: string) =>
    post('/v1/verdicts', deployer, { digest: `sha256:${digest}`, environment });
  const deploy = (digest: string, environment: string, verdictId: string) =>
    post('/v1/deployments', deployer, { digest: `sha256:${digest}`, environment, verdictId });
  const promote = async (digest: string, environment: string) => {
    const v = await verdict(digest, environment);
    expect(v.status).toBe(200);
    expect(v.body.decision, JSON.stringify(v.body.reasons)).toBe('allow');
    const d = await deploy(digest, environment, v.body.id);
    expect(d.status).toBe(201);
    return { verdict: v.body, deployment: d.body };
  };
  const tested = async (digest: string, environment: string, result: 'PASSED' | 'FAILED') =>
    expect(
      (await post('/v1/attestations', tester, { environment, statement: testResult(digest, result) })).status,
    ).toBe(201);

  it('builds once and promotes the same digest dev -> staging -> production, with one provable chain', async () => {
    const A = sha256(randomBytes(16));
    expect((await post('/v1/provenance', builder, facts(A))).status).toBe(201);
    const dev = await promote(A, 'dev');
    await tested(A, 'dev', 'PASSED');
    const staging = await promote(A, 'staging');
    await tested(A, 'staging', 'PASSED');
    const prod = await promote(A, 'production');

    // the production VSA cites the staging deployment and the evidence it used
    const vsa = JSON.parse(Buffer.from(prod.verdict.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(vsa.predicateType).toBe('https://slsa.dev/verification_summary/v1');
    expect(vsa.predicate.verifier.id).toBe(ISSUER);
    expect(vsa.predicate.resourceUri).toBe(`${ISSUER}/environments/production`);
    expect(vsa.predicate.verificationResult).toBe('PASSED');
    expect(vsa.predicate.policy.uri).toBe(`${ISSUER}/policies/production.yaml`);
    expect(vsa.predicate.policy.digest.sha256).toMatch(/^[0-9a-f]{64}$/);
    const cited = vsa.predicate.inputAttestations.map((a: Json) => a.digest.sha256);
    expect(cited).toContain(staging.deployment.attestationId);
    expect(prod.verdict.rules.every((r: Json) => r.satisfied)).toBe(true);
    expect(Date.parse(prod.verdict.expiresAt) - Date.now()).toBeGreaterThan(14 * 60_000);

    const envs = (await (await t.call('GET', '/v1/environments', { token: auditor })).json()) as Json;
    expect(envs.items.map((e: Json) => e.name)).toEqual(['dev', 'staging', 'production']);
    expect(envs.items.find((e: Json) => e.name === 'production').current.digest).toBe(`sha256:${A}`);

    const env = (await (await t.call('GET', '/v1/environments/production', { token: auditor })).json()) as Json;
    expect(env.current.deploymentId).toBe(prod.deployment.id);
    expect(env.chain.digest).toBe(`sha256:${A}`);
    expect(env.chain.provenance).toHaveLength(1);
    expect(env.chain.testResults.dev).toHaveLength(1);
    expect(env.chain.testResults.staging).toHaveLength(1);
    expect(env.chain.deployments.map((d: Json) => d.environment)).toEqual(['dev', 'staging', 'production']);
    expect(env.chain.verdicts.map((v: Json) => v.environment)).toEqual(['dev', 'staging', 'production']);
    expect(env.history[0].id).toBe(prod.deployment.id);

    // every bundle in the chain verifies offline
    for (const a of env.chain.attestations) {
      const id =
        a.signer.subject === `${ISSUER}/verifier`
          ? {}
          : { identity: { subjectAlternativeName: a.signer.subject, issuer: ISSUER } };
      await expect(verifyBundle(a.bundle, { trustedRoot: root, ...id }), a.predicateType).resolves.toBeDefined();
    }
    expect(env.chain.attestations.length).toBeGreaterThanOrEqual(1 + 2 + 3 + 3); // provenance, tests, VSAs, deployments
    for (const b of [dev, staging, prod]) {
      await expect(
        verifyBundle(b.deployment.bundle, {
          trustedRoot: root,
          identity: { subjectAlternativeName: 'https://cd.example.com/deployer', issuer: ISSUER },
        }),
      ).resolves.toBeDefined();
      await expect(
        verifyBundle(b.verdict.bundle, {
          trustedRoot: root,
          identity: { subjectAlternativeName: `${ISSUER}/verifier`, issuer: ISSUER },
        }),
      ).resolves.toBeDefined();
    }

    const packRes = await t.call('GET', '/v1/environments/production/evidence', { token: auditor });
    expect(packRes.status).toBe(200);
    expect(packRes.headers.get('content-type')).toBe('application/vnd.waybill.evidence+json;version=0.1');
    const pack = (await packRes.json()) as Json;
    expect(pack.manifest.digest).toBe(`sha256:${A}`);
    expect(pack.manifest.steps.map((s: Json) => s.environment)).toEqual(['dev', 'staging', 'production']);
    const inPack = new Set(pack.attestations.map((a: Json) => a.id));
    for (const s of pack.manifest.steps) expect(inPack.has(s.verdict) && inPack.has(s.deployment)).toBe(true);
    expect(pack.policies.map((p: Json) => p.uri)).toEqual(
      expect.arrayContaining([`${ISSUER}/policies/production.yaml`]),
    );
    expect((await t.call('GET', '/v1/environments/production/evidence', { token: deployer })).status).toBe(403);

    const art = (await (await t.call('GET', `/v1/artifacts/sha256:${A}`, { token: auditor })).json()) as Json;
    expect(art.verdicts).toHaveLength(3);
    expect(art.deployments).toHaveLength(3);
  });

  describe('denies, each with a clear reason', () => {
    const reasonsOf = (v: Json) => (v.reasons as string[]).join(' | ');

    it("a rebuild of the same commit (new digest) has none of the original's evidence", async () => {
      const A = sha256(randomBytes(16));
      const B = sha256(randomBytes(16));
      await post('/v1/provenance', builder, facts(A));
      await promote(A, 'dev');
      await tested(A, 'dev', 'PASSED');
      await promote(A, 'staging');
      await tested(A, 'staging', 'PASSED');
      expect((await post('/v1/provenance', builder, facts(B))).status).toBe(201); // same source, new digest
      const v = await verdict(B, 'production');
      expect(v.body.decision).toBe('deny');
      expect(reasonsOf(v.body)).toMatch(/staging/);
      const vsa = JSON.parse(Buffer.from(v.body.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      expect(vsa.predicate.verificationResult).toBe('FAILED');
      expect(vsa.predicate.verifiedLevels).toEqual(['FAILED']);
    });

    it('a digest with a FAILED staging test, even beside a PASSED one', async () => {
      const A = sha256(randomBytes(16));
      await post('/v1/provenance', builder, facts(A));
      await promote(A, 'dev');
      await tested(A, 'dev', 'PASSED');
      await promote(A, 'staging');
      await tested(A, 'staging', 'PASSED');
      await tested(A, 'staging', 'FAILED');
      const v = await verdict(A, 'production');
      expect(v.body.decision).toBe('deny');
      expect(v.body.rules.find((r: Json) => r.name === 'no-failed-staging-tests').satisfied).toBe(false);
    });

    it('evidence about another digest does not count', async () => {
      const A = sha256(randomBytes(16));
      const other = sha256(randomBytes(16));
      await post('/v1/provenance', builder, facts(A));
      await promote(A, 'dev');
      await tested(other, 'dev', 'PASSED');
      const v = await verdict(A, 'staging');
      expect(v.body.decision).toBe('deny');
      expect(reasonsOf(v.body)).toMatch(/dev/);
    });

    it('production before staging', async () => {
      const A = sha256(randomBytes(16));
      await post('/v1/provenance', builder, facts(A));
      await promote(A, 'dev');
      await tested(A, 'dev', 'PASSED');
      await tested(A, 'staging', 'PASSED');
      const v = await verdict(A, 'production');
      expect(v.body.decision).toBe('deny');
      expect(v.body.rules.find((r: Json) => r.name === 'deployed-to-staging').satisfied).toBe(false);
    });

    it('deploying with a deny, a mismatched or an unknown verdict is refused and records nothing', async () => {
      const A = sha256(randomBytes(16));
      const B = sha256(randomBytes(16));
      await post('/v1/provenance', builder, facts(A));
      const deny = await verdict(A, 'staging');
      expect(deny.body.decision).toBe('deny');
      const before = (await (await t.call('GET', '/v1/environments/staging', { token: auditor })).json()) as Json;
      expect((await deploy(A, 'staging', deny.body.id)).status).toBe(409);
      const allowDev = await verdict(A, 'dev');
      expect(allowDev.body.decision).toBe('allow');
      expect((await deploy(B, 'dev', allowDev.body.id)).status).toBe(409); // another digest
      expect((await deploy(A, 'staging', allowDev.body.id)).status).toBe(409); // another environment
      expect((await deploy(A, 'dev', 'vd_unknown')).status).toBe(404);
      const after = (await (await t.call('GET', '/v1/environments/staging', { token: auditor })).json()) as Json;
      expect(after.history).toEqual(before.history);
      expect(
        (await t.call('POST', '/v1/verdicts', { token: tester, body: { digest: `sha256:${A}`, environment: 'dev' } }))
          .status,
      ).toBe(403);
      expect(
        (
          await t.call('POST', '/v1/verdicts', {
            token: deployer,
            body: { digest: `sha256:${A}`, environment: 'moon' },
          })
        ).status,
      ).toBe(400);
      expect(
        (await t.call('POST', '/v1/verdicts', { token: deployer, body: { digest: 'sha256:xyz', environment: 'dev' } }))
          .status,
      ).toBe(400);
    });
  });
});

describe.each(backends.filter((b) => b.name === 'pglite'))('policy-specific denies ($name)', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let builder: string, deployer: string;
  let clock: number | undefined;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-pol-'));
    writeFileSync(
      path.join(dir, 'strict.yaml'),
      [
        'environment: strict',
        'verdictTtl: 1m',
        'rules:',
        '  - name: trusted-builder',
        '    predicateType: https://slsa.dev/provenance/v1',
        '    signer: { issuer: $self, subject: "^https://ci\\\\.example\\\\.com/trusted/.*$" }',
        '    maxAge: 1h',
      ].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'broken.yaml'),
      [
        'environment: broken',
        'rules:',
        '  - name: cel-errors-at-runtime',
        '    predicateType: https://slsa.dev/provenance/v1',
        '    where: predicate.nope.deeper == 1',
      ].join('\n'),
    );
    database = await backend.open();
    t = await testApp(database, { WAYBILL_POLICIES_DIR: dir }, { now: () => new Date(clock ?? Date.now()) });
    builder = await t.mint(['builder'], 'https://ci.example.com/untrusted/job');
    deployer = await t.mint(['deployer'], 'https://cd.example.com/deployer');
  });
  afterAll(async () => database.close());

  const verdict = async (digest: string, environment: string) =>
    (await (
      await t.call('POST', '/v1/verdicts', { token: deployer, body: { digest: `sha256:${digest}`, environment } })
    ).json()) as Json;

  it('evidence signed by an identity the rule does not accept', async () => {
    const A = sha256(randomBytes(16));
    await t.call('POST', '/v1/provenance', { token: builder, body: facts(A) });
    const v = await verdict(A, 'strict');
    expect(v.decision).toBe('deny');
    expect(v.reasons.join(' ')).toMatch(/untrusted|does not match/);
  });

  it('a policy whose CEL errors at evaluation denies (fail closed)', async () => {
    const A = sha256(randomBytes(16));
    await t.call('POST', '/v1/provenance', { token: builder, body: facts(A) });
    const v = await verdict(A, 'broken');
    expect(v.decision).toBe('deny');
    expect(v.rules[0].satisfied).toBe(false);
    expect(v.rules[0].reason).toMatch(/nope|no such|error/i);
  });

  it('evidence older than maxAge does not count', async () => {
    const trusted = await t.mint(['builder'], 'https://ci.example.com/trusted/job');
    const A = sha256(randomBytes(16));
    await t.call('POST', '/v1/provenance', { token: trusted, body: facts(A) });
    expect((await verdict(A, 'strict')).decision).toBe('allow');
    clock = Date.now() + 2 * 3_600_000; // two hours later, the same evidence is too old
    try {
      const v = await verdict(A, 'strict');
      expect(v.decision).toBe('deny');
      expect(v.reasons.join(' ')).toMatch(/older than 1h/);
    } finally {
      clock = undefined;
    }
  });

  it('an expired allow verdict cannot be used for a deployment', async () => {
    const trusted = await t.mint(['builder'], 'https://ci.example.com/trusted/job2');
    const A = sha256(randomBytes(16));
    await t.call('POST', '/v1/provenance', { token: trusted, body: facts(A) });
    const v = await verdict(A, 'strict');
    expect(v.decision).toBe('allow');
    clock = Date.now() + 2 * 60_000; // verdictTtl is 1m
    try {
      const res = await t.call('POST', '/v1/deployments', {
        token: deployer,
        body: { digest: `sha256:${A}`, environment: 'strict', verdictId: v.id },
      });
      expect(res.status).toBe(409);
      expect(((await res.json()) as Json).detail).toMatch(/expired/);
    } finally {
      clock = undefined;
    }
    expect((await t.deps.deployments.current('strict')) ?? null).toBeNull();
  });
});
