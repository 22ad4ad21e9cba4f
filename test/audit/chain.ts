// A full promotion chain built through HTTP, as test/http/routes/rebuilds.test.ts does: an original A
// promoted dev -> staging -> production with tests, a rebuild B promoted to production under an
// approved exception, and two other digests for the tamper tests. Then the evidence packs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import type { Json } from '../helpers/json.ts';
import { sha256 } from '../helpers/statements.ts';

const POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));

export const ISSUER = 'https://waybill.test';

// An independent Sigstore-like instance (test/fixtures/external) whose bundles waybill ingests.
const FIX = fileURLToPath(new URL('../fixtures/external/', import.meta.url));
const external = JSON.parse(readFileSync(`${FIX}manifest.json`, 'utf8')) as {
  keyHint: string;
  digests: { testResult: string };
};
const externalBundle = (name: string) => JSON.parse(readFileSync(FIX + name, 'utf8')) as unknown;

function facts(digest: string, opts: { commit: string; lodash?: string }) {
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
        digest: { sha512: (sha256(`lodash${opts.lodash ?? '4.17.20'}`) + sha256('x')).slice(0, 128) },
      },
      {
        uri: 'pkg:docker/node@20?repository_url=docker.io/library',
        digest: { sha256: sha256('node20-a') },
        annotations: { role: 'base-image' },
      },
    ],
    builder: {
      id: 'https://github.com/example/shop/.github/workflows/release.yml@refs/heads/main',
      version: { runner: '2.319.1' },
    },
    metadata: {
      invocationId: `https://github.com/example/shop/actions/runs/${randomBytes(3).toString('hex')}/attempts/1`,
    },
  };
}

const testResult = (digest: string, result = 'PASSED') => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'ghcr.io/example/shop', digest: { sha256: digest } }],
  predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
  predicate: { result, configuration: [], passedTests: ['e2e'], failedTests: [] },
});

export interface Chain {
  t: Awaited<ReturnType<typeof testApp>>;
  /** The trusted root the auditor fetched once (GET /v1/trust/root). */
  root: Json;
  auditor: string;
  A: string;
  B: string;
  /** Another digest (another source), in dev: its bundles are "about another digest". */
  C: string;
  /** A digest whose dev deployment is signed with a deployedAt before its verdict's timeVerified. */
  E: string;
  /** A digest whose dev tests were signed outside waybill (an ingested bundle the staging verdict cites). */
  F: string;
  /** GET /v1/environments/production/evidence: B, under the exception. */
  productionPack: Json;
  /** GET /v1/artifacts/sha256:A/evidence: A's dev -> staging -> production chain. */
  packA: Json;
  /** C's pack, fetched at the same checkpoint as packA. */
  packC: Json;
  packE: Json;
  packF: Json;
  exceptionAttestationId: string;
}

/**
 * The shipped policies, except that staging counts dev test results from any verified signer (F's
 * come from an external CI): what an operator who trusts that CI would write.
 */
