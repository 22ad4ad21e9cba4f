// Bearer-token authentication and role checks. Unknown, expired and revoked tokens get the
// same 401 so the answer tells an attacker nothing about which tokens exist.
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.ts';
import { looksLikeJwt, MAX_JWT_LENGTH } from '../identity/token.ts';
import type { Caller, Role, TokenService } from '../services/tokens.ts';

declare module 'hono' {
  interface ContextVariableMap {
    caller: Caller | undefined;
  }
}

// The scheme is case-insensitive (RFC 9110 11.1). waybill tokens (and the bootstrap secret) are
// short; an OIDC ID token (a JWT, told apart by its three base64url parts and no wb_ prefix) runs
// to kilobytes.
const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i;
const MAX_SECRET_LENGTH = 512;

/** Require a valid token holding at least one of `roles` (none given: any role). */
export function requireRole(tokens: TokenService, ...roles: Role[]): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) throw new AppError('UNAUTHENTICATED', 'missing Authorization: Bearer <token> header');
    const m = BEARER.exec(header);
    if (!m || m[1]!.length > (looksLikeJwt(m[1]!) ? MAX_JWT_LENGTH : MAX_SECRET_LENGTH))
      throw new AppError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
    const caller = await tokens.authenticate(m[1]!);
    if (!caller) throw new AppError('UNAUTHENTICATED', 'invalid, expired or revoked token');
    c.set('caller', caller);
    if (roles.length > 0 && !roles.some((r) => caller.roles.includes(r))) {
      throw new AppError('FORBIDDEN', `this endpoint needs one of the roles: ${roles.join(', ')}`);
    }
    await next();
  };
}

export function callerOf(c: { get(key: 'caller'): Caller | undefined }): Caller {
  const caller = c.get('caller');
  // Routes only call this behind requireRole; reaching here without a caller is a bug: deny.
  if (!caller) throw new AppError('UNAUTHENTICATED', 'no authenticated caller');
  return caller;
}
