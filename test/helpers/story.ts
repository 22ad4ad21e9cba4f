// A promotion history through the HTTP API, for tests that need one: three digests of one
// application, each at a known place in dev -> staging -> production.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { testApp } from './app.ts';
import type { Json } from './json.ts';
import { sha256 } from './statements.ts';

export const COMMIT = `${'c0ffee'.repeat(6)}c0ff`;
export const BUILDER_ID = 'https://ci.example.com/builder/v1';

export const buildFacts = (digest: string, opts: { commit?: string; builderId?: string; name?: string } = {}) => ({
  subjects: [{ name: opts.name ?? 'ghcr.io/example/app', digest: { sha256: digest } }],
  buildType: 'https://example.com/build/v1',
  externalParameters: { repository: 'https://github.com/example/app', ref: 'refs/heads/main' },
  resolvedDependencies: [{ uri: 'git+https://github.com/example/app', digest: { gitCommit: opts.commit ?? COMMIT } }],
  builder: { id: opts.builderId ?? BUILDER_ID },
});

export const testResultStatement = (digest: string, result: 'PASSED' | 'FAILED') => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
  predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
  predicate: {
    result,
    configuration: [],
    passedTests: result === 'PASSED' ? ['all'] : [],
    failedTests: result === 'FAILED' ? ['e2e'] : [],
  },
});

type App = Awaited<ReturnType<typeof testApp>>;

export interface Callers {
  builder: string;
  tester: string;
  deployer: string;
  approver: string;
  auditor: string;
}

export async function mintCallers(t: App): Promise<Callers> {
  return {
    builder: await t.mint(['builder'], 'https://ci.example.com/pipelines/build'),
    tester: await t.mint(['tester'], 'https://ci.example.com/pipelines/test'),
    deployer: await t.mint(['deployer'], 'https://cd.example.com/deployer'),
    approver: await t.mint(['approver'], 'https://people.example.com/approver'),
    auditor: await t.mint(['auditor'], 'https://audit.example.com/'),
  };
}

/** The API as a promotion pipeline uses it. */
export function pipeline(t: App, c: Callers) {
  const post = async (route: string, token: string, body: unknown) => {
    const res = await t.call('POST', route, { token, body });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const verdict = (digest: string, environment: string) =>
    post('/v1/verdicts', c.deployer, { digest: `sha256:${digest}`, environment });
  const deploy = (digest: string, environment: string, verdictId: string) =>
    post('/v1/deployments', c.deployer, { digest: `sha256:${digest}`, environment, verdictId });
  const build = async (digest: string, opts: Parameters<typeof buildFacts>[1] = {}) => {
    const r = await post('/v1/provenance', c.builder, buildFacts(digest, opts));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };
  const promote = async (digest: string, environment: string) => {
    const v = await verdict(digest, environment);
    expect(v.status).toBe(200);
    expect(v.body.decision, JSON.stringify(v.body.reasons)).toBe('allow');
    const d = await deploy(digest, environment, v.body.id);
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    return { verdict: v.body, deployment: d.body };
  };
  const tested = async (digest: string, environment: string, result: 'PASSED' | 'FAILED') => {
    const r = await post('/v1/attestations', c.tester, { environment, statement: testResultStatement(digest, result) });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };
  return { post, verdict, deploy, build, promote, tested };
}

export interface Story {
  /** Built, tested and promoted through production. */
  promoted: string;
  /** Promoted through staging, where one of its test runs FAILED: production must deny it. */
  failedStaging: string;
  /** Built and tested in dev but never deployed there: staging must deny it. */
  notInDev: string;
}

/** Three digests at known places; every step through the API. */
export async function promotionStory(t: App, c: Callers): Promise<Story> {
  const p = pipeline(t, c);
  const digest = () => sha256(randomBytes(16));
  const promoted = digest();
  const failedStaging = digest();
  const notInDev = digest();
  // Each from its own commit: the same source built twice would be a rebuild.
  const build = (d: string) => p.build(d, { commit: sha256(d).slice(0, 40) });
  for (const d of [promoted, failedStaging]) {
    await build(d);
    await p.promote(d, 'dev');
    await p.tested(d, 'dev', 'PASSED');
    await p.promote(d, 'staging');
    await p.tested(d, 'staging', 'PASSED');
  }
  await p.promote(promoted, 'production');
  await p.tested(failedStaging, 'staging', 'FAILED');
  await build(notInDev);
  await p.tested(notInDev, 'dev', 'PASSED');
  return { promoted, failedStaging, notInDev };
}

export interface RebuildStory {
  /** The same source as `story.promoted`, built again into a new digest. */
  rebuild: string;
  /** The approved production exception letting it borrow the original's history. */
  exceptionId: string;
}

/**
 * Rebuild `original` (built by promotionStory), approve a production exception for it and give
 * the rebuild a PASSED staging test result of its own (production requires own-tests); pass
 * `ownTests: false` to leave it untested.
 */
export async function rebuildStory(
  t: App,
  c: Callers,
  original: string,
  opts: { ownTests?: boolean } = {},
): Promise<RebuildStory> {
  const p = pipeline(t, c);
  const rebuild = sha256(randomBytes(16));
  await p.build(rebuild, { commit: sha256(original).slice(0, 40) });
  const requested = await p.post('/v1/rebuild-exceptions', c.deployer, {
    original: `sha256:${original}`,
    rebuild: `sha256:${rebuild}`,
    environment: 'production',
    reason: 'the registry lost the original image; rebuilt from the same commit',
    ticket: 'OPS-1',
  });
  expect(requested.status, JSON.stringify(requested.body)).toBe(201);
  const second = await t.mint(['approver'], 'https://people.example.com/second-approver');
  for (const token of [c.approver, second]) {
    const approved = await p.post(`/v1/rebuild-exceptions/${requested.body.id}/approvals`, token, {});
    expect(approved.status, JSON.stringify(approved.body)).toBeLessThan(300);
  }
  if (opts.ownTests !== false) await p.tested(rebuild, 'staging', 'PASSED');
  return { rebuild, exceptionId: requested.body.id };
}
