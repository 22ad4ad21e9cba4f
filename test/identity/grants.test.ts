// The OIDC configuration file and its grants: which verified tokens get which roles and
// environments, by repository, ref and environment claims.
import { describe, expect, it } from 'vitest';
import { parseOidcConfig } from '../../src/identity/config.ts';
import { assertMayActFor, environmentsFor, matchGrants } from '../../src/identity/grants.ts';
import { ROLES } from '../../src/services/tokens.ts';
import { githubClaims } from '../helpers/oidc-issuer.ts';

const GH = 'https://token.actions.githubusercontent.com';
const parse = (text: string) =>
  parseOidcConfig(text, { source: 'oidc.yaml', roles: ROLES, environments: ['dev', 'staging', 'production'] });

const CONFIG = `
issuers:
  - issuer: ${GH}
    type: github-actions
    audience: waybill
grants:
  - issuer: ${GH}
    claims: { repository: acme/app, ref: refs/heads/main }
    roles: [builder]
  - issuer: ${GH}
    claims: { repository: acme/app, environment: "^(dev|staging)$" }
    roles: [tester, deployer]
    environments: [dev, staging]
  - issuer: ${GH}
    claims: { repository_owner: acme, ref: "^refs/tags/v[0-9]+\\\\.[0-9]+\\\\.[0-9]+$" }
    roles: [builder]
`;

describe('grants', () => {
  const config = parse(CONFIG);

  it('a main-branch build of acme/app is a builder, unrestricted in environments', () => {
    expect(matchGrants(config.grants, GH, githubClaims())).toEqual({
      roles: ['builder'],
      environments: null,
      scopes: [{ roles: ['builder'], environments: null }],
      grants: [0],
    });
  });

  it('another repository, or another branch, gets nothing', () => {
    expect(matchGrants(config.grants, GH, githubClaims({ repository: 'acme/other' }))).toBeUndefined();
    expect(matchGrants(config.grants, GH, githubClaims({ ref: 'refs/heads/feature' }))).toBeUndefined();
    expect(matchGrants(config.grants, 'https://gitlab.com', githubClaims())).toBeUndefined();
  });

  it('a job in the staging deployment environment may test and deploy, for dev and staging only', () => {
    const granted = matchGrants(
      config.grants,
      GH,
      githubClaims({ ref: 'refs/heads/feature', environment: 'staging' }),
    )!;
    expect(granted).toMatchObject({ roles: ['deployer', 'tester'], environments: ['dev', 'staging'] });
    const caller = { subject: 'https://github.com/acme/app/x', environments: granted.environments };
    expect(() => assertMayActFor(caller, 'staging')).not.toThrow();
    expect(() => assertMayActFor(caller, 'production')).toThrow(
      /may not act for environment "production" \(its grants allow: dev, staging\)/,
    );
    expect(
      matchGrants(config.grants, GH, githubClaims({ environment: 'production', ref: 'refs/heads/x' })),
    ).toBeUndefined();
  });

  it('regular expressions are anchored and matched whole', () => {
    expect(matchGrants(config.grants, GH, githubClaims({ ref: 'refs/tags/v1.2.3' }))?.roles).toEqual(['builder']);
    expect(matchGrants(config.grants, GH, githubClaims({ ref: 'refs/tags/v1.2.3-rc1' }))).toBeUndefined();
  });

  it("grants add up; an environment limit binds its own grant's roles (deployer only in dev, staging)", () => {
    const granted = matchGrants(config.grants, GH, githubClaims({ environment: 'dev' }))!;
    expect(granted).toMatchObject({ roles: ['builder', 'deployer', 'tester'], environments: null, grants: [0, 1] });
    const caller = { subject: 'https://github.com/acme/app/x', ...granted };
    expect(environmentsFor(caller, ['deployer'])).toEqual(['dev', 'staging']);
    expect(environmentsFor(caller, ['tester'])).toEqual(['dev', 'staging']);
    expect(environmentsFor(caller, ['builder', 'tester'])).toBeNull();
    expect(() => assertMayActFor(caller, 'production', ['deployer'])).toThrow(
      /may not act for environment "production" as deployer \(its grants allow: dev, staging\)/,
    );
    expect(() => assertMayActFor(caller, 'production', ['tester', 'builder'])).not.toThrow();
  });
});

describe('the OIDC configuration file', () => {
  it('reports every problem at once', () => {
    expect(() =>
      parse(`
issuers:
  - issuer: http://token.example.com
    type: jenkins
    audience: waybill
`),
    ).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringMatching(/^issuers\.0\.issuer: must be an https:\/\/ URL/),
          expect.stringMatching(/^issuers\.0\.type: /),
        ],
      }),
    );
    expect(() =>
      parse(`
issuers:
  - issuer: "${GH}"
    type: github-actions
    audience: waybill
    jwksUri: "https://a.example.com/jwks"
    jwksFile: jwks.json
grants:
  - issuer: https://unknown.example.com
    claims: { repository: "^(unclosed$" }
    roles: [builder, admin, wizard]
    environments: [qa]
`),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'issuers.0: give jwksUri or jwksFile, not both',
          'grants.0.issuer: https://unknown.example.com is not one of the configured issuers',
          expect.stringMatching(/^grants\.0\.claims\.repository: invalid regular expression/),
          'grants.0.roles: an ID token cannot be an admin',
          'grants.0.roles: unknown role "wizard"',
          'grants.0.environments: unknown environment "qa"',
        ],
      }),
    );
  });

  it('accepts http:// issuers on loopback only (a local issuer in tests)', () => {
    const ok = parse(`issuers:\n  - { issuer: "http://127.0.0.1:5556", type: generic, audience: waybill }\n`);
    expect(ok.issuers[0]!.issuer).toBe('http://127.0.0.1:5556');
    expect(() => parse(`issuers:\n  - { issuer: "http://10.0.0.1:5556", type: generic, audience: waybill }\n`)).toThrow(
      /must be an https:\/\/ URL/,
    );
  });
});

describe('grant patterns', () => {
  it('keep a top-level alternation anchored at both ends', () => {
    const config = parse(
      `issuers:\n  - { issuer: "${GH}", type: github-actions, audience: waybill }\n` +
        `grants:\n  - { issuer: "${GH}", claims: { ref: "^refs/heads/main|refs/heads/release$" }, roles: [builder] }\n`,
    );
    expect(matchGrants(config.grants, GH, githubClaims({ ref: 'refs/heads/release' }))).toBeDefined();
    expect(matchGrants(config.grants, GH, githubClaims({ ref: 'refs/heads/main-evil' }))).toBeUndefined();
    expect(matchGrants(config.grants, GH, githubClaims({ ref: 'x/refs/heads/release' }))).toBeUndefined();
  });
});
