// CI jobs as callers: a GitHub Actions or GitLab job sends its OIDC ID token where a waybill
// token would go. Its claims decide the certificate it signs with, bind the provenance it gets,
// and (through grants) what it may do and for which environments.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { ASN1Obj } from '@sigstore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../src/signing/verify.ts';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { CLAIMED_SHA, githubClaims, gitlabClaims, startIssuer, type TestIssuer } from '../helpers/oidc-issuer.ts';
import { workloadFixture } from '../helpers/workload.ts';

const DIGEST = 'a'.repeat(64);
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

/** The text of a Fulcio extension (1.8 and up: a DER UTF8String) in a bundle's leaf certificate. */
function leafExtension(bundle: unknown, n: number): string | undefined {
  const raw = (bundle as { verificationMaterial: { certificate: { rawBytes: string } } }).verificationMaterial
    .certificate.rawBytes;
  const ext = new x509.X509Certificate(Buffer.from(raw, 'base64')).extensions.find(
    (e) => e.type === `1.3.6.1.4.1.57264.1.${n}`,
  );
  return ext ? ASN1Obj.parseBuffer(Buffer.from(ext.value)).value.toString('utf8') : undefined;
}

describe.each(backends)('workload identity (OIDC ID tokens as callers) on $name', (backend) => {
  let database: Database;
  let github: TestIssuer;
  let gitlab: TestIssuer;
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    database = await backend.open();
    github = await startIssuer();
    gitlab = await startIssuer();
    t = await testApp(database, workloadFixture(github, gitlab));
  });
  afterAll(async () => {
    await database.close();
    await github.close();
    await gitlab.close();
  });

  const treeSize = async () => (await t.deps.log.checkpoint()).treeSize;

  it('a GitHub job signs provenance with its ID token: claims fill builder, source, workflow, run', async () => {
    const token = await github.mint(githubClaims());
    expect(token.length).toBeGreaterThan(512); // longer than a waybill token may be
    const res = await t.call('POST', '/v1/provenance', {
      token,
      body: { subjects: [{ name: 'ghcr.io/acme/app', digest: { sha256: DIGEST } }] },
    });
    expect(res.status).toBe(201);
    const rec = (await res.json()) as {
      signer: { subject: string; issuer: string };
      statement: { predicate: Record<string, Record<string, unknown>> };
      bundle: unknown;
    };
    expect(rec.signer).toEqual({ subject: WORKFLOW, issuer: github.url });
    expect(rec.statement.predicate).toEqual({
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: {
            repository: 'https://github.com/acme/app',
            path: '.github/workflows/release.yml',
            ref: 'refs/heads/main',
          },
        },
        resolvedDependencies: [
          { uri: 'git+https://github.com/acme/app@refs/heads/main', digest: { gitCommit: CLAIMED_SHA } },
        ],
      },
      runDetails: {
        builder: { id: WORKFLOW },
        metadata: { invocationId: 'https://github.com/acme/app/actions/runs/4242424242/attempts/1' },
      },
    });
    await verifyBundle(rec.bundle, {
      trustedRoot: t.deps.trustedRoot,
      identity: { subjectAlternativeName: WORKFLOW, issuer: github.url },
    });
    expect(leafExtension(rec.bundle, 8)).toBe(github.url);
    expect(leafExtension(rec.bundle, 12)).toBe('https://github.com/acme/app');
    expect(leafExtension(rec.bundle, 13)).toBe(CLAIMED_SHA);
    expect(leafExtension(rec.bundle, 21)).toBe('https://github.com/acme/app/actions/runs/4242424242/attempts/1');
  });

  it('provenance that contradicts the claims is a 422 naming the fields, and nothing is logged', async () => {
    const token = await github.mint(githubClaims());
    const before = await treeSize();
    const facts = await t.call('POST', '/v1/provenance', {
      token,
      body: {
        subjects: [{ name: 'ghcr.io/acme/app', digest: { sha256: 'b'.repeat(64) } }],
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {},
        builder: { id: 'https://ci.example.com/another-builder' },
        resolvedDependencies: [{ uri: 'git+https://github.com/acme/app', digest: { gitCommit: 'c'.repeat(40) } }],
      },
    });
    expect(facts.status).toBe(422);
    const problem = (await facts.json()) as { code: string; errors: Array<{ path: string; message: string }> };
    expect(problem.code).toBe('VERIFICATION_FAILED');
    expect(problem.errors.map((e) => e.path).sort()).toEqual([
      '/builder/id',
      '/resolvedDependencies/0/digest/gitCommit',
    ]);
    expect(problem.errors.find((e) => e.path === '/builder/id')!.message).toBe(
      `builder.id is "https://ci.example.com/another-builder"; the ID token says ${WORKFLOW}`,
    );

    const statement = await t.call('POST', '/v1/provenance', {
      token,
      body: {
        statement: {
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'ghcr.io/acme/app', digest: { sha256: 'b'.repeat(64) } }],
          predicateType: 'https://slsa.dev/provenance/v1',
          predicate: {
            buildDefinition: {
              buildType: 'https://actions.github.io/buildtypes/workflow/v1',
              externalParameters: {},
              resolvedDependencies: [
                { uri: 'git+https://github.com/evil/app@refs/heads/main', digest: { gitCommit: CLAIMED_SHA } },
              ],
            },
            runDetails: { builder: { id: WORKFLOW } },
          },
        },
      },
    });
    expect(statement.status).toBe(422);
    expect(((await statement.json()) as { errors: Array<{ path: string }> }).errors).toEqual([
      {
        path: '/statement/predicate/buildDefinition/resolvedDependencies',
        message:
          'the source is git+https://github.com/evil/app@refs/heads/main; ' +
          'the ID token says https://github.com/acme/app',
      },
    ]);
    expect(await treeSize()).toBe(before);
  });

  it('a GitLab pipeline signs provenance: builder from ci_config_ref_uri, the source at its commit', async () => {
    const res = await t.call('POST', '/v1/provenance', {
      token: await gitlab.mint(gitlabClaims()),
      body: {
        subjects: [{ name: 'registry.gitlab.com/acme/app', digest: { sha256: 'd'.repeat(64) } }],
        buildType: 'https://gitlab.com/acme/buildtypes/pipeline/v1',
      },
    });
    expect(res.status).toBe(201);
    const rec = (await res.json()) as {
      signer: { subject: string; issuer: string };
      statement: { predicate: { runDetails: { builder: { id: string } }; buildDefinition: Record<string, unknown> } };
    };
    expect(rec.signer).toEqual({
      subject: 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
      issuer: gitlab.url,
    });
    expect(rec.statement.predicate.runDetails.builder.id).toBe(
      'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
    );
    expect(rec.statement.predicate.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://gitlab.com/acme/app@refs/heads/main', digest: { gitCommit: CLAIMED_SHA } },
    ]);
    // GitLab has no standard buildType waybill could fill in.
    const missing = await t.call('POST', '/v1/provenance', {
      token: await gitlab.mint(gitlabClaims()),
      body: { subjects: [{ name: 'registry.gitlab.com/acme/app', digest: { sha256: 'd'.repeat(64) } }] },
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errors: unknown[] }).errors).toEqual([
      { path: '/buildType', message: 'required (or give a complete `statement`)' },
    ]);
  });

  it('an invalid token is 401 and a token no grant covers is 403, each saying why', async () => {
    const wrongAudience = await t.call('POST', '/v1/provenance', {
      token: await github.mint(githubClaims(), { audience: 'sigstore' }),
      body: { subjects: [{ name: 'x', digest: { sha256: DIGEST } }] },
    });
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.headers.get('content-type')).toBe('application/problem+json');
    expect(((await wrongAudience.json()) as { detail: string }).detail).toBe(
      'invalid ID token: audience must be "waybill"',
    );

    const feature = await t.call('POST', '/v1/provenance', {
      token: await github.mint(
        githubClaims({ ref: 'refs/heads/feature', sub: 'repo:acme/app:ref:refs/heads/feature' }),
      ),
      body: { subjects: [{ name: 'x', digest: { sha256: DIGEST } }] },
    });
    expect(feature.status).toBe(403);
    expect(((await feature.json()) as { detail: string }).detail).toBe(
      `no grant covers ${WORKFLOW} (sub "repo:acme/app:ref:refs/heads/feature")`,
    );
  });

  it('grants limit environments: a staging job tests and asks in dev and staging, not production', async () => {
    const token = await github.mint(githubClaims({ ref: 'refs/heads/feature', environment: 'staging' }));
    const testResult = (environment: string) =>
      t.call('POST', '/v1/attestations', {
        token,
        body: {
          environment,
          statement: {
            _type: 'https://in-toto.io/Statement/v1',
            subject: [{ name: 'ghcr.io/acme/app', digest: { sha256: DIGEST } }],
            predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
            predicate: { result: 'PASSED', configuration: [] },
          },
        },
      });
    const staging = await testResult('staging');
    expect(staging.status).toBe(201);
    expect(((await staging.json()) as { signer: { issuer: string } }).signer.issuer).toBe(github.url);
    const production = await testResult('production');
    expect(production.status).toBe(403);
    expect(((await production.json()) as { detail: string }).detail).toMatch(
      /may not act for environment "production" as tester \(its grants allow: dev, staging\)$/,
    );
    const verdict = (environment: string) =>
      t.call('POST', '/v1/verdicts', { token, body: { digest: `sha256:${DIGEST}`, environment } });
    expect((await verdict('production')).status).toBe(403);
    expect((await verdict('dev')).status).toBe(200);
    const bundle = await t.call('POST', '/v1/bundles', { token, body: { bundle: {}, environment: 'production' } });
    expect(bundle.status).toBe(403);

    // A main-branch job in the dev deployment environment also holds the unrestricted builder
    // and tester grant; its deployer role still holds only where its own grant says.
    const main = await github.mint(githubClaims({ environment: 'dev' }));
    const prodVerdict = await t.call('POST', '/v1/verdicts', {
      token: main,
      body: { digest: `sha256:${DIGEST}`, environment: 'production' },
    });
    expect(prodVerdict.status).toBe(403);
    expect(((await prodVerdict.json()) as { detail: string }).detail).toMatch(
      /as deployer \(its grants allow: dev, staging\)$/,
    );
  });

  it('provenance signed by a workload counts in policies that name its issuer and workflow', async () => {
    const token = await github.mint(githubClaims({ environment: 'dev', ref: 'refs/heads/main' }));
    const res = await t.call('POST', '/v1/verdicts', {
      token,
      body: { digest: `sha256:${DIGEST}`, environment: 'dev' },
    });
    expect(res.status).toBe(200);
    const verdict = (await res.json()) as { decision: string; rules: Array<{ name: string; satisfied: boolean }> };
    expect(verdict.rules).toEqual([expect.objectContaining({ name: 'built-by-acme-ci', satisfied: true })]);
    expect(verdict.decision).toBe('allow');
  });

  it("bearer-token callers keep today's certificates: waybill's issuer, no CI extensions", async () => {
    const res = await t.call('POST', '/v1/provenance', {
      token: await t.mint(['builder'], 'https://ci.example.com/pipelines/api'),
      body: {
        subjects: [{ name: 'x', digest: { sha256: 'e'.repeat(64) } }],
        buildType: 'https://example.com/build/v1',
        externalParameters: {},
        builder: { id: 'https://ci.example.com/builder' },
      },
    });
    expect(res.status).toBe(201);
    const rec = (await res.json()) as { signer: unknown; bundle: unknown };
    expect(rec.signer).toEqual({ subject: 'https://ci.example.com/pipelines/api', issuer: 'https://waybill.test' });
    expect(leafExtension(rec.bundle, 8)).toBe('https://waybill.test');
    expect(leafExtension(rec.bundle, 12)).toBeUndefined();
    const missing = await t.call('POST', '/v1/provenance', {
      token: await t.mint(['builder'], 'https://ci.example.com/pipelines/api'),
      body: { subjects: [{ name: 'x', digest: { sha256: 'e'.repeat(64) } }] },
    });
    expect(((await missing.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toEqual([
      '/buildType',
      '/externalParameters',
      '/builder',
    ]);
  });
});

describe.each(backends)('without WAYBILL_OIDC_CONFIG on $name', (backend) => {
  let database: Database;
  let github: TestIssuer;
  beforeAll(async () => {
    database = await backend.open();
    github = await startIssuer();
  });
  afterAll(async () => {
    await database.close();
    await github.close();
  });

  it('an ID token is refused with 401 saying so', async () => {
    const t = await testApp(database);
    const res = await t.call('GET', '/v1/attestations', { token: await github.mint(githubClaims()) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toBe('this waybill accepts no OIDC ID tokens');
  });
});
