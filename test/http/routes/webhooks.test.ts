// Signed webhooks end to end: a real server with a PGlite data directory, a local receiver that
// checks every signature, each event delivered once; then, with the receiver down, an event
// survives a server restart and is delivered when the receiver is back.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.ts';
import { type RunningServer, startServer } from '../../../src/runtime/node.ts';
import { webhookSignature } from '../../../src/services/webhooks.ts';
import { image, podCreate } from '../../helpers/admission.ts';
import type { testApp } from '../../helpers/app.ts';
import type { Json } from '../../helpers/json.ts';
import { sha256 } from '../../helpers/statements.ts';
import { type Callers, mintCallers, pipeline, promotionStory, rebuildStory } from '../../helpers/story.ts';

const SECRET = `whsec_${randomBytes(16).toString('hex')}`;

interface Received {
  delivery: string;
  event: string;
  signed: boolean;
  accepted: boolean;
  body: Json;
}

/** A receiver that checks each signature, answering 503 while `down`. */
async function receiver() {
  const received: Received[] = [];
  const state = { down: false };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({
        delivery: String(req.headers['waybill-delivery']),
        event: String(req.headers['waybill-event']),
        signed: req.headers['waybill-signature'] === webhookSignature(SECRET, raw),
        accepted: !state.down,
        body: JSON.parse(raw),
      });
      res.writeHead(state.down ? 503 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/waybill`;
  return { url, received, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('signed webhooks', () => {
  let hook: Awaited<ReturnType<typeof receiver>>;
  let server: RunningServer;
  let env: Record<string, string>;
  let t: Awaited<ReturnType<typeof testApp>>;
  let callers: Callers;
  let admin: string;

  const client = (s: () => RunningServer) =>
    ({
      call: (method: string, route: string, opts: { token?: string; body?: unknown } = {}) =>
        fetch(`${s().url}${route}`, {
          method,
          headers: {
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
            ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        }),
      mint: async (roles: string[], subject?: string) =>
        (
          await s().deps.tokens.create({
            subject: subject ?? `https://ci.example.com/${roles.join('-')}`,
            roles: roles as never,
          })
        ).token,
    }) as unknown as Awaited<ReturnType<typeof testApp>>;

  beforeAll(async () => {
    hook = await receiver();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-hooks-'));
    writeFileSync(
      path.join(dir, 'webhooks.yaml'),
      [
        'webhooks:',
        `  - url: ${hook.url}`,
        '    secretEnv: WB_TEST_HOOK_SECRET',
        '    events: [verdict.denied, deployment.recorded, exception.requested, exception.decided,',
        '             drift.detected, admission.denied]',
        'pollInterval: 1s',
        'retry: { initialDelay: 1s, maxDelay: 2s }',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'admission.yaml'), 'environments:\n  production: { namespaces: [prod] }\n');
    env = {
      WAYBILL_DATA_DIR: path.join(dir, 'data'),
      WAYBILL_WEBHOOKS: path.join(dir, 'webhooks.yaml'),
      WAYBILL_ADMISSION_CONFIG: path.join(dir, 'admission.yaml'),
      WB_TEST_HOOK_SECRET: SECRET,
      PORT: '0',
      LOG_LEVEL: 'silent',
    };
    server = await startServer(parseConfig(env));
    t = client(() => server);
    callers = await mintCallers(t);
    admin = await t.mint(['admin']);
  }, 60_000);
  afterAll(async () => {
    await server.stop();
    await hook.close();
  });

  it('delivers each event once, signed, with its delivery id', async () => {
    const story = await promotionStory(t, callers);
    const rebuilt = await rebuildStory(t, callers, story.promoted);
    const p = pipeline(t, callers);
    // A second request for the same rebuild, rejected; then the approved one revoked.
    const again = await p.post('/v1/rebuild-exceptions', callers.deployer, {
      original: `sha256:${story.promoted}`,
      rebuild: `sha256:${rebuilt.rebuild}`,
      environment: 'production',
      reason: 'asked twice by mistake; rebuilt from the same commit',
      ticket: 'OPS-2',
    });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    const rejection = { reason: 'a duplicate of an approved exception' };
    const rejected = await p.post(`/v1/rebuild-exceptions/${again.body.id}/rejections`, callers.approver, rejection);
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    const revocation = { reason: 'the original image was found again' };
    const revoked = await p.post(
      `/v1/rebuild-exceptions/${rebuilt.exceptionId}/revocations`,
      callers.approver,
      revocation,
    );
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(201);
    expect((await p.verdict(story.notInDev, 'staging')).body.decision).toBe('deny');
    const admission = await t.mint(['admission']);
    const review = await t.call('POST', '/v1/admission/kubernetes', {
      token: admission,
      body: podCreate('prod', [image(sha256(randomBytes(8)))]),
    });
    expect(((await review.json()) as Json).response.allowed).toBe(false);
    const reporter = await t.mint(['reporter']);
    const hotfix = `sha256:${sha256(randomBytes(8))}`;
    const snap = await t.call('POST', '/v1/environments/production/snapshots', {
      token: reporter,
      body: {
        source: 'test',
        observedAt: new Date().toISOString(),
        workloads: [{ name: 'prod/x/app', digest: hotfix }],
      },
    });
    expect(snap.status).toBe(201);

    const expected = {
      'deployment.recorded': 5,
      'verdict.denied': 1,
      'exception.requested': 2,
      'exception.decided': 3,
      'admission.denied': 1,
      'drift.detected': 1,
    };
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    await until('every delivery', () => hook.received.length >= total);
    // one more poll round: nothing is delivered twice
    await new Promise((r) => setTimeout(r, 1500));
    const counts: Record<string, number> = {};
    for (const r of hook.received) counts[r.event] = (counts[r.event] ?? 0) + 1;
    expect(counts).toEqual(expected);
    expect(hook.received.every((r) => r.signed && r.accepted)).toBe(true);
    expect(new Set(hook.received.map((r) => r.delivery)).size).toBe(total);
    for (const r of hook.received) expect(r.body.event).toBe(r.event);
    const drift = hook.received.find((r) => r.event === 'drift.detected')!;
    expect(drift.body.data).toMatchObject({
      environment: 'production',
      findings: [
        expect.objectContaining({ kind: 'running-without-allow', digest: hotfix }),
        // the promoted digest was deployed there but the snapshot does not see it
        expect.objectContaining({ kind: 'deployed-not-running', digest: `sha256:${story.promoted}` }),
      ],
    });
    const decided = hook.received.filter((r) => r.event === 'exception.decided').map((r) => r.body.data);
    const byDecision = (d: Json) => [d.id, d.decision, d.decisionReason ?? null];
    expect(decided.map(byDecision).sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual([
      [rebuilt.exceptionId, 'approved', null],
      [again.body.id, 'rejected', 'a duplicate of an approved exception'],
      [rebuilt.exceptionId, 'revoked', 'the original image was found again'],
    ]);
    expect(decided.find((d) => d.decision === 'rejected')).toMatchObject({
      status: 'rejected',
      decidedBy: 'https://people.example.com/approver',
    });
    expect(decided.find((d) => d.decision === 'revoked')).toMatchObject({
      decidedBy: 'https://people.example.com/approver',
      revocation: revoked.body.id,
    });
    const denied = hook.received.find((r) => r.event === 'verdict.denied')!;
    expect(denied.body.data).toMatchObject({ digest: `sha256:${story.notInDev}`, environment: 'staging' });

    const list = (await (await t.call('GET', '/v1/webhooks/deliveries?limit=100', { token: admin })).json()) as Json;
    expect(list.items).toHaveLength(total);
    expect(list.items.every((d: Json) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
    expect(JSON.stringify(list)).not.toContain(SECRET);
    expect((await t.call('GET', '/v1/webhooks/deliveries', { token: callers.auditor })).status).toBe(403);
  }, 120_000);

  it('loses nothing when the receiver is down across a server restart', async () => {
    hook.state.down = true;
    const before = hook.received.length;
    const p = pipeline(t, callers);
    const digest = sha256(randomBytes(16));
    expect((await p.verdict(digest, 'production')).body.decision).toBe('deny');
    const refused = await until('a refused attempt', () => hook.received.slice(before).find((r) => !r.accepted));
    expect(refused.signed).toBe(true);
    const delivery = async () => {
      const list = (await (await t.call('GET', '/v1/webhooks/deliveries', { token: admin })).json()) as Json;
      return list.items.find((d: Json) => d.id === refused.delivery) as Json;
    };
    const failed = await until('the failed attempt recorded', async () => {
      const d = await delivery();
      return d?.attempts >= 1 && d;
    });
    expect(failed).toMatchObject({ status: 'pending', lastError: 'HTTP 503', event: 'verdict.denied' });

    await server.stop();
    hook.state.down = false;
    server = await startServer(parseConfig(env));
    await until('the delivery after the restart', () =>
      hook.received.find((r) => r.delivery === refused.delivery && r.accepted),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const accepted = hook.received.filter((r) => r.delivery === refused.delivery && r.accepted);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.signed).toBe(true);
    expect(accepted[0]!.body).toEqual(refused.body);
    const done = await delivery();
    expect(done.status).toBe('delivered');
    expect(done.attempts).toBeGreaterThanOrEqual(2);
  }, 90_000);
});
