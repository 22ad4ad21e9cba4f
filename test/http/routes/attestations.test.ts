import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../../src/signing/verify.ts';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { provenanceStatement, sha256 } from '../../helpers/statements.ts';

const BUILDER = 'https://ci.example.com/pipelines/build';
const TESTER = 'https://ci.example.com/pipelines/test';
type Rec = {
  id: string;
  logIndex: number;
  environment: string | null;
  signer: { subject: string; issuer: string };
  subjects: Array<{ digest: string; name: string | null }>;
  statement: Json;
  bundle: Json;
  origin: string;
  integratedTime: number;
  predicateType: string;
};

const facts = (digest = sha256(randomBytes(8))) => ({
  subjects: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
  buildType: 'https://example.com/build/v1',
  externalParameters: { repository: 'https://github.com/example/app', ref: 'refs/heads/main' },
  resolvedDependencies: [{ uri: 'git+https://github.com/example/app', digest: { gitCommit: 'c'.repeat(40) } }],
  builder: { id: 'https://ci.example.com/builder/v1', version: { runner: '2.0' } },
  metadata: { invocationId: 'run-7', startedOn: '2026-11-26T10:00:00Z' },
});

const testResult = (digest: string, result = 'PASSED', configuration: unknown[] = []) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
  predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
  predicate: { result, configuration, url: 'https://ci.example.com/runs/1', passedTests: ['unit'], failedTests: [] },
});

