import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/storage/database.ts';
import { testApp } from './helpers/app.ts';
import { backends } from './helpers/db.ts';

const ADMIN = 'a'.repeat(40);

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as {
    status: number;
    code: string;
    detail: string;
    errors?: Array<{ path: string; message: string }>;
  };
  expect(body.status).toBe(res.status);
  return body;
}

describe.each(backends)('HTTP on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database, { WAYBILL_ADMIN_TOKEN: ADMIN, WAYBILL_BODY_LIMIT: '2048' });
  });
  afterAll(async () => database.close());

  it('answers health and readiness', async () => {
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    const ready = await t.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('serves an OpenAPI 3.1 document with the token routes', async () => {
    const res = await t.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/tokens', '/v1/tokens/{id}', '/readyz']));
  });

  it('gives a 404 problem for an unknown route, with the request id', async () => {
    const res = await t.call('GET', '/v1/nothing-here', { headers: { 'x-request-id': 'req-123' } });
    expect(res.status).toBe(404);
    const p = await problem(res);
    expect(p.code).toBe('NOT_FOUND');
    expect(res.headers.get('x-request-id')).toBe('req-123');
  });

  it('refuses a missing, malformed or unknown token with 401', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer wb_notarealtoken' }] as Array<
      Record<string, string>
    >) {
      const res = await t.call('GET', '/v1/tokens', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await problem(res)).code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses the wrong role with 403', async () => {
    const builder = await t.mint(['builder']);
    const res = await t.call('GET', '/v1/tokens', { token: builder });
    expect(res.status).toBe(403);
    expect((await problem(res)).code).toBe('FORBIDDEN');
  });

  it('answers malformed JSON, a wrong content type and an over-size body with 4xx problems', async () => {
    const bad = await t.call('POST', '/v1/tokens', { token: ADMIN, raw: '{"subject": ' });
    expect(bad.status).toBe(400);
    expect((await problem(bad)).code).toBe('MALFORMED_JSON');

    const text = await t.call('POST', '/v1/tokens', {
      token: ADMIN,
      raw: 'subject=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect((await problem(text)).code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const big = await t.call('POST', '/v1/tokens', {
      token: ADMIN,
      body: { subject: `https://x.example/${'a'.repeat(4096)}`, roles: ['builder'] },
    });
    expect(big.status).toBe(413);
    expect((await problem(big)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('lists every invalid field of a request body', async () => {
    const res = await t.call('POST', '/v1/tokens', {
      token: ADMIN,
      body: { subject: 'not a uri', roles: ['builder', 'emperor'], expiresIn: 'forever', extra: 1 },
    });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.code).toBe('VALIDATION_FAILED');
    const paths = p.errors!.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/subject', '/roles/1', '/expiresIn']));
    expect(p.errors!.length).toBeGreaterThanOrEqual(4); // the unknown key too
    // the detail names the first problem and counts the rest (the body is valid JSON)
    const [first] = p.errors!;
    expect(p.detail).toBe(
      `the request body is not valid: ${first!.path}: ${first!.message} ` +
        `(and ${p.errors!.length - 1} more problems)`,
    );
  });

  it('says which query parameter is wrong', async () => {
    const res = await t.call('GET', '/v1/attestations?digest=sha256:abc&limit=0', { token: ADMIN });
    expect(res.status).toBe(400);
    expect((await problem(res)).detail).toMatch(/^the query string is not valid: \/\w+: /);
  });

  it('round-trips tokens: create, use, list without secrets, revoke', async () => {
    const res = await t.call('POST', '/v1/tokens', {
      token: ADMIN,
      body: { subject: 'https://ci.example.com/pipelines/api', roles: ['tester', 'builder'], expiresIn: '30d' },
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; token: string; roles: string[]; expiresAt: string };
    expect(created.token).toMatch(/^wb_[A-Za-z0-9_-]{43}$/);
    expect(created.roles).toEqual(['builder', 'tester']);
    const days = (Date.parse(created.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);

    // the new token authenticates (its role is wrong for /v1/tokens: 403, not 401)
    expect((await t.call('GET', '/v1/tokens', { token: created.token })).status).toBe(403);

    const list = await t.call('GET', '/v1/tokens?limit=500', { token: ADMIN });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).toContain(created.id);
    expect(text).not.toContain(created.token);
    expect(text).not.toMatch(/wb_[A-Za-z0-9_-]{43}/);

    expect((await t.call('DELETE', `/v1/tokens/${created.id}`, { token: ADMIN })).status).toBe(204);
    expect((await t.call('DELETE', `/v1/tokens/${created.id}`, { token: ADMIN })).status).toBe(204);
    const after = await t.call('GET', '/v1/tokens', { token: created.token });
    expect(after.status).toBe(401);
    expect((await t.call('DELETE', '/v1/tokens/tok_unknown', { token: ADMIN })).status).toBe(404);
  });

  it('refuses an expired token', async () => {
    const created = await t.deps.tokens.create({
      subject: 'https://old.example/',
      roles: ['admin'],
      expiresInMs: 1_000,
      now: new Date(Date.now() - 60_000),
    });
    expect((await t.call('GET', '/v1/tokens', { token: created.token })).status).toBe(401);
  });

  it('pages the token list with cursor and limit', async () => {
    for (let i = 0; i < 3; i++) await t.mint(['auditor'], `https://page.example/${i}`);
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.call('GET', `/v1/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: ADMIN });
      const page = (await res.json()) as { items: Array<{ id: string }>; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const it of page.items) seen.add(it.id);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    const all = (await (await t.call('GET', '/v1/tokens?limit=500', { token: ADMIN })).json()) as { items: unknown[] };
    expect(seen.size).toBe(all.items.length);
    expect(pages).toBeGreaterThanOrEqual(2);
    expect((await t.call('GET', '/v1/tokens?limit=0', { token: ADMIN })).status).toBe(400);
  });

  it('never writes a token secret to the log', async () => {
    const created = await t.call('POST', '/v1/tokens', {
      token: ADMIN,
      body: { subject: 'https://log.example/', roles: ['auditor'] },
    });
    const { token } = (await created.json()) as { token: string };
    await t.call('GET', '/v1/tokens', { token });
    const log = t.logLines.join('\n');
    expect(t.logLines.length).toBeGreaterThan(0);
    expect(log).not.toContain(token);
    expect(log).not.toContain(ADMIN);
    expect(
      t.logLines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg === 'request').length,
    ).toBeGreaterThan(5);
  });
});
