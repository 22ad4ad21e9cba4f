// Claims-bound provenance, field by field: what a CI identity's claims fill in, and what
// counts as contradicting them (SLSA v1 and v0.2).
import { describe, expect, it } from 'vitest';
import { certificateIdentity } from '../../src/identity/fulcio.ts';
import { bindProvenance, claimedBuild, contradictions, parseWorkflowUri } from '../../src/identity/provenance.ts';
import type { Workload } from '../../src/identity/types.ts';
import { CLAIMED_SHA, githubClaims, gitlabClaims } from '../helpers/oidc-issuer.ts';

const GH = 'https://token.actions.githubusercontent.com';
function workload(type: Workload['type'], claims: Record<string, unknown>, issuer = GH): Workload {
  const id = certificateIdentity(type, claims, { issuer });
  return { issuer, type, tokenSubject: String(claims.sub), claims, expiresAt: '', ...id };
}
const github = workload('github-actions', githubClaims());
const build = claimedBuild(github)!;
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

describe('claims-bound provenance', () => {
  it('reads the workflow from GitHub and GitLab build config URIs', () => {
    expect(parseWorkflowUri('github-actions', WORKFLOW)).toEqual({
      repository: 'https://github.com/acme/app',
      path: '.github/workflows/release.yml',
      ref: 'refs/heads/main',
    });
    expect(parseWorkflowUri('gitlab', 'https://gitlab.com/acme/group/app//ci/build.yml@refs/tags/v1')).toEqual({
      repository: 'https://gitlab.com/acme/group/app',
      path: 'ci/build.yml',
      ref: 'refs/tags/v1',
    });
  });

  it('keeps what agrees with the claims, fills what is missing, and allows other repositories as dependencies', () => {
    const statement: Record<string, unknown> = {
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          buildType: 'https://example.com/b',
          externalParameters: { workflow: { path: '.github/workflows/release.yml' } },
          resolvedDependencies: [
            { uri: 'git+https://github.com/acme/shared-lib@refs/tags/v3', digest: { gitCommit: 'd'.repeat(40) } },
            { uri: 'git+https://github.com/acme/app.git', digest: { gitCommit: CLAIMED_SHA.toUpperCase() } },
          ],
        },
        runDetails: { builder: { id: WORKFLOW } },
      },
    };
    bindProvenance(statement, github);
    expect(statement.predicate).toEqual({
      buildDefinition: {
        buildType: 'https://example.com/b',
        externalParameters: { workflow: { path: '.github/workflows/release.yml' } },
        resolvedDependencies: [
          { uri: 'git+https://github.com/acme/shared-lib@refs/tags/v3', digest: { gitCommit: 'd'.repeat(40) } },
          { uri: 'git+https://github.com/acme/app.git', digest: { gitCommit: CLAIMED_SHA.toUpperCase() } },
        ],
      },
      runDetails: {
        builder: { id: WORKFLOW },
        metadata: { invocationId: 'https://github.com/acme/app/actions/runs/4242424242/attempts/1' },
      },
    });
  });

  it('names every contradicting field of a v1 statement', () => {
    const errors = contradictions(
      {
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {
          buildDefinition: {
            externalParameters: {
              workflow: { repository: 'https://github.com/acme/app', path: 'other.yml', ref: 'refs/heads/main' },
            },
            resolvedDependencies: [{ uri: 'git+https://github.com/acme/app', digest: { gitCommit: 'e'.repeat(40) } }],
          },
          runDetails: {
            builder: { id: WORKFLOW },
            metadata: { invocationId: 'https://github.com/acme/app/actions/runs/1/attempts/1' },
          },
        },
      },
      build,
      '/statement',
    );
    expect(errors.map((e) => e.path)).toEqual([
      '/statement/predicate/buildDefinition/resolvedDependencies/0/digest/gitCommit',
      '/statement/predicate/buildDefinition/externalParameters/workflow/path',
      '/statement/predicate/runDetails/metadata/invocationId',
    ]);
  });

  it('checks v0.2 provenance (read, never written): builder, config source and invocation', () => {
    const errors = contradictions(
      {
        predicateType: 'https://slsa.dev/provenance/v0.2',
        predicate: {
          builder: {
            id: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator.yml@refs/tags/v1',
          },
          invocation: {
            configSource: { uri: 'git+https://github.com/acme/app@refs/heads/main', digest: { sha1: CLAIMED_SHA } },
          },
        },
      },
      build,
      '/payload',
    );
    expect(errors).toEqual([
      {
        path: '/payload/predicate/builder/id',
        message:
          'builder.id is "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator.yml' +
          `@refs/tags/v1"; the ID token says ${WORKFLOW}`,
      },
    ]);
  });

  it('GitLab binds to the project and pipeline definition; a generic issuer binds nothing', () => {
    const gitlab = claimedBuild(workload('gitlab', gitlabClaims(), 'https://gitlab.com'))!;
    expect(gitlab).toEqual({
      builderId: 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
      repository: 'https://gitlab.com/acme/app',
      commit: CLAIMED_SHA,
      ref: 'refs/heads/main',
      workflow: { repository: 'https://gitlab.com/acme/app', path: '.gitlab-ci.yml', ref: 'refs/heads/main' },
      invocationId: 'https://gitlab.com/acme/app/-/jobs/8008',
    });
    expect(
      claimedBuild(workload('generic', { sub: 'https://ci.example.com/x' }, 'https://id.example.com')),
    ).toBeUndefined();
  });
});
