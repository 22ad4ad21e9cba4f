// Every problem names its code from a closed set published in /openapi.json, and its `type` URL
// is a page that exists: GET /problems/{code}, public, made from the same table as the docs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, ERRORS, problemSlug } from '../../../src/errors.ts';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';

const pglite = backends.filter((b) => b.name === 'pglite');

describe.each(pglite)('problem pages ($name)', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
  });
  afterAll(async () => database.close());

  it("follows a problem's type URL to the page that explains its code, without a token", async () => {
    const problem = (await (await t.call('GET', '/v1/attestations')).json()) as { type: string; code: string };
    expect(problem.code).toBe('UNAUTHENTICATED');
    expect(problem.type).toBe(`${t.config.issuer}/problems/unauthenticated`);
    const page = await t.call('GET', new URL(problem.type).pathname);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/markdown/);
    const text = await page.text();
    expect(text).toContain('`UNAUTHENTICATED`, HTTP 401');
    expect(text).toContain(ERRORS.UNAUTHENTICATED.description);
  });

  it('has a page for every code, and a 404 problem for a code that does not exist', async () => {
    for (const code of ERROR_CODES) expect((await t.call('GET', `/problems/${problemSlug(code)}`)).status).toBe(200);
    const res = await t.call('GET', '/problems/no-such-code');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('NOT_FOUND');
  });

  it('publishes the error codes as an enum and the answers as named schemas in /openapi.json', async () => {
    const doc = (await (await t.call('GET', '/openapi.json')).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
    };
    expect(doc.components.schemas.Problem?.properties?.code?.enum).toEqual(ERROR_CODES);
    const named = (path: string, method: string, status: string) =>
      JSON.stringify(doc.paths[path]?.[method]?.responses[status]?.content ?? {});
    for (const [path, method, status, schema] of [
      ['/v1/verdicts', 'post', '200', 'Verdict'],
      ['/v1/deployments', 'post', '201', 'Deployment'],
      ['/v1/environments/{name}', 'get', '200', 'Environment'],
      ['/v1/rebuild-exceptions/{id}', 'get', '200', 'RebuildException'],
      ['/v1/reports/drift', 'get', '200', 'DriftReport'],
      ['/v1/artifacts/{digest}/evidence', 'get', '200', 'EvidencePack'],
      ['/v1/artifacts/{digest}', 'get', '200', 'Artifact'],
    ] as const)
      expect(named(path, method, status)).toContain(`#/components/schemas/${schema}`);
  });
});
