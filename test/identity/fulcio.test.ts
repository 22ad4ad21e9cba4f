// Claims -> certificate: the URI SAN and the Fulcio extensions (sigstore/fulcio docs/oid-info.md,
// config/identity/config.yaml) for each issuer type, and the leaf that carries them.
import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ASN1Obj } from '@sigstore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { certificateIdentity } from '../../src/identity/fulcio.ts';
import { type CaMaterial, generateCa } from '../../src/signing/ca.ts';
import { issueLeafSync } from '../../src/signing/leaf.ts';
import { githubClaims, gitlabClaims } from '../helpers/oidc-issuer.ts';

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const OID = (n: number) => `1.3.6.1.4.1.57264.1.${n}`;

/** Every Fulcio extension of a leaf: raw text for 1.1-1.6, the DER UTF8String's text for 1.8+. */
function fulcioExtensions(pem: string): Record<string, string> {
  const cert = new x509.X509Certificate(pem);
  const out: Record<string, string> = {};
  for (const ext of cert.extensions) {
    if (!ext.type.startsWith('1.3.6.1.4.1.57264.1.')) continue;
    const n = Number(ext.type.split('.').pop());
    const raw = Buffer.from(ext.value);
    if (n <= 6) out[n] = raw.toString('utf8');
    else {
      const der = ASN1Obj.parseBuffer(raw);
      expect(der.tag.number).toBe(0x0c); // UTF8String, universal
      out[n] = der.value.toString('utf8');
    }
  }
  return out;
}

describe('Fulcio extensions from claims', () => {
  let ca: CaMaterial;
  beforeAll(async () => {
    ca = await generateCa();
  });
  const leaf = (identity: ReturnType<typeof certificateIdentity>, issuer: string) =>
    issueLeafSync(ca, {
      subjectUri: identity.identity,
      issuer,
      publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      now: new Date(),
      extraExtensions: identity.extensions,
    }).pem;

  it('GitHub Actions: SAN https://github.com/{job_workflow_ref}, extensions 1.1 to 1.24 as Fulcio writes', () => {
    const claims = githubClaims({
      job_workflow_ref: 'acme/shared/.github/workflows/build.yml@refs/tags/v2',
      job_workflow_sha: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      environment: 'production',
    });
    const id = certificateIdentity('github-actions', claims, { issuer: GITHUB_ISSUER });
    expect(id.identity).toBe('https://github.com/acme/shared/.github/workflows/build.yml@refs/tags/v2');
    const pem = leaf(id, GITHUB_ISSUER);
    expect(new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: id.identity },
    ]);
    expect(fulcioExtensions(pem)).toEqual({
      1: GITHUB_ISSUER,
      2: 'push',
      3: claims.sha,
      4: 'release',
      5: 'acme/app',
      6: 'refs/heads/main',
      8: GITHUB_ISSUER,
      9: 'https://github.com/acme/shared/.github/workflows/build.yml@refs/tags/v2',
      10: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      11: 'github-hosted',
      12: 'https://github.com/acme/app',
      13: claims.sha,
      14: 'refs/heads/main',
      15: '2002',
      16: 'https://github.com/acme',
      17: '1001',
      18: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
      19: claims.workflow_sha,
      20: 'push',
      21: 'https://github.com/acme/app/actions/runs/4242424242/attempts/1',
      22: 'private',
      23: 'production',
      24: 'repo:acme/app:ref:refs/heads/main',
    });
  });

  it('GitHub Actions without a deployment environment leaves 1.23 out, as Fulcio does for an empty value', () => {
    const id = certificateIdentity('github-actions', githubClaims(), { issuer: GITHUB_ISSUER });
    expect(id.fields.deploymentEnvironment).toBeUndefined();
    expect(id.extensions.map((e) => e.oid)).not.toContain(OID(23));
  });

  it('GitHub Enterprise Server: serverUrl replaces https://github.com', () => {
    const id = certificateIdentity('github-actions', githubClaims(), {
      issuer: 'https://ghes.example.com/_services/token',
      serverUrl: 'https://ghes.example.com',
    });
    expect(id.identity).toBe('https://ghes.example.com/acme/app/.github/workflows/release.yml@refs/heads/main');
    expect(id.fields.sourceRepositoryUri).toBe('https://ghes.example.com/acme/app');
  });

  it('GitLab: SAN https://{ci_config_ref_uri}, ref from ref_type, numbers as text; no 1.2-1.6', () => {
    const issuer = 'https://gitlab.com';
    const claims = gitlabClaims({ project_id: 5005, namespace_id: 4004, environment: 'staging' });
    const id = certificateIdentity('gitlab', claims, { issuer });
    expect(id.identity).toBe('https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main');
    expect(fulcioExtensions(leaf(id, issuer))).toEqual({
      1: issuer,
      8: issuer,
      9: 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
      10: claims.sha,
      11: 'gitlab-hosted',
      12: 'https://gitlab.com/acme/app',
      13: claims.sha,
      14: 'refs/heads/main',
      15: '5005',
      16: 'https://gitlab.com/acme',
      17: '4004',
      18: 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
      19: claims.ci_config_sha,
      20: 'push',
      21: 'https://gitlab.com/acme/app/-/jobs/8008',
      22: 'private',
      23: 'staging',
      24: 'project_path:acme/app:ref_type:branch:ref:main',
    });
    const tag = certificateIdentity('gitlab', gitlabClaims({ ref: 'v1.2.0', ref_type: 'tag' }), { issuer });
    expect(tag.fields.sourceRepositoryRef).toBe('refs/tags/v1.2.0');
  });

  it("a self-managed GitLab's URLs name the instance (its issuer), not gitlab.com", () => {
    const id = certificateIdentity('gitlab', gitlabClaims(), { issuer: 'https://gitlab.example.com' });
    expect(id.fields.sourceRepositoryUri).toBe('https://gitlab.example.com/acme/app');
    expect(id.fields.runInvocationUri).toBe('https://gitlab.example.com/acme/app/-/jobs/8008');
  });

  it('refuses a token that lacks a claim the mapping names, listing every missing one', () => {
    const { job_workflow_ref: _a, run_attempt: _b, ...claims } = githubClaims();
    expect(() => certificateIdentity('github-actions', claims, { issuer: GITHUB_ISSUER })).toThrow(
      /lacks claims a github-actions identity needs: job_workflow_ref, run_attempt/,
    );
  });

  it('generic issuers: the sub claim is the URI SAN, with the token subject (1.24) and nothing else', () => {
    const id = certificateIdentity(
      'generic',
      { sub: 'https://ci.example.com/pipelines/42' },
      { issuer: 'https://id.example.com' },
    );
    expect(id.identity).toBe('https://ci.example.com/pipelines/42');
    expect(fulcioExtensions(leaf(id, 'https://id.example.com'))).toEqual({
      1: 'https://id.example.com',
      8: 'https://id.example.com',
      24: 'https://ci.example.com/pipelines/42',
    });
    expect(() => certificateIdentity('generic', { sub: 'alice' }, { issuer: 'https://id.example.com' })).toThrow(
      /needs a URI as its sub claim/,
    );
  });

  it('the CA refuses an extra extension it already writes', () => {
    expect(() =>
      issueLeafSync(ca, {
        subjectUri: 'https://ci.example.com/x',
        issuer: 'https://id.example.com',
        publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
        now: new Date(),
        extraExtensions: [{ oid: OID(8), critical: false, value: Buffer.from('x') }],
      }),
    ).toThrow(/appears twice/);
  });
});
