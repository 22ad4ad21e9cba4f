// Sessions and request checks for the UI: the session cookie (HttpOnly, SameSite=Strict,
// Path=/ui, Secure behind https), the security headers every UI answer carries, and the CSRF
// check every state-changing form passes (same origin, and the session's token compared in
// constant time).
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { AppError } from '../errors.ts';
import { csrfMatches, type UiSession, type UiSessionService } from '../services/ui-sessions.ts';

declare module 'hono' {
  interface ContextVariableMap {
    uiSession: UiSession | undefined;
  }
}

export const SESSION_COOKIE = 'waybill_session';
/** The sign-in form's own double-submit token (there is no session yet to hold one). */
export const LOGIN_COOKIE = 'waybill_login';

export const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
    if (!c.res.headers.has('cache-control')) c.header('Cache-Control', 'no-store');
  };
}

export function cookieOptions(issuer: string, maxAgeSeconds?: number) {
  return {
    httpOnly: true,
    sameSite: 'Strict' as const,
    path: '/ui',
    secure: issuer.startsWith('https:'),
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

/** Loads the session the cookie names (if any) into `uiSession`. */
export function loadSession(sessions: UiSessionService): MiddlewareHandler {
  return async (c, next) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    const session = cookie ? await sessions.get(cookie) : undefined;
    c.set('uiSession', session);
    if (session) c.set('caller', session.caller); // named in the access log line, as for the API
    await next();
  };
}

export function sessionCookie(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

export function setSessionCookie(c: Context, issuer: string, value: string, expiresAt: Date): void {
  const seconds = Math.max(1, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  setCookie(c, SESSION_COOKIE, value, cookieOptions(issuer, seconds));
}

export function clearSessionCookie(c: Context, issuer: string): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(issuer));
}

/**
 * A cross-site request is refused: the Origin (or, without one, Sec-Fetch-Site) must be this
 * site's. Browsers send one of them on every form POST; a client sending neither still needs the
 * CSRF token.
 */
export function assertSameOrigin(c: Context, issuer: string): void {
  const origin = c.req.header('origin');
  const own = new Set([new URL(c.req.url).origin, new URL(issuer).origin]);
  if (origin !== undefined) {
    if (!own.has(origin)) throw new AppError('FORBIDDEN', 'cross-site form submission refused (Origin)');
    return;
  }
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    throw new AppError('FORBIDDEN', 'cross-site form submission refused (Sec-Fetch-Site)');
}

/** The form's fields, after the same-origin and CSRF checks for the signed-in session. */
export async function checkedForm(c: Context, issuer: string): Promise<{ session: UiSession; form: FormFields }> {
  const session = c.get('uiSession');
  if (!session) throw new AppError('UNAUTHENTICATED', 'sign in first: the session expired or was signed out');
  assertSameOrigin(c, issuer);
  const form = await formOf(c);
  if (!csrfMatches(session, form.csrf))
    throw new AppError('FORBIDDEN', 'the form carries no valid CSRF token; reload the page and try again');
  return { session, form };
}

export type FormFields = Record<string, string | undefined>;

/** An application/x-www-form-urlencoded or multipart body as strings (files are ignored). */
export async function formOf(c: Context): Promise<FormFields> {
  const type = c.req.header('content-type') ?? '';
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type))
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'the UI accepts HTML form submissions only');
  const body = await c.req.parseBody();
  const out: FormFields = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function loginCookie(c: Context): string | undefined {
  return getCookie(c, LOGIN_COOKIE);
}

export function setLoginCookie(c: Context, issuer: string, value: string): void {
  setCookie(c, LOGIN_COOKIE, value, cookieOptions(issuer, 3600));
}

export function clearLoginCookie(c: Context, issuer: string): void {
  deleteCookie(c, LOGIN_COOKIE, cookieOptions(issuer));
}