describe.each(backends)('attestation intake on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let builder: string;
  let tester: string;
  let auditor: string;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    builder = await t.mint(['builder'], BUILDER);
    tester = await t.mint(['tester'], TESTER);
    auditor = await t.mint(['auditor'], 'https://audit.example.com/');
  });
  afterAll(async () => database.close());

  it('signs provenance from build facts as the caller; the bundle verifies with the served root', async () => {
    const body = facts();
    const res = await t.call('POST', '/v1/provenance', { token: builder, body });
    expect(res.status).toBe(201);
    const rec = (await res.json()) as Rec;
    expect(rec.origin).toBe('signed');
    expect(rec.signer).toEqual({ subject: BUILDER, issuer: 'https://waybill.test' });
    expect(rec.subjects).toEqual([
      { name: 'ghcr.io/example/app', digest: `sha256:${body.subjects[0]!.digest.sha256}` },
    ]);
    expect(rec.statement.predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit).toBe('c'.repeat(40));
    expect(rec.statement.predicate.runDetails.builder.id).toBe('https://ci.example.com/builder/v1');
    expect(rec.integratedTime).toBeGreaterThan(1_700_000_000);
    const root = await (await t.call('GET', '/v1/trust/root')).json();
    await expect(
      verifyBundle(rec.bundle, {
        trustedRoot: root,
        identity: { subjectAlternativeName: BUILDER, issuer: 'https://waybill.test' },
      }),
    ).resolves.toBeDefined();

    const again = await t.call('POST', '/v1/provenance', { token: builder, body });
    expect(again.status).toBe(200);
    expect(((await again.json()) as Rec).id).toBe(rec.id);
  });

  it('signs a complete provenance statement', async () => {
    const res = await t.call('POST', '/v1/provenance', { token: builder, body: { statement: provenanceStatement() } });
    expect(res.status).toBe(201);
  });

  it('binds a test result to its environment inside the signed statement', async () => {
    const digest = sha256(randomBytes(8));
    const res = await t.call('POST', '/v1/attestations', {
      token: tester,
      body: { environment: 'staging', statement: testResult(digest) },
    });
    expect(res.status).toBe(201);
    const rec = (await res.json()) as Rec;
    expect(rec.environment).toBe('staging');
    expect(rec.statement.predicate.configuration).toContainEqual({
      name: 'environment',
      uri: 'https://waybill.test/environments/staging',
    });
    const payload = JSON.parse(Buffer.from(rec.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(payload.predicate.configuration).toContainEqual({
      name: 'environment',
      uri: 'https://waybill.test/environments/staging',
    });

    const other = await t.call('POST', '/v1/attestations', {
      token: tester,
      body: {
        environment: 'staging',
        statement: testResult(digest, 'PASSED', [
          { name: 'environment', uri: 'https://waybill.test/environments/dev' },
        ]),
      },
    });
    expect(other.status).toBe(400);
  });

  it('keeps roles apart: builders sign provenance, testers test results', async () => {
    const digest = sha256(randomBytes(8));
    expect(
      (
        await t.call('POST', '/v1/attestations', {
          token: builder,
          body: { environment: 'dev', statement: testResult(digest) },
        })
      ).status,
    ).toBe(403);
    expect((await t.call('POST', '/v1/provenance', { token: tester, body: facts() })).status).toBe(403);
    expect(
      (
        await t.call('POST', '/v1/attestations', {
          token: tester,
          body: { environment: 'dev', statement: provenanceStatement() },
        })
      ).status,
    ).toBe(403);
    expect((await t.call('POST', '/v1/provenance', { token: auditor, body: facts() })).status).toBe(403);
    const vulns = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: digest } }],
      predicateType: 'https://in-toto.io/attestation/vulns/v0.2',
      predicate: {
        scanner: { uri: 'pkg:github/aquasecurity/trivy@0.50.0', result: [] },
        metadata: { scanStartedOn: '2026-11-26T10:00:00Z', scanFinishedOn: '2026-11-26T10:01:00Z' },
      },
    };
    expect(
      (await t.call('POST', '/v1/attestations', { token: builder, body: { environment: 'dev', statement: vulns } }))
        .status,
    ).toBe(201);
  });

  it('answers queries: by id, by digest newest first, and the artifact view', async () => {
    const digest = sha256(randomBytes(8));
    const p = (await (await t.call('POST', '/v1/provenance', { token: builder, body: facts(digest) })).json()) as Rec;
    const r = (await (
      await t.call('POST', '/v1/attestations', {
        token: tester,
        body: { environment: 'dev', statement: testResult(digest) },
      })
    ).json()) as Rec;
    const byId = await t.call('GET', `/v1/attestations/${p.id}`, { token: auditor });
    expect(byId.status).toBe(200);
    expect(((await byId.json()) as Rec).bundle).toEqual(p.bundle);

    const list = (await (
      await t.call('GET', `/v1/attestations?digest=sha256:${digest}`, { token: auditor })
    ).json()) as { items: Rec[] };
    expect(list.items.map((i) => i.id)).toEqual([r.id, p.id]);
    const filtered = (await (
      await t.call('GET', `/v1/attestations?digest=sha256:${digest}&environment=dev`, { token: auditor })
    ).json()) as { items: Rec[] };
    expect(filtered.items.map((i) => i.id)).toEqual([r.id]);
    const paged = (await (
      await t.call('GET', `/v1/attestations?digest=sha256:${digest}&limit=1`, { token: auditor })
    ).json()) as { items: Rec[]; nextCursor: string };
    const page2 = (await (
      await t.call('GET', `/v1/attestations?digest=sha256:${digest}&limit=1&cursor=${paged.nextCursor}`, {
        token: auditor,
      })
    ).json()) as { items: Rec[]; nextCursor: string | null };
    expect([...paged.items, ...page2.items].map((i) => i.id)).toEqual([r.id, p.id]);
    expect(page2.nextCursor).toBeNull();

    const art = await t.call('GET', `/v1/artifacts/sha256:${digest.toUpperCase()}`, { token: auditor });
    expect(art.status).toBe(200);
    const a = (await art.json()) as { digest: string; names: string[]; attestations: Rec[] };
    expect(a.digest).toBe(`sha256:${digest}`);
    expect(a.names).toEqual(['ghcr.io/example/app']);
    expect(a.attestations.map((x) => x.id)).toEqual([r.id, p.id]);
    expect((await t.call('GET', `/v1/artifacts/sha256:${'0'.repeat(64)}`, { token: auditor })).status).toBe(404);
  });

  it(
    'honours Idempotency-Key: a retry gets the original answer, another body under the same key is a ' + '409',
    async () => {
      const body = facts();
      const headers = { 'idempotency-key': 'job-42-attempt-1' };
      const first = await t.call('POST', '/v1/provenance', { token: builder, body, headers });
      expect(first.status).toBe(201);
      const retry = await t.call('POST', '/v1/provenance', { token: builder, body, headers });
      expect(retry.status).toBe(201);
      expect(((await retry.json()) as Rec).id).toBe(((await first.json()) as Rec).id);
      const reuse = await t.call('POST', '/v1/provenance', { token: builder, body: facts(), headers });
      expect(reuse.status).toBe(409);
      expect(reuse.headers.get('content-type')).toBe('application/problem+json');
    },
  );

  describe('bad input: a 4xx problem naming the problem, nothing stored, nothing logged', () => {
    const digest = 'd'.repeat(64);
    const twoSigBundle = () => ({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {},
      dsseEnvelope: {
        payload: 'e30=',
        payloadType: 'application/vnd.in-toto+json',
        signatures: [{ sig: 'AA==' }, { sig: 'AQ==' }],
      },
    });
    type Case = [
      name: string,
      method: string,
      path: string,
      who: 'builder' | 'tester' | 'none' | 'bad',
      body: unknown,
      status: number,
      code?: string,
      raw?: string,
      contentType?: string,
    ];
    const st = (over: Record<string, unknown>) => ({ ...provenanceStatement({ digest }), ...over });
    const cases: Case[] = [
      ['malformed JSON', 'POST', '/v1/provenance', 'builder', undefined, 400, 'MALFORMED_JSON', '{"subjects": ['],
      [
        'truncated JSON',
        'POST',
        '/v1/attestations',
        'tester',
        undefined,
        400,
        'MALFORMED_JSON',
        '{"environment":"dev","statement":',
      ],
      [
        'not JSON content type',
        'POST',
        '/v1/provenance',
        'builder',
        undefined,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'a=b',
        'application/x-www-form-urlencoded',
      ],
      [
        'body over the limit',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({}), pad: 'x'.repeat(2_000_000) },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['no token', 'POST', '/v1/provenance', 'none', facts(), 401, 'UNAUTHENTICATED'],
      ['bad token', 'POST', '/v1/provenance', 'bad', facts(), 401, 'UNAUTHENTICATED'],
      ['empty body object', 'POST', '/v1/provenance', 'builder', {}, 400, 'VALIDATION_FAILED'],
      ['JSON array body', 'POST', '/v1/provenance', 'builder', [], 400, 'VALIDATION_FAILED'],
      ['JSON string body', 'POST', '/v1/provenance', 'builder', 'hello', 400, 'VALIDATION_FAILED'],
      ['null body', 'POST', '/v1/provenance', 'builder', null, 400, 'VALIDATION_FAILED'],
      [
        'statement and facts together',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({}), ...facts() },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'unknown top-level field',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), color: 'red' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts without builder',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), builder: undefined },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts with a string builder',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), builder: 'ci' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts with no subjects',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), subjects: [] },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts subject digest too short',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), subjects: [{ name: 'a', digest: { sha256: 'abc' } }] },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts subject digest not hex',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), subjects: [{ name: 'a', digest: { sha256: 'z'.repeat(64) } }] },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts subject digest uppercase',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), subjects: [{ name: 'a', digest: { sha256: 'A'.repeat(64) } }] },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts empty digest set',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), subjects: [{ name: 'a', digest: {} }] },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts buildType not a URI',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), buildType: 'make' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts externalParameters an array',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), externalParameters: [] },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts gitCommit of 39 hex',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), resolvedDependencies: [{ uri: 'git+https://x/y', digest: { gitCommit: 'c'.repeat(39) } }] },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'facts startedOn not RFC 3339',
        'POST',
        '/v1/provenance',
        'builder',
        { ...facts(), metadata: { startedOn: 'yesterday' } },
        400,
        'VALIDATION_FAILED',
      ],
      ['statement not an object', 'POST', '/v1/provenance', 'builder', { statement: 'x' }, 400, 'VALIDATION_FAILED'],
      [
        'statement without subject',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({ subject: undefined }) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'statement with empty subject',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({ subject: [] }) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'statement subject without digest',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({ subject: [{ name: 'x' }] }) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'statement sha256 of 63 hex',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({ subject: [{ name: 'x', digest: { sha256: 'a'.repeat(63) } }] }) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'statement wrong _type',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({ _type: 'https://in-toto.io/Statement/v2' }) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'statement v0.1 (read only)',
        'POST',
        '/v1/provenance',
        'builder',
        {
          statement: st({
            _type: 'https://in-toto.io/Statement/v0.1',
            predicateType: 'https://slsa.dev/provenance/v0.2',
          }),
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'provenance endpoint with a test result',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: testResult(digest) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'provenance predicate missing buildDefinition',
        'POST',
        '/v1/provenance',
        'builder',
        { statement: st({ predicate: { runDetails: { builder: { id: 'https://b/' } } } }) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'provenance builder id not a URI',
        'POST',
        '/v1/provenance',
        'builder',
        {
          statement: st({
            predicate: {
              buildDefinition: { buildType: 'https://t/', externalParameters: {} },
              runDetails: { builder: { id: 'ci' } },
            },
          }),
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'attestation without environment',
        'POST',
        '/v1/attestations',
        'tester',
        { statement: testResult(digest) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'attestation unknown environment',
        'POST',
        '/v1/attestations',
        'tester',
        { environment: 'moon', statement: testResult(digest) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'attestation environment with capitals',
        'POST',
        '/v1/attestations',
        'tester',
        { environment: 'Staging', statement: testResult(digest) },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'attestation unknown predicate type',
        'POST',
        '/v1/attestations',
        'tester',
        { environment: 'dev', statement: { ...testResult(digest), predicateType: 'https://example.com/unknown/v1' } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'test result with a bad result',
        'POST',
        '/v1/attestations',
        'tester',
        { environment: 'dev', statement: testResult(digest, 'MAYBE') },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'test result without configuration',
        'POST',
        '/v1/attestations',
        'tester',
        { environment: 'dev', statement: { ...testResult(digest), predicate: { result: 'PASSED' } } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'test result failedTests not an array',
        'POST',
        '/v1/attestations',
        'tester',
        {
          environment: 'dev',
          statement: { ...testResult(digest), predicate: { result: 'FAILED', configuration: [], failedTests: 'all' } },
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'test result for another environment',
        'POST',
        '/v1/attestations',
        'tester',
        {
          environment: 'dev',
          statement: testResult(digest, 'PASSED', [
            { name: 'environment', uri: 'https://waybill.test/environments/production' },
          ]),
        },
        400,
        'VALIDATION_FAILED',
      ],
      ['bundle missing', 'POST', '/v1/bundles', 'tester', {}, 400, 'VALIDATION_FAILED'],
      ['bundle not an object', 'POST', '/v1/bundles', 'tester', { bundle: 42 }, 400, 'VALIDATION_FAILED'],
      [
        'bundle with an unknown media type',
        'POST',
        '/v1/bundles',
        'tester',
        { bundle: { mediaType: 'application/json' } },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'bundle DSSE with two signatures',
        'POST',
        '/v1/bundles',
        'tester',
        { bundle: twoSigBundle() },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'bundle with a non-in-toto payload type',
        'POST',
        '/v1/bundles',
        'tester',
        {
          bundle: {
            ...twoSigBundle(),
            dsseEnvelope: { payload: 'e30=', payloadType: 'text/plain', signatures: [{ sig: 'AA==' }] },
          },
        },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'bundle for an unknown environment',
        'POST',
        '/v1/bundles',
        'tester',
        { bundle: twoSigBundle(), environment: 'moon' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'list with a bad digest',
        'GET',
        '/v1/attestations?digest=sha256:xyz',
        'tester',
        undefined,
        400,
        'VALIDATION_FAILED',
      ],
      [
        'list with a bad cursor',
        'GET',
        '/v1/attestations?cursor=nonsense',
        'tester',
        undefined,
        400,
        'VALIDATION_FAILED',
      ],
      ['list with limit 0', 'GET', '/v1/attestations?limit=0', 'tester', undefined, 400, 'VALIDATION_FAILED'],
      [
        'artifact with md5',
        'GET',
        `/v1/artifacts/md5:${'a'.repeat(32)}`,
        'tester',
        undefined,
        400,
        'VALIDATION_FAILED',
      ],
      [
        'artifact without algorithm',
        'GET',
        `/v1/artifacts/${'a'.repeat(64)}`,
        'tester',
        undefined,
        400,
        'VALIDATION_FAILED',
      ],
      ['attestation id not hex', 'GET', '/v1/attestations/not-an-id', 'tester', undefined, 400, 'VALIDATION_FAILED'],
      ['bad idempotency key', 'POST', '/v1/provenance', 'builder', facts(), 400, 'VALIDATION_FAILED'],
    ];

    it('has at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));

    it.each(cases)('%s', async (_name, method, path, who, body, status, code, raw, contentType) => {
      const token =
        who === 'builder' ? builder : who === 'tester' ? tester : who === 'bad' ? `wb_${'x'.repeat(43)}` : undefined;
      const before = await t.deps.log.checkpoint();
      const headers: Record<string, string> = {};
      if (contentType) headers['content-type'] = contentType;
      if (_name === 'bad idempotency key') headers['idempotency-key'] = 'has space';
      const res = await t.call(method, path, {
        ...(token ? { token } : {}),
        ...(raw !== undefined ? { raw } : body !== undefined ? { body } : {}),
        headers,
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await res.json()) as { code: string; detail: string; errors?: unknown[] };
      if (code) expect(problem.code).toBe(code);
      expect(problem.detail.length).toBeGreaterThan(0);
      if (code === 'VALIDATION_FAILED' && method === 'POST') expect(problem.errors?.length ?? 0).toBeGreaterThan(0);
      expect((await t.deps.log.checkpoint()).treeSize).toBe(before.treeSize);
    });

    it('never answers random JSON with a 5xx (property)', async () => {
      const routes = ['/v1/provenance', '/v1/attestations', '/v1/bundles'];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 4 }), async (route, value) => {
          const res = await t.call('POST', route, {
            token: route === '/v1/provenance' ? builder : tester,
            body: value,
          });
          expect(res.status).toBeLessThan(500);
        }),
        { numRuns: 150 },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            environment: fc.constantFrom('dev', 'staging', 'x'),
            statement: fc.record({
              _type: fc.constant('https://in-toto.io/Statement/v1'),
              subject: fc.jsonValue({ maxDepth: 3 }),
              predicateType: fc.constantFrom(
                'https://in-toto.io/attestation/test-result/v0.1',
                'https://in-toto.io/attestation/vulns/v0.2',
              ),
              predicate: fc.jsonValue({ maxDepth: 3 }),
            }),
          }),
          async (body) => {
            const res = await t.call('POST', '/v1/attestations', { token: tester, body });
            expect(res.status).toBeLessThan(500);
          },
        ),
        { numRuns: 100 },
      );
    });
  });
});
