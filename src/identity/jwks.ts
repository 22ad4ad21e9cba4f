// The one I/O of identity/: where an issuer's signing keys come from. `JwksSource` is the port;
// `httpJwks` is the real one: a configured JWKS file (air-gapped), a configured JWKS URL, or
// OIDC discovery (`<issuer>/.well-known/openid-configuration` -> `jwks_uri`). Remote key sets are
// jose's: cached, and fetched again for an unknown `kid` once the cooldown since the last fetch
// has passed (so a flood of made-up kids cannot make waybill hammer the issuer).
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../errors.ts';
import { isAcceptableUrl, type OidcIssuer } from './config.ts';

export interface JwksSource {
  /** The key resolver for one configured issuer (jose's getKey function). */
  keysFor(issuer: OidcIssuer): JWTVerifyGetKey;
}

export interface HttpJwksOptions {
  /** How long after a fetch an unknown `kid` may trigger another one. Default 30 s (jose's). */
  cooldownMs?: number;
  /** How long a fetched key set is used before it is fetched again. Default 10 min. */
  maxAgeMs?: number;
  timeoutMs?: number;
}

export function httpJwks(opts: HttpJwksOptions = {}): JwksSource {
  const sets = new Map<string, JWTVerifyGetKey>();
  return {
    keysFor(issuer) {
      let set = sets.get(issuer.issuer);
      if (!set) {
        set = resolverFor(issuer, opts);
        sets.set(issuer.issuer, set);
      }
      return set;
    },
  };
}

function resolverFor(issuer: OidcIssuer, opts: HttpJwksOptions): JWTVerifyGetKey {
  if (issuer.jwksFile) {
    // Read once, at first use: an unreadable file is an operator error shown on every request.
    let local: JWTVerifyGetKey | undefined;
    return (header, token) => {
      local ??= createLocalJWKSet(readJwksFile(issuer.jwksFile!));
      return local(header, token);
    };
  }
  const remoteOptions = {
    timeoutDuration: opts.timeoutMs ?? 5000,
    ...(opts.cooldownMs !== undefined ? { cooldownDuration: opts.cooldownMs } : {}),
    ...(opts.maxAgeMs !== undefined ? { cacheMaxAge: opts.maxAgeMs } : {}),
  };
  if (issuer.jwksUri) return createRemoteJWKSet(new URL(issuer.jwksUri), remoteOptions);
  // Discovery runs once; a failed discovery is tried again on the next token.
  let discovered: Promise<JWTVerifyGetKey> | undefined;
  return async (header, token) => {
    discovered ??= discover(issuer.issuer, opts.timeoutMs ?? 5000).then((uri) =>
      createRemoteJWKSet(new URL(uri), remoteOptions),
    );
    try {
      const set = await discovered;
      return await set(header, token);
    } catch (err) {
      if (err instanceof AppError) discovered = undefined;
      throw err;
    }
  };
}

function readJwksFile(file: string): JSONWebKeySet {
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet;
    if (!Array.isArray(json?.keys)) throw new Error('no "keys" array');
    return json;
  } catch (err) {
    throw new AppError('INTERNAL', `cannot use the JWKS file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function discover(issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer}/.well-known/openid-configuration`;
  let doc: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as typeof doc;
  } catch (err) {
    throw new AppError('UNAUTHENTICATED', `the issuer's OIDC discovery document (${url}) is unavailable`, {
      cause: err,
    });
  }
  // OpenID Connect Discovery 1.0 section 4.3: the document must name the issuer it was fetched for.
  if (doc.issuer !== issuer) {
    throw new AppError('UNAUTHENTICATED', `the discovery document at ${url} names another issuer`);
  }
  if (typeof doc.jwks_uri !== 'string' || !isAcceptableUrl(doc.jwks_uri)) {
    throw new AppError('UNAUTHENTICATED', `the discovery document at ${url} has no usable jwks_uri`);
  }
  return doc.jwks_uri;
}
