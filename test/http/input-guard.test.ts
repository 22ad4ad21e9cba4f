// Input that once reached the database or a recursive walker and came back as a 500 (issue 10,
// item 6): NUL characters, lone UTF-16 surrogates, hostile nesting, very long strings and huge
// durations, in paths, queries and every POST body. Each is a 4xx problem that names where it is,
// and nothing is signed, logged or stored.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import type { Json } from '../helpers/json.ts';
import { provenanceStatement } from '../helpers/statements.ts';

const ADMIN = 'a'.repeat(40);
const DIGEST = `sha256:${'d'.repeat(64)}`;

async function problem(res: Response): Promise<Json> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as Json;
  expect(body.status).toBe(res.status);
  return body;
}

/** A valid-looking body for every POST route, to poison one field of. */
function templates(): Array<[route: string, body: Json]> {
  const st = provenanceStatement({ digest: 'd'.repeat(64) });
  return [
    ['/v1/provenance', { statement: st }],
    [
      '/v1/provenance',
      {
        subjects: [{ name: 'ghcr.io/example/app', digest: { sha256: 'd'.repeat(64) } }],
        buildType: 'https://example.com/build/v1',
        externalParameters: { repository: 'https://github.com/example/app' },
        builder: { id: 'https://ci.example.com/builder/v1' },
      },
    ],
    [
      '/v1/attestations',
      {
        environment: 'dev',
        statement: {
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'app', digest: { sha256: 'd'.repeat(64) } }],
          predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
          predicate: { result: 'PASSED', configuration: [], passedTests: ['a'], failedTests: [], warnedTests: [] },
        },
      },
    ],
    ['/v1/bundles', { environment: 'dev', bundle: { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' } }],
    ['/v1/tokens', { subject: 'https://ci.example.com/x', roles: ['builder'], expiresIn: '30d' }],
    ['/v1/verdicts', { digest: DIGEST, environment: 'dev' }],
    ['/v1/deployments', { digest: DIGEST, environment: 'dev', verdictId: 'vd_x' }],
    [
      '/v1/rebuild-exceptions',
      {
        original: DIGEST,
        rebuild: `sha256:${'e'.repeat(64)}`,
        environment: 'production',
        reason: 'a reason that is long enough',
        ticket: 'T-1',
        expiresIn: '7d',
      },
    ],
  ];
}

/** Every path to a leaf (string, number, ...) of a JSON value. */
function leaves(value: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [at];
  const entries: Array<[string | number, Json]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  if (entries.length === 0) return [at];
  return entries.flatMap(([k, v]) => leaves(v, [...at, k]));
}

function setAt(root: Json, at: Array<string | number>, v: Json): Json {
  if (at.length === 0) return v;
  const copy = structuredClone(root);
  let node = copy;
  for (const k of at.slice(0, -1)) node = node[k];
  node[at[at.length - 1]!] = v;
  return copy;
}

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

describe.each(backends)('hostile input on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let all: string;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database, { WAYBILL_ADMIN_TOKEN: ADMIN });
    all = await t.mint(['builder', 'tester', 'deployer', 'approver', 'auditor', 'admin']);
  });
  afterAll(async () => database.close());

  const stored = async () => (await t.deps.log.checkpoint()).treeSize;

  it('refuses a NUL character in a JSON string with a 400 naming the field; nothing is stored', async () => {
    const before = await stored();
    const st = provenanceStatement();
    st.subject[0]!.name = 'ghcr.io/example/a\u0000pp';
    const res = await t.call('POST', '/v1/provenance', { token: all, raw: JSON.stringify({ statement: st }) });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.code).toBe('VALIDATION_FAILED');
    expect(p.errors).toEqual([{ path: '/statement/subject/0/name', message: expect.stringContaining('NUL') }]);
    expect(await stored()).toBe(before);
  });

  it('refuses a lone UTF-16 surrogate in a JSON string', async () => {
    const raw = JSON.stringify({ subject: 'https://ci.example.com/x', roles: ['builder'] }).replace('/x', '/x\\ud800');
    const res = await t.call('POST', '/v1/tokens', { token: ADMIN, raw });
    expect(res.status).toBe(400);
    expect((await problem(res)).errors).toEqual([{ path: '/subject', message: expect.stringContaining('surrogate') }]);
  });

  it('refuses JSON nested 6,000 levels deep, and says so', async () => {
    const st = provenanceStatement();
    const raw = JSON.stringify({ statement: { ...st, predicate: { deep: 0 } } }).replace(
      '"deep":0',
      `"deep":${deep(6000)}`,
    );
    const res = await t.call('POST', '/v1/provenance', { token: all, raw });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.detail).toMatch(/nested deeper than 64 levels/);
  });

  it('refuses NUL in a path or a query parameter', async () => {
    for (const route of [
      '/v1/verdicts/ab%00cd',
      '/v1/rebuild-exceptions/rx%00',
      '/v1/attestations?predicateType=a%00b',
      '/v1/artifacts/sha256%3A%00',
    ]) {
      const res = await t.call('GET', route, { token: all });
      expect(res.status, route).toBe(400);
      expect((await problem(res)).code).toBe('VALIDATION_FAILED');
    }
  });

  it('stores a subject name of 4,000 characters (the name index takes any length)', async () => {
    const st = provenanceStatement();
    st.subject[0]!.name = `ghcr.io/${randomBytes(3000).toString('base64').slice(0, 3990)}`;
    const res = await t.call('POST', '/v1/provenance', { token: all, body: { statement: st } });
    expect(res.status).toBe(201);
  });

  it('refuses a duration too long to be a date (expiresIn: 9999999w)', async () => {
    const res = await t.call('POST', '/v1/tokens', {
      token: ADMIN,
      body: { subject: 'https://ci.example.com/x', roles: ['builder'], expiresIn: '9999999w' },
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).errors).toEqual([{ path: '/expiresIn', message: 'at most 100 years' }]);
  });

  it('accepts the bearer scheme in any case (RFC 9110)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await t.call('GET', '/v1/environments', { headers: { authorization: `${scheme} ${all}` } });
      expect(res.status, scheme).toBe(200);
    }
  });

  it('never answers a poisoned field of any POST body with a 5xx (property)', async () => {
    const poison = fc.oneof(
      fc.string().map((s) => `${s}\u0000`),
      fc.constantFrom('\ud800', 'x\udfff', '\udc00\ud800'),
      fc.integer({ min: 65, max: 3000 }).map((n) => JSON.parse(deep(n)) as Json),
      fc.integer({ min: 2_800, max: 9_000 }).map((n) => 'x'.repeat(n)),
      fc.constantFrom('9999999w', '9999999d', '0s', '-1d', '1e9w'),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const cases = templates().flatMap(([route, body]) => leaves(body).map((at) => ({ route, body, at })));
    const before = await stored();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cases), poison, async ({ route, body, at }, value) => {
        const res = await t.call('POST', route, {
          token: route === '/v1/tokens' ? ADMIN : all,
          body: setAt(body, at, value),
        });
        expect(res.status, `${route} ${at.join('/')}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThanOrEqual(200);
      }),
      { numRuns: 300 },
    );
    // Poisoned bodies may still be valid requests (a long name, say): only a 5xx would be a failure
    // here, and nothing half-written: every stored attestation is in the log.
    const [row] = await database.sql.query<{ n: number }>('select count(*)::int as n from attestations');
    const n = row!.n;
    expect(n).toBe(await stored());
    expect(n).toBeGreaterThanOrEqual(before);
  });
});

describe('an over-size body on a keep-alive connection', () => {
  it('answers 413 with Connection: close, and the client goes on with a fresh connection', async () => {
    const { serve } = await import('@hono/node-server');
    const http = await import('node:http');
    const database = await backends[0]!.open();
    const t = await testApp(database, { WAYBILL_ADMIN_TOKEN: ADMIN, WAYBILL_BODY_LIMIT: '4096' });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const port = (server.address() as { port: number }).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const request = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method,
            path,
            agent,
            headers: {
              authorization: `Bearer ${ADMIN}`,
              ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      for (let i = 0; i < 10; i++) {
        const big = await request('POST', '/v1/tokens', JSON.stringify({ subject: 'x'.repeat(10_000) }));
        expect(big.status).toBe(413);
        expect(big.connection).toBe('close');
        const next = await request('GET', '/v1/tokens');
        expect(next.status).toBe(200);
      }
    } finally {
      agent.destroy();
      await new Promise((r) => server.close(r));
      await database.close();
    }
  });
});
