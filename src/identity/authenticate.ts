// An ID token in, a caller out: verify the token, derive its certificate identity, and give it
// the roles and environments of the grants it satisfies. An invalid token is UNAUTHENTICATED
// (401), a valid one that no grant covers FORBIDDEN (403), each with the reason.
import { createHash } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { OidcConfig } from './config.ts';
import { certificateIdentity } from './fulcio.ts';
import { matchGrants } from './grants.ts';
import type { JwksSource } from './jwks.ts';
import { verifyIdToken } from './token.ts';
import type { CallerScope, Workload } from './types.ts';

export interface WorkloadCaller extends CallerScope {
  /** `oidc:` and the first 16 hex characters of the token's SHA-256 (never the token). */
  tokenId: string;
  roles: string[];
  issuer: string;
  workload: Workload;
}

export class WorkloadAuthenticator {
  readonly #config: OidcConfig;
  readonly #jwks: JwksSource;

  constructor(config: OidcConfig, jwks: JwksSource) {
    this.#config = config;
    this.#jwks = jwks;
  }

  get config(): OidcConfig {
    return this.#config;
  }

  /** The verified workload behind a token, before grants (the Fulcio API needs no role to exist). */
  async workload(token: string, now = new Date()): Promise<Workload> {
    const { issuer, claims } = await verifyIdToken(token, this.#config.issuers, this.#jwks, now);
    const cert = certificateIdentity(issuer.type, claims, { issuer: issuer.issuer, serverUrl: issuer.serverUrl });
    return {
      issuer: issuer.issuer,
      type: issuer.type,
      tokenSubject: String(claims.sub),
      identity: cert.identity,
      claims,
      fields: cert.fields,
      extensions: cert.extensions,
      expiresAt: new Date(Number(claims.exp) * 1000).toISOString(),
    };
  }

  async authenticate(token: string, now = new Date()): Promise<WorkloadCaller> {
    const workload = await this.workload(token, now);
    const granted = matchGrants(this.#config.grants, workload.issuer, workload.claims);
    if (!granted || granted.roles.length === 0) {
      throw new AppError('FORBIDDEN', `no grant covers ${workload.identity} (sub "${workload.tokenSubject}")`);
    }
    return {
      tokenId: `oidc:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`,
      subject: workload.identity,
      roles: granted.roles,
      issuer: workload.issuer,
      environments: granted.environments,
      scopes: granted.scopes,
      workload,
    };
  }
}
