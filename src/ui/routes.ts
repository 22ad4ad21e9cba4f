// The web UI under /ui: server-rendered pages over the services (never HTTP to itself), a
// server-side session per browser, CSRF-checked forms, a strict CSP, and what each page offers
// following the caller's roles.
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { EVIDENCE_PACK_MEDIA_TYPE } from '../audit/pack.ts';
import type { Deps } from '../deps.ts';
import { AppError, ERRORS, messageOf } from '../errors.ts';
import { sameSecret, type UiSession } from '../services/ui-sessions.ts';
import { CSS, JS } from './assets.ts';
import type { Html } from './html.ts';
import { boardData, boardPage } from './pages/board.ts';
import { diffData, diffPage } from './pages/diff.ts';
import { errorPage } from './pages/error.ts';
import { inboxData, inboxPage } from './pages/inbox.ts';
import { logData, logPage } from './pages/log.ts';
import { loginPage } from './pages/login.ts';
import { passportData, passportPage } from './pages/passport.ts';
import { policiesData, policiesPage } from './pages/policies.ts';
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
import { ChainCache } from './verify.ts';

export type UiDeps = Pick<
  Deps,
  | 'config'
  | 'logger'
  | 'uiSessions'
  | 'policies'
  | 'deployments'
  | 'intake'
  | 'rebuilds'
  | 'revocations'
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
  const chains = new ChainCache();
  const render = (c: Context, html: Html, status: 200 | 400 | 403 | 404 | 409 = 200) => c.html(html, status);

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
    if (!sameSecret(expected, form.csrf))
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
    return render(c, boardPage(await boardData(deps, chains), session, issuer));
  });

  ui.get('/artifacts/:digest', async (c) => {
    const session = signedIn(c);
    const digest = digestParam(c, 'digest');
    const data = await passportData(deps, chains, digest);
    return render(c, passportPage(data, session, issuer), data.artifact ? 200 : 404);
  });

  ui.get('/artifacts/:a/diff/:b', async (c) => {
    const session = signedIn(c);
    return render(c, diffPage(await diffData(deps, digestParam(c, 'a'), digestParam(c, 'b')), session));
  });

  ui.get('/exceptions', async (c) => {
    const session = signedIn(c);
    return render(c, inboxPage(await inboxData(deps), session));
  });

  // Approve through the page as through POST /v1/rebuild-exceptions/{id}/approvals: approvers
  // only; RebuildService keeps the rest (not the requester, once each, pending and unexpired).
  ui.post('/exceptions/:id/approve', async (c) => {
    const { session } = await checkedForm(c, issuer);
    const id = c.req.param('id');
    let notice: { tone: 'success' | 'error'; text: string };
    let status: 200 | 403 | 404 | 409 = 200;
    try {
      if (!session.caller.roles.includes('approver'))
        throw new AppError('FORBIDDEN', 'only approvers (role approver) may approve exceptions');
      const after = await deps.rebuilds.approve(id, session.caller);
      deps.logger.info({ caller: session.caller.subject, exception: id, status: after.status }, 'ui approval');
      notice = {
        tone: 'success',
        text:
          after.status === 'approved'
            ? `Exception ${id} is approved and signed (${after.approvers.length} approvals).`
            : `Your approval of ${id} is recorded (${after.approvers.length} of ${after.minApprovals}).`,
      };
    } catch (err) {
      if (!(err instanceof AppError) || !['FORBIDDEN', 'CONFLICT', 'NOT_FOUND'].includes(err.code)) throw err;
      notice = { tone: 'error', text: err.message };
      status = ERRORS[err.code].status as 403 | 404 | 409;
    }
    return render(c, inboxPage(await inboxData(deps), session, notice), status);
  });

  // Reject through the page as through POST /v1/rebuild-exceptions/{id}/rejections: approvers
  // only, with a reason (1 to 2000 characters, as the API asks); RebuildService keeps the rest
  // (not the requester, pending only, an approver the policy names) and signs the rejection.
  ui.post('/exceptions/:id/reject', async (c) => {
    const { session, form } = await checkedForm(c, issuer);
    const id = c.req.param('id');
    const reason = (form.reason ?? '').trim();
    let notice: { tone: 'success' | 'error'; text: string };
    let status: 200 | 400 | 403 | 404 | 409 = 200;
    try {
      if (!session.caller.roles.includes('approver'))
        throw new AppError('FORBIDDEN', 'only approvers (role approver) may reject exceptions');
      if (reason.length === 0 || reason.length > 2000)
        throw new AppError(
          'VALIDATION_FAILED',
          reason.length === 0
            ? `Say why exception ${id} is rejected: the reason is required.`
            : `The reason for rejecting ${id} is too long (at most 2000 characters).`,
        );
      const after = await deps.rebuilds.reject(id, reason, session.caller);
      deps.logger.info({ caller: session.caller.subject, exception: id, status: after.status }, 'ui rejection');
      notice = { tone: 'success', text: `Exception ${id} is rejected; the rejection is signed (${after.rejection}).` };
    } catch (err) {
      if (!(err instanceof AppError) || !['VALIDATION_FAILED', 'FORBIDDEN', 'CONFLICT', 'NOT_FOUND'].includes(err.code))
        throw err;
      notice = { tone: 'error', text: err.message };
      status = ERRORS[err.code].status as 400 | 403 | 404 | 409;
    }
    return render(c, inboxPage(await inboxData(deps), session, notice), status);
  });

  ui.get('/log', async (c) => {
    const session = signedIn(c);
    return render(c, logPage(await logData(deps), session, issuer));
  });

  ui.get('/policies', async (c) => {
    const session = signedIn(c);
    return render(c, policiesPage(await policiesData(deps), session));
  });

  // Downloads for the passport's links: the same bodies as GET /v1/attestations/{id} (its bundle)
  // and GET /v1/artifacts/{digest}/evidence, for a browser that holds a session instead of a token.
  ui.get('/attestations/:id/bundle', async (c) => {
    signedIn(c);
    const id = c.req.param('id');
    const record = /^[0-9a-f]{64}$/.test(id) ? await deps.attest.get(id) : undefined;
    if (!record) throw new AppError('NOT_FOUND', `no attestation ${id}`);
    c.header('content-disposition', `attachment; filename="${id.slice(0, 12)}.sigstore.json"`);
    return c.body(JSON.stringify(record.bundle, null, 2), 200, { 'content-type': 'application/json' });
  });

  ui.get('/artifacts/:digest/evidence', async (c) => {
    const session = signedIn(c);
    if (!session.caller.roles.includes('auditor'))
      throw new AppError('FORBIDDEN', 'evidence packs are for auditors (role auditor)');
    const digest = digestParam(c, 'digest');
    const pack = await deps.audit.artifactPack(digest);
    c.header('content-disposition', `attachment; filename="evidence-${digest.slice(7, 19)}.json"`);
    return c.body(JSON.stringify(pack, null, 2), 200, { 'content-type': EVIDENCE_PACK_MEDIA_TYPE });
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
