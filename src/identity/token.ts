// OIDC ID-token verification with jose: the issuer must be configured, the signature must verify
// under one of its keys with an asymmetric algorithm, and `aud`, `exp`, `nbf` and `iat` must hold
// (60 s leeway). Every refusal says why, in words a CI maintainer can act on.
import { decodeJwt, errors, type JWTPayload, jwtVerify } from 'jose';
import { AppError } from '../errors.ts';
import type { OidcIssuer } from './config.ts';
import type { JwksSource } from './jwks.ts';

/** Asymmetric signature algorithms only: never `none`, never an HMAC keyed with a public key. */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

export const CLOCK_TOLERANCE_S = 60;

/** Longest ID token accepted (GitHub's run to ~1.5 KB; headers carry at most 16 KB). */
export const MAX_JWT_LENGTH = 8192;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Whether a bearer value is a compact JWS (three base64url parts), as opposed to a waybill token. */
export function looksLikeJwt(value: string): boolean {
  return !value.startsWith('wb_') && JWT_SHAPE.test(value);
}

export interface VerifiedToken {
  issuer: OidcIssuer;
  claims: JWTPayload & Record<string, unknown>;
}

const refuse = (reason: string, cause?: unknown): never => {
  throw new AppError('UNAUTHENTICATED', `invalid ID token: ${reason}`, { cause });
};

/** Verify a compact ID token against the configured issuers; UNAUTHENTICATED with the reason. */
export async function verifyIdToken(
  token: string,
  issuers: readonly OidcIssuer[],
  jwks: JwksSource,
  now: Date = new Date(),
): Promise<VerifiedToken> {
  if (token.length > MAX_JWT_LENGTH) refuse(`longer than ${MAX_JWT_LENGTH} characters`);
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch (err) {
    return refuse('not a JWT', err);
  }
  // Only selects the configuration; jwtVerify checks `iss` again once the signature holds.
  const issuer = issuers.find((i) => i.issuer === unverified.iss);
  if (!issuer) return refuse(`issuer ${JSON.stringify(unverified.iss ?? null)} is not configured`);
  try {
    const { payload } = await jwtVerify(token, jwks.keysFor(issuer), {
      issuer: issuer.issuer,
      audience: issuer.audience,
      algorithms: ALLOWED_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'iat', 'sub'],
      currentDate: now,
    });
    return { issuer, claims: payload as VerifiedToken['claims'] };
  } catch (err) {
    if (err instanceof AppError) throw err;
    return refuse(reasonOf(err, issuer), err);
  }
}

function reasonOf(err: unknown, issuer: OidcIssuer): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `audience must be "${issuer.audience}"`;
    if (err.claim === 'nbf') return 'not valid yet (nbf is in the future)';
    if (err.claim === 'iat') return 'issued in the future (iat)';
    return `claim ${err.claim}: ${err.reason}`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return 'the signature algorithm is not allowed (asymmetric algorithms only)';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return `no key of ${issuer.issuer} matches the token's kid`;
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'several issuer keys match the token; it needs a kid';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
    return `the keys of ${issuer.issuer} are unavailable`;
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return `malformed (${err.message})`;
  if (err instanceof errors.JOSENotSupported) return `unsupported (${err.message})`;
  if (err instanceof errors.JOSEError) return err.message;
  return `the keys of ${issuer.issuer} are unavailable`;
}
