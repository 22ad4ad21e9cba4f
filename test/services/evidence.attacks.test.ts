// Issue 10: a verdict that cannot be fooled. Each finding of the attack run, as a story that
// failed before the fix: evidence floods, environment spoofing on ingestion, rows that are not
// signed deciding a verdict, provenance claims not bound to the caller, an idempotency race,
// identities that must not be minted, and the bootstrap admin token.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import type { Json } from '../helpers/json.ts';
import { sha256 } from '../helpers/statements.ts';
import { buildFacts, type Callers, mintCallers, pipeline, promotionStory, type Story } from '../helpers/story.ts';

const ADMIN = 'b'.repeat(40);
const FIX = fileURLToPath(new URL('../fixtures/external/', import.meta.url));
const externalBundle = (name: string) => JSON.parse(readFileSync(FIX + name, 'utf8')) as Json;
const manifest = JSON.parse(readFileSync(`${FIX}manifest.json`, 'utf8')) as { keyHint: string };

describe.each(backends)('verdicts that cannot be fooled, on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let story: Story;
  let p: ReturnType<typeof pipeline>;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database, {
      WAYBILL_ADMIN_TOKEN: ADMIN,
      WAYBILL_EXTERNAL_TRUST_ROOTS: `${FIX}trusted_root.json`,
      WAYBILL_EXTERNAL_IDENTITIES: `${FIX}identities.json`,
      WAYBILL_EXTERNAL_KEYS: `${manifest.keyHint}=${FIX}signing-key.pub.pem`,
    });
    c = await mintCallers(t);
    p = pipeline(t, c);
    story = await promotionStory(t, c);
  }, 120_000);
  afterAll(async () => database.close());

  const logSize = async () => (await t.deps.log.checkpoint()).treeSize;
  const mintVia = async (body: Json) => {
    const res = await t.call('POST', '/v1/tokens', { token: ADMIN, body });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('sees all the evidence: 10,100 other attestations about a digest do not hide its FAILED test', async () => {
    const subject = [{ name: 'ghcr.io/example/app', digest: { sha256: story.failedStaging } }];
    const spdx = (i: number) => ({
      _type: 'https://in-toto.io/Statement/v1' as const,
      subject,
      predicateType: 'https://spdx.dev/Document',
      predicate: { spdxVersion: 'SPDX-2.3', name: `flood-${i}` },
    });
    for (let i = 0; i < 10_100; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, 10_100 - i) }, (_, k) =>
          t.deps.attest.sign(spdx(i + k), 'https://ci.example.com/pipelines/flood'),
        ),
      );
    }
    const v = await p.verdict(story.failedStaging, 'production');
    expect(v.body.decision).toBe('deny');
    expect(v.body.reasons.join('\n')).toMatch(/no-failed-staging-tests: found .*test-result/);

    // The artifact view pages instead of answering tens of megabytes.
    const res = await t.call('GET', `/v1/artifacts/sha256:${story.failedStaging}`, { token: c.auditor });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeLessThan(1_000_000);
    const page = JSON.parse(text) as Json;
    expect(page.attestations.length).toBeLessThanOrEqual(100);
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = await t.call(
      'GET',
      `/v1/artifacts/sha256:${story.failedStaging}?cursor=${encodeURIComponent(page.nextCursor)}&limit=500`,
      { token: c.auditor },
    );
    const second = (await next.json()) as Json;
    expect(second.attestations.length).toBe(500);
    expect(second.attestations[0].logIndex).toBeLessThan(page.attestations.at(-1).logIndex);
    const big = await t.call('GET', `/v1/artifacts/sha256:${story.failedStaging}?limit=100000`, { token: c.auditor });
    expect(big.status).toBe(400);
  }, 180_000);

  it('binds an ingested test result to the environment its statement names; only testers ingest them', async () => {
    // A test result signed by an external CI for this waybill's dev environment.
    const testResult = externalBundle('dsse-v0.2-chain-intoto.json');
    const builderOnly = await t.mint(['builder'], 'https://ci.example.com/pipelines/build-only');
    const asBuilder = await t.call('POST', '/v1/bundles', { token: builderOnly, body: { bundle: testResult } });
    expect(asBuilder.status).toBe(403);

    const spoofed = await t.call('POST', '/v1/bundles', {
      token: c.tester,
      body: { bundle: testResult, environment: 'staging' },
    });
    expect(spoofed.status).toBe(422);
    expect(((await spoofed.json()) as Json).detail).toBe('the signed statement names environment dev, not staging');
    // Evidence that names no environment of this waybill cannot be made to count for one.
    const provenance = await t.call('POST', '/v1/bundles', {
      token: c.builder,
      body: { bundle: externalBundle('dsse-v0.3-certificate.json'), environment: 'staging' },
    });
    expect(provenance.status).toBe(422);
    expect(((await provenance.json()) as Json).detail).toMatch(/names no environment of this waybill/);

    const bound = await t.call('POST', '/v1/bundles', { token: c.tester, body: { bundle: testResult } });
    expect(bound.status).toBe(201);
    expect(((await bound.json()) as Json).environment).toBe('dev');
  });

  it('binds provenance claims to the token: a builder limited to one builder.id cannot claim another', async () => {
    const teamA = 'https://ci.example.com/team-a/builder';
    const minted = await mintVia({
      subject: 'https://ci.example.com/team-a',
      roles: ['builder'],
      builderIds: [teamA, '^https://ci\\.example\\.com/team-a/runners/[a-z0-9-]+$'],
    });
    expect(minted.status, JSON.stringify(minted.body)).toBe(201);
    expect(minted.body.builderIds).toEqual([teamA, '^https://ci\\.example\\.com/team-a/runners/[a-z0-9-]+$']);
    const sign = (builderId: string) =>
      t.call('POST', '/v1/provenance', {
        token: minted.body.token,
        body: buildFacts(sha256(builderId), { builderId }),
      });
    expect((await sign(teamA)).status).toBe(201);
    expect((await sign('https://ci.example.com/team-a/runners/r-1')).status).toBe(201);
    const other = await sign(`https://ci.example.com/team-b/builder`);
    expect(other.status).toBe(403);
    expect(((await other.json()) as Json).detail).toMatch(/team-b\/builder/);
    // A complete statement is held to the same rule.
    const statement = await t.call('POST', '/v1/provenance', {
      token: minted.body.token,
      body: {
        statement: {
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'x', digest: { sha256: sha256('x') } }],
          predicateType: 'https://slsa.dev/provenance/v1',
          predicate: {
            buildDefinition: { buildType: 'https://example.com/b', externalParameters: {} },
            runDetails: { builder: { id: 'https://ci.example.com/team-b/builder' } },
          },
        },
      },
    });
    expect(statement.status).toBe(403);
    // A pattern that is not anchored is refused when the token is minted.
    expect((await mintVia({ subject: 'https://x.example/a', roles: ['builder'], builderIds: ['team-a'] })).status).toBe(
      400,
    );
  });

  it('limits tokens to environments: no dev results from a staging tester, no production verdict for dev', async () => {
    const stagingTester = await mintVia({
      subject: 'https://ci.example.com/staging-tests',
      roles: ['tester'],
      environments: ['staging'],
    });
    expect(stagingTester.status).toBe(201);
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'ghcr.io/example/app', digest: { sha256: story.notInDev } }],
      predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
      predicate: { result: 'PASSED', configuration: [], passedTests: ['a'], failedTests: [] },
    };
    const dev = await t.call('POST', '/v1/attestations', {
      token: stagingTester.body.token,
      body: { environment: 'dev', statement },
    });
    expect(dev.status).toBe(403);
    const staging = await t.call('POST', '/v1/attestations', {
      token: stagingTester.body.token,
      body: { environment: 'staging', statement },
    });
    expect(staging.status).toBe(201);

    const devDeployer = await mintVia({
      subject: 'https://cd.example.com/dev',
      roles: ['deployer'],
      environments: ['dev'],
    });
    const prod = await t.call('POST', '/v1/verdicts', {
      token: devDeployer.body.token,
      body: { digest: `sha256:${story.promoted}`, environment: 'production' },
    });
    expect(prod.status).toBe(403);
    expect(
      (await mintVia({ subject: 'https://x.example/b', roles: ['tester'], environments: ['nowhere'] })).status,
    ).toBe(400);
  });

  it('reserves a single Idempotency-Key before signing: 16 racing bodies store one attestation', async () => {
    const before = await logSize();
    const key = `race-${sha256('race').slice(0, 12)}`;
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        t.call('POST', '/v1/provenance', {
          token: c.builder,
          body: buildFacts(sha256(`race-${i}`)),
          headers: { 'idempotency-key': key },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(15);
    expect(await logSize()).toBe(before + 1);
  });

  it('honours Idempotency-Key on every POST', async () => {
    const key = (name: string) => ({ 'idempotency-key': `every-post-${name}` });
    const twice = async (route: string, token: string, body: Json, otherBody: Json, name: string) => {
      const a = await t.call('POST', route, { token, body, headers: key(name) });
      const b = await t.call('POST', route, { token, body, headers: key(name) });
      const other = await t.call('POST', route, { token, body: otherBody, headers: key(name) });
      expect(other.status, `${route} with another body`).toBe(409);
      return [a, b] as const;
    };
    const [v1, v2] = await twice(
      '/v1/verdicts',
      c.deployer,
      { digest: `sha256:${story.promoted}`, environment: 'dev' },
      { digest: `sha256:${story.promoted}`, environment: 'staging' },
      'verdict',
    );
    expect(v1.status).toBe(200);
    const verdictId = ((await v1.json()) as Json).id;
    expect(((await v2.json()) as Json).id).toBe(verdictId);
    const [d1, d2] = await twice(
      '/v1/deployments',
      c.deployer,
      { digest: `sha256:${story.promoted}`, environment: 'dev', verdictId },
      { digest: `sha256:${story.promoted}`, environment: 'staging', verdictId },
      'deploy',
    );
    expect(d1.status).toBe(201);
    expect(((await d2.json()) as Json).id).toBe(((await d1.json()) as Json).id);
    const [k1, k2] = await twice(
      '/v1/tokens',
      ADMIN,
      { subject: 'https://ci.example.com/idem', roles: ['tester'] },
      { subject: 'https://ci.example.com/idem', roles: ['builder'] },
      'tok',
    );
    expect(k1.status).toBe(201);
    const first = (await k1.json()) as Json;
    const replay = (await k2.json()) as Json;
    expect(replay.id).toBe(first.id);
    // A secret is shown once: the replay names the token but does not carry it again.
    expect(first.token).toMatch(/^wb_/);
    expect(replay.token).toBeUndefined();
  });

  it('never mints a token for waybill’s own identities', async () => {
    for (const subject of ['https://waybill.test/verifier', 'https://waybill.test/callers/x', 'https://waybill.test']) {
      const res = await mintVia({ subject, roles: ['builder'] });
      expect(res.status, subject).toBe(400);
      expect(res.body.detail).toMatch(/reserved/);
    }
  });

  it('lists the bootstrap admin token and revokes it', async () => {
    const list = await t.call('GET', '/v1/tokens', { token: ADMIN });
    const items = ((await list.json()) as Json).items as Json[];
    const bootstrap = items.find((i) => i.subject === 'https://waybill.test/callers/bootstrap-admin');
    expect(bootstrap).toMatchObject({ roles: ['admin'], revokedAt: null });
    const other = await t.mint(['admin'], 'https://ops.example.com/admin');
    expect((await t.call('DELETE', `/v1/tokens/${bootstrap.id}`, { token: other })).status).toBe(204);
    expect((await t.call('GET', '/v1/tokens', { token: ADMIN })).status).toBe(401);
  });
});
