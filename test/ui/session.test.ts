// Signing in and out of the web UI: the cookie's flags, the CSP on every page, forms refused
// without the session's CSRF token or from another site, and no token ever in the HTML.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { type Callers, mintCallers } from '../helpers/story.ts';
import { cookieFrom, csrfOf, ORIGIN, uiClient } from '../helpers/ui.ts';

describe.each(backends)('web UI sessions ($name)', (backend) => {
  let db: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let ui: ReturnType<typeof uiClient>;

  beforeAll(async () => {
    db = await backend.open();
    t = await testApp(db);
    c = await mintCallers(t);
    ui = uiClient(t);
  });
  afterAll(async () => db.close());

  it('sends a signed-out visitor to the sign-in form, which has one token field', async () => {
    const res = await ui.get('/ui/exceptions');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/login?next=%2Fui%2Fexceptions');
    const form = await ui.get('/ui/login');
    const html = await form.text();
    expect(form.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toMatch(/<input id="token" name="token" type="password"/);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie for /ui, Secure behind https', async () => {
    const form = await t.app.request(`${ORIGIN}/ui/login`);
    const login = cookieFrom(form, 'waybill_login')!;
    const res = await t.app.request(`${ORIGIN}/ui/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        cookie: `waybill_login=${login}`,
      },
      body: new URLSearchParams({ csrf: csrfOf(await form.text())!, token: c.approver }).toString(),
    });
    expect(res.status).toBe(303);
    const line = res.headers.getSetCookie().find((l) => l.startsWith('waybill_session='))!;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).toMatch(/Path=\/ui/);
    expect(line).toMatch(/Secure/); // the test issuer is https://waybill.test
    expect(line).toMatch(/Max-Age=(28800|2879\d)/); // 8 hours
    expect(line).not.toContain(c.approver);
  });

  it('refuses a wrong token without creating a session', async () => {
    const form = await t.app.request(`${ORIGIN}/ui/login`);
    const login = cookieFrom(form, 'waybill_login')!;
    const res = await t.app.request(`${ORIGIN}/ui/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        cookie: `waybill_login=${login}`,
      },
      body: new URLSearchParams({ csrf: csrfOf(await form.text())!, token: 'wb_not-a-token' }).toString(),
    });
    expect(res.status).toBe(403);
    expect(cookieFrom(res, 'waybill_session')).toBeUndefined();
    expect(await res.text()).toContain('unknown, expired or revoked');
  });

  it('refuses a sign-in form that did not come from the sign-in page (login CSRF)', async () => {
    const res = await ui.post('/ui/login', { csrf: 'forged', token: c.approver });
    expect(res.status).toBe(403);
    expect(cookieFrom(res, 'waybill_session')).toBeUndefined();
  });

  it('puts a strict CSP and no token on every page', async () => {
    const session = await ui.signIn(c.approver);
    for (const path of ['/ui', '/ui/login', '/ui/exceptions', '/ui/log', '/ui/policies']) {
      const res = await ui.get(path, path === '/ui/login' ? undefined : session);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp, path).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      const html = await res.text();
      expect(html).not.toContain(c.approver);
      expect(html).not.toContain(session);
      expect(html).not.toMatch(/<script>|style="/);
    }
  });

  it('refuses a state-changing form without the CSRF token, with a wrong one, or from another site', async () => {
    const session = await ui.signIn(c.deployer);
    const { csrf } = await ui.page('/ui', session);
    expect(csrf).toBeTruthy();
    const none = await ui.post('/ui/logout', {}, { cookie: session });
    expect(none.status).toBe(403);
    const wrong = await ui.post('/ui/logout', { csrf: `${csrf}x` }, { cookie: session });
    expect(wrong.status).toBe(403);
    const crossSite = await ui.post(
      '/ui/logout',
      { csrf: csrf! },
      { cookie: session, headers: { origin: 'https://evil.example' } },
    );
    expect(crossSite.status).toBe(403);
    // still signed in after all three
    expect((await ui.get('/ui', session)).status).toBe(200);
  });

  it('signs out: the session row is gone, so the same cookie no longer opens a page', async () => {
    const session = await ui.signIn(c.tester);
    const { csrf } = await ui.page('/ui', session);
    const out = await ui.post('/ui/logout', { csrf: csrf! }, { cookie: session });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/ui/login');
    expect(out.headers.getSetCookie().some((l) => /^waybill_session=;/.test(l))).toBe(true);
    const again = await ui.get('/ui', session);
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toMatch(/^\/ui\/login/);
  });

  it('ends a session when the token that opened it is revoked', async () => {
    const minted = await t.deps.tokens.create({ subject: 'https://people.example.com/leaver', roles: ['auditor'] });
    const session = await ui.signIn(minted.token);
    expect((await ui.get('/ui', session)).status).toBe(200);
    await t.deps.tokens.revoke(minted.id);
    expect((await ui.get('/ui', session)).status).toBe(303);
  });

  it('names the signed-in caller in the access log, never the token or the cookie', async () => {
    const session = await ui.signIn(c.auditor);
    await ui.get('/ui/policies', session);
    const line = t.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .findLast((l) => l.path === '/ui/policies');
    expect(line?.caller).toBe('https://audit.example.com/');
    const all = t.logLines.join('\n');
    expect(all).not.toContain(c.auditor);
    expect(all).not.toContain(session);
  });

  it('serves its CSS and script from /ui/assets', async () => {
    const css = await ui.get('/ui/assets/ui.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const js = await ui.get('/ui/assets/ui.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  });
});
