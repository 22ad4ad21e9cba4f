// Policies through HTTP: the history of loaded files (GET /v1/policies) and replay of candidate
// files over past verdicts (POST /v1/policies/replay).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/storage/database.ts';
import { sha256hex } from '../../../src/util/encoding.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { type Callers, mintCallers, pipeline, promotionStory, type Story } from '../../helpers/story.ts';

const shipped = (name: string) => readFileSync(path.join('policies', name), 'utf8');
const production = shipped('production.yaml');
// Stricter: staging results count only from a QA pipeline nobody in the story uses.
const stricter = production.replace(
  '    environment: staging\n    where: predicate.result == "PASSED"',
  '    environment: staging\n    where: predicate.result == "PASSED" && signer.subject.endsWith("/qa")',
);
// Looser: a FAILED staging result no longer keeps a digest out.
const looser =
  production.slice(0, production.indexOf('  - name: no-failed-staging-tests')) +
  production.slice(production.indexOf('# A rebuild'));

describe.each(backends)('policies on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let story: Story;
  let since: string;
  let failedDeny: Json;
  let promotedAllow: string;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    c = await mintCallers(t);
    since = new Date(Date.now() - 1000).toISOString();
    story = await promotionStory(t, c);
    const p = pipeline(t, c);
    failedDeny = (await p.verdict(story.failedStaging, 'production')).body;
    const verdicts = (await (
      await t.call('GET', `/v1/artifacts/sha256:${story.promoted}`, { token: c.auditor })
    ).json()) as Json;
    promotedAllow = verdicts.verdicts.find((v: Json) => v.environment === 'production').id;
  });
  afterAll(async () => database.close());

  const replay = async (body: unknown, token = c.auditor) => {
    const res = await t.call('POST', '/v1/policies/replay', { token, body });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('lists the files in force and keeps every version loaded before', async () => {
    const res = await t.call('GET', '/v1/policies', { token: c.deployer });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.current.map((p: Json) => [p.environment, p.file, p.after])).toEqual([
      ['dev', 'dev.yaml', null],
      ['staging', 'staging.yaml', 'dev'],
      ['production', 'production.yaml', 'staging'],
    ]);
    expect(body.current[2].sha256).toBe(sha256hex(Buffer.from(production)));
    expect(body.history.every((h: Json) => h.current && h.replacedAt === null)).toBe(true);
    expect((await t.call('GET', '/v1/policies')).status).toBe(401);

    // A restart with a changed production file: both versions are listed, the old one replaced.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'waybill-policies-'));
    for (const f of ['dev.yaml', 'staging.yaml']) writeFileSync(path.join(dir, f), shipped(f));
    writeFileSync(path.join(dir, 'production.yaml'), stricter);
    const restarted = await testApp(database, { WAYBILL_POLICIES_DIR: dir });
    const token = await restarted.mint(['auditor'], 'https://audit.example.com/');
    const after = (await (await restarted.call('GET', '/v1/policies', { token })).json()) as Json;
    const versions = after.history.filter((h: Json) => h.environment === 'production');
    expect(versions.map((v: Json) => [v.sha256, v.current])).toEqual([
      [sha256hex(Buffer.from(production)), false],
      [sha256hex(Buffer.from(stricter)), true],
    ]);
    expect(versions[0].replacedAt).toBe(versions[1].firstSeen);
    expect(after.history.filter((h: Json) => h.environment === 'dev')).toHaveLength(1);
  });

  it('replays a stricter production rule: exactly the production allow flips, with its rule', async () => {
    const r = await replay({ files: { 'production.yaml': stricter }, since });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.environments).toHaveLength(1);
    const env = r.body.environments[0];
    expect(env).toMatchObject({ environment: 'production', verdicts: 2, unchanged: 1, denyToAllow: [] });
    expect(env.policy.sha256).toBe(sha256hex(Buffer.from(stricter)));
    expect(env.allowToDeny).toHaveLength(1);
    expect(env.allowToDeny[0]).toMatchObject({
      verdictId: promotedAllow,
      digest: `sha256:${story.promoted}`,
      from: 'allow',
      to: 'deny',
    });
    expect(env.allowToDeny[0].rules.map((x: Json) => x.name)).toEqual(['passed-staging-tests']);
    expect(env.allowToDeny[0].rules[0].reason).toContain('does not satisfy where');
  });

  it('replays a looser one: exactly the FAILED-test deny flips, citing the rule that failed then', async () => {
    const r = await replay({ files: { 'production.yaml': looser }, since });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const env = r.body.environments[0];
    expect(env).toMatchObject({ verdicts: 2, unchanged: 1, allowToDeny: [] });
    expect(env.denyToAllow).toEqual([expect.objectContaining({ verdictId: failedDeny.id, from: 'deny', to: 'allow' })]);
    expect(env.denyToAllow[0].rules.map((x: Json) => x.name)).toEqual(['no-failed-staging-tests']);
  });

  it('replays the files in force with no flips, and several environments at once', async () => {
    const r = await replay({
      files: { 'dev.yaml': shipped('dev.yaml'), 'staging.yaml': shipped('staging.yaml') },
      since,
    });
    expect(r.status).toBe(200);
    expect(r.body.environments.map((e: Json) => [e.environment, e.verdicts, e.unchanged])).toEqual([
      ['dev', 2, 2],
      ['staging', 2, 2],
    ]);
    const later = (ms: number) => new Date(Date.now() + ms).toISOString();
    const none = await replay({ files: { 'production.yaml': stricter }, since: later(60_000), until: later(120_000) });
    expect(none.body.environments[0].verdicts).toBe(0);
  });

  it('refuses bad input and callers who are not auditors or admins, and stores nothing', async () => {
    const before = await (await t.call('GET', '/v1/log/checkpoint')).text();
    const bad = await replay({ files: { 'production.yaml': 'environment: production\nrules: []\n' }, since });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.errors)).toContain('production.yaml:2');
    expect((await replay({ files: { 'prod uction.yaml': production }, since })).status).toBe(400);
    expect((await replay({ files: {}, since })).status).toBe(400);
    expect((await replay({ files: { 'production.yaml': production }, since: 'yesterday' })).status).toBe(400);
    expect(
      (await replay({ files: { 'production.yaml': production }, since, until: '2000-01-01T00:00:00Z' })).status,
    ).toBe(400);
    expect((await replay({ files: { 'production.yaml': production }, since }, c.deployer)).status).toBe(403);
    expect(await (await t.call('GET', '/v1/log/checkpoint')).text()).toBe(before);
  });
});
