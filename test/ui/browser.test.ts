// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright's Locator.innerText(), not the DOM's
// The web UI in a real browser (Debian's chromium driven by playwright-core) against a real HTTP
// server: sign in through the form, read the board, the passport and the diff after a promotion
// story, approve a rebuild exception as two approvers, see a forged cross-site POST refused, and
// let axe-core find no serious or critical accessibility violation on any page. With
// UPDATE_SCREENSHOTS=1 it saves each page under docs/ui/ for the README.
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import axe from 'axe-core';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { freePort } from '../helpers/process.ts';
import { type Callers, mintCallers, pipeline, type Story } from '../helpers/story.ts';
import { pendingRebuild } from '../helpers/ui.ts';

const CHROMIUM = '/usr/bin/chromium';
const REQUIRED = process.env.WAYBILL_BROWSER_TESTS === 'required' || Boolean(process.env.CI);
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const DOCS_UI = fileURLToPath(new URL('../../docs/ui/', import.meta.url));
const available = existsSync(CHROMIUM);

if (!available && !REQUIRED)
  console.warn(`test/ui/browser.test.ts skipped: ${CHROMIUM} is absent (apt-get install chromium; .ci/run does)`);

// A real browser on a shared CI machine: each story gets 90 s rather than the suite's 30.
describe.skipIf(!available && !REQUIRED)('the web UI in a browser', { timeout: 90_000 }, () => {
  let db: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let story: Story;
  let server: ServerType;
  let evil: Server;
  let base: string;
  let evilBase: string;
  let browser: Browser;
  let rebuild: string;
  let exceptionId: string;
  let second: string;
  const contexts: BrowserContext[] = [];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is required here (WAYBILL_BROWSER_TESTS=required or CI) but absent`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    db = await backends[0]!.open();
    t = await testApp(db, { WAYBILL_ISSUER: base });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: t.app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
    });
    // Another site: a page whose form posts to the UI without the CSRF token.
    evil = createServer((req, res) => {
      const target = decodeURIComponent((req.url ?? '/').slice(1));
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>evil</title><form method="post" action="${base}${target}">
        <input type="hidden" name="csrf" value="guessed"><button id="go">win a prize</button></form>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilBase = `http://localhost:${(evil.address() as { port: number }).port}`;

    c = await mintCallers(t);
    ({ story, rebuild, exceptionId, second } = await pendingRebuild(t, c));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ], // chromium.launch gives every run a fresh, temporary user-data-dir of its own
    });
  }, 120_000);

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
    await db?.close();
  });

  /** A fresh browser profile (its own cookies) signed in with `token` through the form. */
  async function signedIn(token: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const ctx = await browser.newContext({ viewport });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${base}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/ui`);
    return page;
  }

  async function noSeriousViolations(page: Page, name: string): Promise<void> {
    await page.evaluate(axe.source);
    // A string: the browser's globals (axe, document) are not in this program's types.
    const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as axe.AxeResults;
    expect(result.testEngine.name).toBe('axe-core');
    const serious = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(serious, name).toEqual([]);
  }

  async function shoot(page: Page, name: string): Promise<void> {
    if (!SCREENSHOTS) return;
    mkdirSync(DOCS_UI, { recursive: true });
    await page.screenshot({ path: path.join(DOCS_UI, `${name}.png`), fullPage: true });
  }

  it('signs in through the form and shows the board, passport and diff', async () => {
    const page = await signedIn(c.auditor);
    const production = page.locator('li.card', { has: page.locator('#env-production') });
    await expect.poll(() => production.textContent()).toContain(`sha256:${story.promoted.slice(0, 12)}`);
    const column = await production.textContent();
    expect(column).toContain('✓ verified');
    expect(column).toContain('https://cd.example.com/deployer');
    expect(await page.locator('h2').allInnerTexts()).toEqual(['dev', 'staging', 'production']);
    await noSeriousViolations(page, 'board');

    // Keyboard: the first Tab reaches the skip link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');

    await production.locator('a.digest').first().click();
    await page.waitForURL(`${base}/ui/artifacts/sha256:${story.promoted}`);
    const passport = await page.locator('main').textContent();
    expect(passport).toContain('Evidence chain: ✓ verified');
    expect(passport).toContain('https://ci.example.com/builder/v1');
    expect(passport).toContain('Deployed to production by https://cd.example.com/deployer');
    expect(await page.locator('text=✓ bundle and inclusion proof verified').count()).toBeGreaterThanOrEqual(9);
    await noSeriousViolations(page, 'passport');
    await shoot(page, 'passport');

    await page.click(`a[href="/ui/artifacts/sha256:${story.promoted}/diff/sha256:${rebuild}"]`);
    await page.waitForURL(/\/diff\//);
    const diff = await page.locator('main').textContent();
    expect(diff).toContain('rebuild: same source');
    expect(diff).toContain('same-builder');
    for (const group of ['Dependencies', 'Base images', 'Builder', 'Parameters', 'Metadata'])
      expect(diff).toContain(group);
    await noSeriousViolations(page, 'diff');
    await shoot(page, 'diff');

    for (const [url, name] of [
      ['/ui/log', 'log'],
      ['/ui/policies', 'policies'],
    ] as const) {
      await page.goto(`${base}${url}`);
      await noSeriousViolations(page, name);
      await shoot(page, name);
    }
    await page.goto(`${base}/ui/policies`);
    expect(await page.locator('main').textContent()).toContain('passed-staging-tests');
  });

  it('refuses a forged POST from another site or another origin, without the CSRF token', async () => {
    const page = await signedIn(c.approver);
    const forge = async (from: string) => {
      await page.goto(`${from}/${encodeURIComponent(`/ui/exceptions/${exceptionId}/approve`)}`);
      const [response] = await Promise.all([page.waitForNavigation(), page.click('#go')]);
      return { status: response?.status(), text: await page.locator('main').textContent() };
    };
    // Another site (localhost vs 127.0.0.1): the SameSite=Strict cookie stays home, so no session.
    const crossSite = await forge(evilBase);
    expect(crossSite.status).toBe(401);
    expect(crossSite.text).toContain('sign in first');
    // The same site on another port: the cookie goes along, the Origin check refuses it.
    const crossOrigin = await forge(evilBase.replace('localhost', '127.0.0.1'));
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.text).toContain('cross-site form submission refused');
    expect((await t.deps.rebuilds.get(exceptionId)).approvers).toEqual([]);
  });

  it('shows a builder no approve or reject button', async () => {
    const page = await signedIn(c.builder);
    await page.goto(`${base}/ui/exceptions`);
    expect(await page.locator('main').textContent()).toContain(exceptionId);
    expect(await page.locator('button', { hasText: 'Approve' }).count()).toBe(0);
    expect(await page.locator('button', { hasText: 'Reject' }).count()).toBe(0);
    expect(await page.locator('textarea').count()).toBe(0);
  });

  it('approves the rebuild exception as two approvers through the page; the rebuild is then allowed', async () => {
    const first = await signedIn(c.approver);
    await first.goto(`${base}/ui/exceptions`);
    await noSeriousViolations(first, 'exceptions');
    await shoot(first, 'exceptions');
    await first.click(`button:has-text("Approve exception ${exceptionId}")`);
    expect(await first.locator('[role=status]').textContent()).toContain('Your approval');

    const other = await signedIn(second);
    await other.goto(`${base}/ui/exceptions`);
    await other.click(`button:has-text("Approve exception ${exceptionId}")`);
    expect(await other.locator('[role=status]').textContent()).toContain('is approved and signed');

    const verdict = await pipeline(t, c).verdict(rebuild, 'production');
    expect(verdict.body.decision, JSON.stringify(verdict.body.reasons)).toBe('allow');
    const deployed = await pipeline(t, c).deploy(rebuild, 'production', verdict.body.id);
    expect(deployed.status).toBe(201);
    await other.goto(`${base}/ui`);
    const production = await other.locator('li.card', { has: other.locator('#env-production') }).textContent();
    expect(production).toContain(`sha256:${rebuild.slice(0, 12)}`);
    expect(production).toContain('rebuild');
    expect(production).toContain('under exception');
    await noSeriousViolations(other, 'board with a rebuild');
    await shoot(other, 'board');
  });

  it('reads on a phone-width screen and breaks no CSP rule', async () => {
    const page = await signedIn(c.auditor, { width: 375, height: 800 });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await noSeriousViolations(page, 'board (phone)');
    await shoot(page, 'board-phone');
    expect(cspViolations).toEqual([]);
  });
});
