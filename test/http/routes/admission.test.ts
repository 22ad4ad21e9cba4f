// Kubernetes admission after a promotion story: what the API server is told for each kind of
// workload, each kind of image and each namespace, and that every decision is recorded.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/storage/database.ts';
import { cronJobCreate, deploymentUpdate, ephemeralContainer, image, podCreate } from '../../helpers/admission.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { sha256 } from '../../helpers/statements.ts';
import { mintCallers, promotionStory, type Story } from '../../helpers/story.ts';

const CONFIG = `
environments:
  production:
    namespaces: [prod, prod-*]
    enforcement: enforce
  staging:
    namespaces: [staging]
  dev:
    namespaces: [dev, dev-*]
    enforcement: audit
`;

function admissionConfig(text = CONFIG): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-adm-')), 'admission.yaml');
  writeFileSync(file, text);
  return file;
}

describe.each(backends)('Kubernetes admission on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let story: Story;
  let admission: string;
  let auditor: string;
  const unknown = sha256(randomBytes(16));

  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database, { WAYBILL_ADMISSION_CONFIG: admissionConfig() });
    const callers = await mintCallers(t);
    auditor = callers.auditor;
    story = await promotionStory(t, callers);
    admission = await t.mint(['admission'], 'https://k8s.example.com/clusters/prod-eu');
  });
  afterAll(async () => database.close());

  const ask = async (review: unknown, token = admission) => {
    const res = await t.call('POST', '/v1/admission/kubernetes', { token, body: review });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('admits a Pod running the promoted digest in a production namespace, answering with its uid', async () => {
    const review = podCreate('prod', [image(story.promoted)]);
    const r = await ask(review);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true },
    });
    // prod-* matches too
    expect((await ask(podCreate('prod-eu', [image(story.promoted)]))).body.response.allowed).toBe(true);
  });

  it('denies an unpromoted digest, a tag-only image and a staging-only digest, naming each image and why', async () => {
    const review = deploymentUpdate(
      'prod',
      [image(story.notInDev), 'ghcr.io/example/app:1.4.2', image(story.failedStaging), image(story.promoted)],
      [image(story.promoted)],
    );
    const r = await ask(review);
    expect(r.status).toBe(200);
    const { response } = r.body;
    expect(response.uid).toBe(review.request.uid);
    expect(response.allowed).toBe(false);
    expect(response.status.code).toBe(403);
    const message: string = response.status.message;
    expect(message).toContain('Deployment prod/app (production)');
    expect(message).toContain(
      `containers[0] ghcr.io/example/app@sha256:${story.notInDev}: no unexpired ` +
        'allow verdict and no recorded deployment for production',
    );
    expect(message).toContain('containers[1] ghcr.io/example/app:1.4.2: not pinned by digest');
    expect(message).toContain(`containers[2] ghcr.io/example/app@sha256:${story.failedStaging}: `);
    expect(message).toContain('(allowed only in: dev, staging)');
    expect(message).not.toContain(`containers[3]`);
  });

  it('checks the pod template of a CronJob and the init containers of a Pod', async () => {
    expect((await ask(cronJobCreate('prod', [image(story.promoted)]))).body.response.allowed).toBe(true);
    const cron = await ask(cronJobCreate('prod', [image(unknown)]));
    expect(cron.body.response.allowed).toBe(false);
    expect(cron.body.response.status.message).toContain(`CronJob prod/nightly (production): containers[0]`);
    const init = await ask(podCreate('prod', [image(story.promoted)], { initImages: ['busybox:latest'] }));
    expect(init.body.response.allowed).toBe(false);
    expect(init.body.response.status.message).toContain('initContainers[0] busybox:latest: not pinned by digest');
  });

  it('denies an ephemeral debug container whose image was never promoted', async () => {
    const debug = `docker.io/library/busybox@sha256:${unknown}`;
    const r = await ask(ephemeralContainer('prod', [image(story.promoted)], debug));
    expect(r.body.response.allowed).toBe(false);
    expect(r.body.response.status.message).toContain(`ephemeralContainers[0] ${debug}:`);
    const ok = await ask(ephemeralContainer('prod', [image(story.promoted)], image(story.promoted)));
    expect(ok.body.response.allowed).toBe(true);
  });

  it('denies in a namespace no environment claims', async () => {
    const r = await ask(podCreate('kube-system', [image(story.promoted)]));
    expect(r.body.response.allowed).toBe(false);
    expect(r.body.response.status.message).toBe('namespace kube-system belongs to no waybill environment; denied');
  });

  it('in audit mode admits what it would deny, with warnings, and records the would-be denial', async () => {
    const review = podCreate('dev-feature', [image(unknown), image(story.promoted)]);
    const r = await ask(review);
    expect(r.body.response).toEqual({
      uid: review.request.uid,
      allowed: true,
      warnings: [
        `waybill (audit, would deny): containers[0] ghcr.io/example/app@sha256:${unknown}: ` +
          'no unexpired allow verdict and no recorded deployment for dev',
      ],
    });
    const events = await t.call('GET', '/v1/admission/events?limit=1', { token: auditor });
    expect(events.status).toBe(200);
    const [event] = ((await events.json()) as Json).items;
    expect(event).toMatchObject({
      uid: review.request.uid,
      namespace: 'dev-feature',
      environment: 'dev',
      enforcement: 'audit',
      decision: 'deny',
      allowed: true,
      kind: 'Pod',
      operation: 'CREATE',
      caller: 'https://k8s.example.com/clusters/prod-eu',
    });
    expect(event.images.map((i: Json) => i.reason === null)).toEqual([false, true]);
  });

  it('answers a malformed review with a denied review, never a 500', async () => {
    const noUid = podCreate('prod', [image(story.promoted)]) as Json;
    delete noUid.request.uid;
    const noSpec = podCreate('prod', [image(story.promoted)]) as Json;
    delete noSpec.request.object.spec;
    const cases: Array<[unknown, string, string]> = [
      [{ hello: 'world' }, '', 'malformed AdmissionReview: kind is not "AdmissionReview"'],
      [[1, 2, 3], '', 'malformed AdmissionReview: the body is not a JSON object'],
      [noUid, '', 'malformed AdmissionReview: request.uid is missing'],
      [noSpec, noSpec.request.uid, 'malformed AdmissionReview: request.object.spec (the pod spec) is missing'],
    ];
    for (const [body, uid, message] of cases) {
      const r = await ask(body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.response).toEqual({ uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } });
    }
    // A body that is not JSON at all, sent without a JSON content type, is a denied review too.
    const res = await t.call('POST', '/v1/admission/kubernetes', {
      token: admission,
      raw: 'not json',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).response.allowed).toBe(false);
  });

  it('refuses callers without the admission role with a problem, not a review', async () => {
    const review = podCreate('prod', [image(story.promoted)]);
    const none = await t.call('POST', '/v1/admission/kubernetes', { body: review });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    const wrong = await ask(review, auditor);
    expect(wrong.status).toBe(403);
    expect((await t.call('GET', '/v1/admission/events', { token: admission })).status).toBe(403);
  });

  it('pages through the recorded decisions', async () => {
    const first = (await (await t.call('GET', '/v1/admission/events?limit=2', { token: auditor })).json()) as Json;
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await (
      await t.call('GET', `/v1/admission/events?limit=2&cursor=${first.nextCursor}`, { token: auditor })
    ).json()) as Json;
    expect(second.items).toHaveLength(2);
    const ids = [...first.items, ...second.items].map((e: Json) => e.id);
    expect(new Set(ids).size).toBe(4);
    const bad = await t.call('GET', '/v1/admission/events?cursor=nope', { token: auditor });
    expect(bad.status).toBe(400);
  });
});

describe('Kubernetes admission without WAYBILL_ADMISSION_CONFIG', () => {
  it('denies every review, saying why', async () => {
    const database = await backends[0]!.open();
    try {
      const t = await testApp(database);
      const token = await t.mint(['admission']);
      const review = podCreate('prod', [image(sha256(randomBytes(8)))]);
      const res = await t.call('POST', '/v1/admission/kubernetes', { token, body: review });
      const body = (await res.json()) as Json;
      expect(body.response.allowed).toBe(false);
      expect(body.response.status.message).toContain('not configured (WAYBILL_ADMISSION_CONFIG)');
    } finally {
      await database.close();
    }
  });
});