function policiesTrustingExternalTests(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'waybill-chain-policies-'));
  for (const f of readdirSync(POLICIES).filter((n) => n.endsWith('.yaml'))) {
    let text = readFileSync(path.join(POLICIES, f), 'utf8');
    if (f === 'staging.yaml')
      text = text.replace(/\n( *)signer:\n\1 {2}issuer: \$self\n( *)environment: dev/, '\n$2environment: dev');
    writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

export async function buildChain(database: Database): Promise<Chain> {
  let clock: number | undefined;
  const t = await testApp(
    database,
    {
      WAYBILL_POLICIES_DIR: policiesTrustingExternalTests(),
      WAYBILL_EXTERNAL_TRUST_ROOTS: `${FIX}trusted_root.json`,
      WAYBILL_EXTERNAL_IDENTITIES: `${FIX}identities.json`,
      WAYBILL_EXTERNAL_KEYS: `${external.keyHint}=${FIX}signing-key.pub.pem`,
    },
    { now: () => new Date(clock ?? Date.now()) },
  );
  const builder = await t.mint(['builder'], 'https://ci.example.com/build');
  const tester = await t.mint(['tester'], 'https://ci.example.com/test');
  const deployer = await t.mint(['deployer'], 'https://people.example.com/dana');
  const approver1 = await t.mint(['approver'], 'https://people.example.com/alex');
  const approver2 = await t.mint(['approver'], 'https://people.example.com/sam');
  const auditor = await t.mint(['auditor'], 'https://audit.example.com/');
  const root = await (await t.call('GET', '/v1/trust/root')).json();

  const post = async (route: string, token: string, body?: unknown) => {
    const res = await t.call('POST', route, { token, ...(body === undefined ? {} : { body }) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const promote = async (digest: string, env: string) => {
    const v = await post('/v1/verdicts', deployer, { digest: `sha256:${digest}`, environment: env });
    expect(v.body.decision, JSON.stringify(v.body.reasons)).toBe('allow');
    const d = await post('/v1/deployments', deployer, {
      digest: `sha256:${digest}`,
      environment: env,
      verdictId: v.body.id,
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
  };
  const tested = async (digest: string, env: string) =>
    expect((await post('/v1/attestations', tester, { environment: env, statement: testResult(digest) })).status).toBe(
      201,
    );

  // A: built once, promoted dev -> staging -> production.
  const commit = randomBytes(20).toString('hex');
  const A = sha256(randomBytes(16));
  expect((await post('/v1/provenance', builder, facts(A, { commit }))).status).toBe(201);
  await promote(A, 'dev');
  await tested(A, 'dev');
  await promote(A, 'staging');
  await tested(A, 'staging');
  await promote(A, 'production');

  // B: a rebuild of A (same source, lodash patched), to production under an approved exception.
  const B = sha256(randomBytes(16));
  expect((await post('/v1/provenance', builder, facts(B, { commit, lodash: '4.17.21' }))).status).toBe(201);
  const req = await post('/v1/rebuild-exceptions', deployer, {
    original: `sha256:${A}`,
    rebuild: `sha256:${B}`,
    environment: 'production',
    reason: 'hotfix: lodash prototype-pollution patch, same source commit',
    ticket: 'SEC-1234',
    expiresIn: '1d',
  });
  expect(req.status, JSON.stringify(req.body)).toBe(201);
  await post(`/v1/rebuild-exceptions/${req.body.id}/approvals`, approver1);
  const approved = await post(`/v1/rebuild-exceptions/${req.body.id}/approvals`, approver2);
  expect(approved.body.status).toBe('approved');
  await tested(B, 'staging'); // production requires the rebuild's own PASSED test (own-tests)
  await promote(B, 'production');

  // C: another source entirely, in dev.
  const C = sha256(randomBytes(16));
  expect((await post('/v1/provenance', builder, facts(C, { commit: randomBytes(20).toString('hex') }))).status).toBe(
    201,
  );
  await promote(C, 'dev');
  await tested(C, 'dev');

  // E: its deployment claims a time before its verdict's (the clock is moved back in between).
  const E = sha256(randomBytes(16));
  expect((await post('/v1/provenance', builder, facts(E, { commit: randomBytes(20).toString('hex') }))).status).toBe(
    201,
  );
  const base = Date.now();
  clock = base + 5 * 60_000;
  const v = await post('/v1/verdicts', deployer, { digest: `sha256:${E}`, environment: 'dev' });
  expect(v.body.decision).toBe('allow');
  clock = base + 60_000;
  expect(
    (await post('/v1/deployments', deployer, { digest: `sha256:${E}`, environment: 'dev', verdictId: v.body.id }))
      .status,
  ).toBe(201);
  clock = undefined;

  // F: built here, tested by an external CI whose signed test result waybill ingests into dev.
  const F = external.digests.testResult;
  expect((await post('/v1/provenance', builder, facts(F, { commit: randomBytes(20).toString('hex') }))).status).toBe(
    201,
  );
  await promote(F, 'dev');
  const ingested = await post('/v1/bundles', tester, {
    bundle: externalBundle('dsse-v0.2-chain-intoto.json'),
    environment: 'dev',
  });
  expect(ingested.status, JSON.stringify(ingested.body)).toBe(201);
  await promote(F, 'staging');

  // The packs, with no signing in between: they share one checkpoint.
  const get = async (route: string) => {
    const res = await t.call('GET', route, { token: auditor });
    expect(res.status, route).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.waybill\.evidence\+json/);
    return (await res.json()) as Json;
  };
  const productionPack = await get('/v1/environments/production/evidence');
  const packA = await get(`/v1/artifacts/sha256:${A}/evidence`);
  const packC = await get(`/v1/artifacts/sha256:${C}/evidence`);
  const packE = await get(`/v1/artifacts/sha256:${E}/evidence`);
  const packF = await get(`/v1/artifacts/sha256:${F}/evidence`);
  return {
    t,
    root,
    auditor,
    A,
    B,
    C,
    E,
    F,
    productionPack,
    packA,
    packC,
    packE,
    packF,
    exceptionAttestationId: approved.body.attestationId,
  };
}
