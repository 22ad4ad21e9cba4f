// Web UI sessions: a waybill token is presented once, at sign-in, and never again; the browser
// holds a random 256-bit cookie value whose SHA-256 names a server-side row with the caller the
// token stood for and a per-session CSRF secret. Sign-out deletes the row.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { UiSessionRepo } from '../storage/ui-session-repo.ts';
import { sha256hex } from '../util/encoding.ts';
import type { Caller, TokenService } from './tokens.ts';

export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface UiSession {
  caller: Caller;
  csrf: string;
  expiresAt: Date;
}

export class UiSessionService {
  readonly #sessions: UiSessionRepo;
  readonly #tokens: TokenService;
  readonly #now: () => Date;

  constructor(sessions: UiSessionRepo, tokens: TokenService, opts: { now?: () => Date } = {}) {
    this.#sessions = sessions;
    this.#tokens = tokens;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Sign in with a token: the cookie value to set, or undefined for an unknown, expired or revoked token. */
  async signIn(token: string): Promise<{ cookie: string; session: UiSession } | undefined> {
    const now = this.#now();
    const caller = await this.#tokens.authenticate(token, now).catch(() => undefined);
    if (!caller) return undefined;
    const cookie = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    // A session lasts 8 hours, and never beyond a CI ID token's own expiry.
    const tokenExpiry = caller.workload ? Date.parse(caller.workload.expiresAt) : Number.POSITIVE_INFINITY;
    const expiresAt = new Date(Math.min(now.getTime() + SESSION_TTL_MS, tokenExpiry));
    await this.#sessions.deleteExpired(now); // expired rows go at the next sign-in
    await this.#sessions.insert({
      id: sha256hex(cookie),
      tokenId: caller.tokenId,
      caller,
      csrf,
      createdAt: now,
      expiresAt,
    });
    return { cookie, session: { caller, csrf, expiresAt } };
  }

  /**
   * The session a cookie value stands for. A session ends with its token: revoking or expiring
   * the token that signed in ends the session too.
   */
  async get(cookie: string): Promise<UiSession | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(cookie)) return undefined;
    const now = this.#now();
    const row = await this.#sessions.active(sha256hex(cookie), now);
    if (!row) return undefined;
    const caller = row.caller as Caller;
    if (!caller.workload) {
      const token = await this.#tokens.get(row.tokenId);
      if (!token || token.revokedAt || (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime())) {
        await this.#sessions.delete(row.id);
        return undefined;
      }
    }
    return { caller, csrf: row.csrf, expiresAt: row.expiresAt };
  }

  async signOut(cookie: string): Promise<void> {
    await this.#sessions.delete(sha256hex(cookie));
  }
}

/** Whether a submitted secret is the expected one, in constant time (an empty or missing one never is). */
export function sameSecret(expected: string | undefined, submitted: unknown): boolean {
  if (!expected || typeof submitted !== 'string' || submitted.length === 0) return false;
  return timingSafeEqual(Buffer.from(sha256hex(expected), 'hex'), Buffer.from(sha256hex(submitted), 'hex'));
}

/** Whether a submitted CSRF token is the session's (in constant time). */
export function csrfMatches(session: UiSession, submitted: unknown): boolean {
  return sameSecret(session.csrf, submitted);
}
