// The web UI under /ui: server-rendered pages over the services (never HTTP to itself), a
// server-side session per browser, CSRF-checked forms, a strict CSP, and what each page offers
// following the caller's roles.
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { AppError, ERRORS, messageOf } from '../errors.ts';
import type { UiSession } from '../services/ui-sessions.ts';
import { CSS, JS } from './assets.ts';
import type { Html } from './html.ts';
import { boardData, boardPage } from './pages/board.ts';
import { errorPage } from './pages/error.ts';
import { loginPage } from './pages/login.ts';
import {
  assertSameOrigin,
  checkedForm,
  clearLoginCookie,
  clearSessionCookie,
  formOf,
  loadSession,
  loginCookie,
  securityHeaders,
  sessionCookie,
  setLoginCookie,
  setSessionCookie,
} from './session.ts';

export type UiDeps = Pick<
  Deps,
  | 'config'
  | 'logger'
  | 'uiSessions'
  | 'policies'
  | 'deployments'
  | 'intake'
  | 'rebuilds'
  | 'audit'
  | 'trustedRoot'
  | 'attest'
  | 'log'
  | 'keys'
>;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A page for the signed-in session, or a redirect to the sign-in form. */
function signedIn(c: Context): UiSession {
  const session = c.get('uiSession');
  if (!session) throw new AppError('UNAUTHENTICATED', 'sign in first');
  return session;
}

function digestParam(c: Context, name: string): string {
  const value = c.req.param(name) ?? '';
  if (!DIGEST.test(value))
    throw new AppError('VALIDATION_FAILED', `${name}: expected sha256:<64 lowercase hex digits>`, {
      errors: [{ path: `/${name}`, message: 'expected sha256:<64 lowercase hex digits>' }],
    });
  return value;
}

// Only a path inside the UI may be a sign-in's destination (no open redirect).
function safeNext(next: string | undefined): string {
  return next && /^\/ui(\/[A-Za-z0-9._:/-]*)?$/.test(next) && !next.includes('//') ? next : '/ui';
}

export function uiRoutes(deps: UiDeps): Hono {
  const ui = new Hono();
  const issuer = deps.config.issuer;
  const render = (c: Context, html: Html, status: 200 | 403 | 404 | 409 = 200) => c.html(html, status);

  ui.use(securityHeaders());
  ui.get('/assets/ui.css', (c) =>
    c.body(CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' }),
  );
  ui.get('/assets/ui.js', (c) =>
    c.body(JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' }),
  );
  ui.use(loadSession(deps.uiSessions));

  ui.get('/login', (c) => {
    if (c.get('uiSession')) return c.redirect('/ui', 303);
    const csrf = randomBytes(32).toString('base64url');
    setLoginCookie(c, issuer, csrf);
    const next = c.req.query('next');
    return render(c, loginPage({ csrf, ...(next ? { next: safeNext(next) } : {}) }));
  });

  ui.post('/login', async (c) => {
    assertSameOrigin(c, issuer);
    const form = await formOf(c);
    const expected = loginCookie(c);
    const fresh = randomBytes(32).toString('base64url');
    const again = (error: string, status: 200 | 403) => {
      setLoginCookie(c, issuer, fresh);
      return render(c, loginPage({ csrf: fresh, error, next: safeNext(form.next) }), status);
    };
    if (!expected || form.csrf !== expected)
      return again('The sign-in form expired or did not come from this site. Please try again.', 403);
    const token = (form.token ?? '').trim();
    const signed = token.length > 0 && token.length <= 8192 ? await deps.uiSessions.signIn(token) : undefined;
    if (!signed) return again('That token is unknown, expired or revoked.', 403);
    clearLoginCookie(c, issuer);
    setSessionCookie(c, issuer, signed.cookie, signed.session.expiresAt);
    deps.logger.info({ caller: signed.session.caller.subject }, 'ui sign-in');
    return c.redirect(safeNext(form.next), 303);
  });

  ui.post('/logout', async (c) => {
    await checkedForm(c, issuer);
    const cookie = sessionCookie(c);
    if (cookie) await deps.uiSessions.signOut(cookie);
    clearSessionCookie(c, issuer);
    return c.redirect('/ui/login', 303);
  });

  ui.get('/', async (c) => {
    const session = signedIn(c);
    return render(c, boardPage(await boardData(deps), session, issuer));
  });

  ui.onError((err, c) => {
    const session = c.get('uiSession') ?? null;
    if (err instanceof AppError) {
      if (err.code === 'UNAUTHENTICATED' && c.req.method === 'GET') {
        const next = new URL(c.req.url).pathname;
        return c.redirect(
          `/ui/login${next === '/ui' || next === '/ui/' ? '' : `?next=${encodeURIComponent(next)}`}`,
          303,
        );
      }
      const { status, title } = ERRORS[err.code];
      return c.html(errorPage({ status, title, detail: err.message, session }), status as 400);
    }
    deps.logger.error({ err: messageOf(err) }, 'ui page failed');
    return c.html(
      errorPage({ status: 500, title: 'Internal error', detail: 'Something went wrong; it was logged.', session }),
      500,
    );
  });
  return ui;
}

export { digestParam };
