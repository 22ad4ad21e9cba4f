// A local OIDC issuer for the tests: its own key pairs, a discovery document and a JWKS served
// on loopback, and tokens minted with the claim names GitHub Actions and GitLab really use.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';

interface Key {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export interface MintOptions {
  kid?: string;
  audience?: string | string[];
  issuer?: string;
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  notBefore?: number;
  /** Sign with this key instead of the one `kid` names (a forgery when the kid is another's). */
  signWith?: Key;
}

export interface TestIssuer {
  url: string;
  /** How often the JWKS was fetched. */
  readonly jwksFetches: number;
  readonly keys: Key[];
  mint(claims: Record<string, unknown>, opts?: MintOptions): Promise<string>;
  /** A key the issuer does not publish (until `publish`). */
  newKey(alg?: Key['alg']): Promise<Key>;
  publish(key: Key): void;
  /** The first key's public key as SPKI PEM (what an HS256 confusion attack uses as its secret). */
  publicKeyPem(): Promise<string>;
  /** Write the JWKS to a file (for `jwksFile`). */
  writeJwks(dir: string): string;
  close(): Promise<void>;
}

async function makeKey(alg: Key['alg']): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export async function startIssuer(): Promise<TestIssuer> {
  const keys: Key[] = [await makeKey('RS256')];
  let fetches = 0;
  let url = '';
  const server: Server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      send({
        issuer: url,
        jwks_uri: `${url}/.well-known/jwks`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (req.url === '/.well-known/jwks') {
      fetches++;
      send({ keys: keys.map((k) => k.jwk) });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    get jwksFetches() {
      return fetches;
    },
    keys,
    async mint(claims, opts = {}) {
      const key = opts.signWith ?? keys.find((k) => k.kid === (opts.kid ?? keys[0]!.kid)) ?? keys[0]!;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ nbf: opts.notBefore ?? now - 5, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: opts.kid ?? key.kid, typ: 'JWT' })
        .setIssuer(opts.issuer ?? url)
        .setAudience(opts.audience ?? 'waybill')
        .setIssuedAt(now - 5)
        .setExpirationTime(now + (opts.expiresIn ?? 300))
        .setJti(randomUUID());
      return jwt.sign(key.privateKey);
    },
    newKey: (alg = 'RS256') => makeKey(alg),
    publish(key) {
      keys.push(key);
    },
    async publicKeyPem() {
      return exportSPKI(keys[0]!.publicKey);
    },
    writeJwks(dir) {
      const file = path.join(dir, 'jwks.json');
      writeFileSync(file, JSON.stringify({ keys: keys.map((k) => k.jwk) }));
      return file;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const SHA = '7fd1a60b01f91b314f59955a4e4d4e80d8edf11d';
const WORKFLOW_SHA = '2f5c0a8e1b9d4c3a6e7f8091a2b3c4d5e6f70819';

/** The claims of a GitHub Actions ID token (names and shapes as GitHub issues them). */
export function githubClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'repo:acme/app:ref:refs/heads/main',
    ref: 'refs/heads/main',
    sha: SHA,
    repository: 'acme/app',
    repository_owner: 'acme',
    repository_owner_id: '1001',
    run_id: '4242424242',
    run_number: '17',
    run_attempt: '1',
    repository_visibility: 'private',
    repository_id: '2002',
    actor_id: '3003',
    actor: 'octocat',
    workflow: 'release',
    head_ref: '',
    base_ref: '',
    event_name: 'push',
    ref_protected: 'true',
    ref_type: 'branch',
    workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main',
    workflow_sha: WORKFLOW_SHA,
    job_workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main',
    job_workflow_sha: WORKFLOW_SHA,
    runner_environment: 'github-hosted',
    ...overrides,
  };
}

/** The claims of a GitLab CI ID token (`id_tokens:` in .gitlab-ci.yml). */
export function gitlabClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'project_path:acme/app:ref_type:branch:ref:main',
    namespace_id: '4004',
    namespace_path: 'acme',
    project_id: '5005',
    project_path: 'acme/app',
    user_id: '6006',
    user_login: 'gitlab-user',
    user_email: 'user@example.com',
    user_access_level: 'developer',
    pipeline_id: '7007',
    pipeline_source: 'push',
    job_id: '8008',
    ref: 'main',
    ref_type: 'branch',
    ref_path: 'refs/heads/main',
    ref_protected: 'true',
    runner_id: 9009,
    runner_environment: 'gitlab-hosted',
    sha: SHA,
    project_visibility: 'private',
    ci_config_ref_uri: 'gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main',
    ci_config_sha: SHA,
    ...overrides,
  };
}

export const CLAIMED_SHA = SHA;
