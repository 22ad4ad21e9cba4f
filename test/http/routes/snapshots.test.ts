// Runtime snapshots after a promotion story: what really runs, signed and logged, compared with
// promotion by the drift report and shown beside "deployed" in the environment views.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_SNAPSHOT_V1 } from '../../../src/intoto/waybill.ts';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { sha256 } from '../../helpers/statements.ts';
import { type Callers, mintCallers, promotionStory, type Story } from '../../helpers/story.ts';

describe.each(backends)('runtime snapshots on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let story: Story;
  let callers: Callers;
  let reporter: string;
  const hotfix = `sha256:${sha256(randomBytes(16))}`;

  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    callers = await mintCallers(t);
    story = await promotionStory(t, callers);
    reporter = await t.mint(['reporter'], 'https://k8s.example.com/clusters/prod-eu/snapshot');
  });
  afterAll(async () => database.close());

  const snapshot = async (
    environment: string,
    workloads: Array<{ name: string; digest: string }>,
    token = reporter,
  ) => {
    const res = await t.call('POST', `/v1/environments/${environment}/snapshots`, {
      token,
      body: { source: 'kubernetes/prod-eu', observedAt: new Date().toISOString(), workloads },
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const drift = async () => {
    const res = await t.call('GET', '/v1/reports/drift', { token: callers.auditor });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    return (name: string) => body.environments.find((e: Json) => e.name === name);
  };

  it('has no runtime findings and nothing observed before any snapshot', async () => {
    const production = (await drift())('production');
    expect(production.observed).toBeNull();
    expect(production.findings).toEqual([]);
  });

  it('signs and logs a snapshot about the running digests', async () => {
    const promoted = `sha256:${story.promoted}`;
    const r = await snapshot('production', [
      { name: 'prod/app-1/app', digest: promoted },
      { name: 'prod/app-2/app', digest: promoted },
      { name: 'prod/hotfix-1/app', digest: hotfix },
    ]);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({
      environment: 'production',
      source: 'kubernetes/prod-eu',
      reporter: 'https://k8s.example.com/clusters/prod-eu/snapshot',
      digests: [promoted, hotfix].sort(),
    });
    const record = (await (await t.call('GET', `/v1/attestations/${r.body.id}`, { token: reporter })).json()) as Json;
    expect(record.predicateType).toBe(RUNTIME_SNAPSHOT_V1);
    expect(record.environment).toBe('production');
    expect(record.statement.subject.map((s: Json) => `sha256:${s.digest.sha256}`).sort()).toEqual(
      [promoted, hotfix].sort(),
    );
    expect(typeof record.logIndex).toBe('number');
  });

  it('flags a running digest that was never allowed, and not the promoted one', async () => {
    const production = (await drift())('production');
    expect(production.ok).toBe(false);
    expect(production.findings).toEqual([
      expect.objectContaining({
        kind: 'running-without-allow',
        digest: hotfix,
        detail: expect.stringContaining(
          `${hotfix} runs in production (prod/hotfix-1/app) per snapshot ` +
            `${production.observed.snapshotId} (kubernetes/prod-eu, observed`,
        ),
      }),
    ]);
    expect(production.observed).toMatchObject({ source: 'kubernetes/prod-eu', digests: expect.any(Array) });
    expect(production.observed.ageSeconds).toBeGreaterThanOrEqual(0);
  });

  it('flags what was deployed but is not running', async () => {
    // staging's latest deployment is failedStaging; the cluster runs only the promoted digest
    expect(
      (await snapshot('staging', [{ name: 'staging/app-1/app', digest: `sha256:${story.promoted}` }])).status,
    ).toBe(201);
    const staging = (await drift())('staging');
    expect(staging.findings).toEqual([
      expect.objectContaining({
        kind: 'deployed-not-running',
        digest: `sha256:${story.failedStaging}`,
        deploymentId: staging.current.deploymentId,
      }),
    ]);
  });

  it('shows "observed running" beside "deployed" in the environment views', async () => {
    const list = (await (await t.call('GET', '/v1/environments', { token: reporter })).json()) as Json;
    const production = list.items.find((e: Json) => e.name === 'production');
    expect(production.current.digest).toBe(`sha256:${story.promoted}`);
    expect(production.observed.digests).toEqual([`sha256:${story.promoted}`, hotfix].sort());
    expect(list.items.find((e: Json) => e.name === 'dev').observed).toBeNull();
    const latest = await t.call('GET', '/v1/environments/production/snapshots/latest', { token: reporter });
    expect(((await latest.json()) as Json).verified).toBe(true);
    expect((await t.call('GET', '/v1/environments/dev/snapshots/latest', { token: reporter })).status).toBe(404);
  });

  it('refuses bad snapshots with problems', async () => {
    const tag = await snapshot('production', [{ name: 'x', digest: 'ghcr.io/example/app:latest' }]);
    expect(tag.status).toBe(400);
    expect(tag.body.errors[0].path).toBe('/workloads/0/digest');
    expect((await snapshot('production', [])).status).toBe(400);
    expect((await snapshot('qa', [{ name: 'x', digest: hotfix }])).status).toBe(404);
    expect((await snapshot('production', [{ name: 'x', digest: hotfix }], callers.deployer)).status).toBe(403);
    const future = await t.call('POST', '/v1/environments/production/snapshots', {
      token: reporter,
      body: { source: 's', observedAt: '2999-01-01T00:00:00Z', workloads: [{ name: 'x', digest: hotfix }] },
    });
    expect(future.status).toBe(400);
    const limited = await t.call('POST', '/v1/tokens', {
      token: t.deps.config.adminToken ?? (await t.mint(['admin'])),
      body: { subject: 'https://k8s.example.com/dev-only', roles: ['reporter'], environments: ['dev'] },
    });
    const devOnly = ((await limited.json()) as Json).token;
    expect((await snapshot('production', [{ name: 'x', digest: hotfix }], devOnly)).status).toBe(403);
  });
});
