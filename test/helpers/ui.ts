// The web UI as a browser uses it, in-process: sign in through the form, keep the session
// cookie, read the CSRF token from a page and submit forms with it.
import { randomBytes } from 'node:crypto';
import type { testApp } from './app.ts';
import { sha256 } from './statements.ts';
import { buildFacts, type Callers, pipeline, promotionStory, type Story } from './story.ts';

type App = Awaited<ReturnType<typeof testApp>>;

export const ORIGIN = 'http://localhost';

/** The value of `name` in a response's Set-Cookie headers. */
export function cookieFrom(res: Response, name: string): string | undefined {
  for (const line of res.headers.getSetCookie()) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export function csrfOf(html: string): string | undefined {
  return /name="csrf" value="([^"]+)"/.exec(html)?.[1];
}

export function uiClient(t: App) {
  const get = (path: string, cookie?: string) =>
    t.app.request(`${ORIGIN}${path}`, { headers: cookie ? { cookie: `waybill_session=${cookie}` } : {} });
  const post = (
    path: string,
    fields: Record<string, string>,
    opts: { cookie?: string; headers?: Record<string, string> } = {},
  ) =>
    t.app.request(`${ORIGIN}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        ...(opts.cookie ? { cookie: `waybill_session=${opts.cookie}` } : {}),
        ...opts.headers,
      },
      body: new URLSearchParams(fields).toString(),
    });
  /** Sign in with a token through the form; the session cookie value, or the failed response. */
  const signIn = async (token: string): Promise<string> => {
    const form = await t.app.request(`${ORIGIN}/ui/login`);
    const login = cookieFrom(form, 'waybill_login')!;
    const csrf = csrfOf(await form.text())!;
    const res = await t.app.request(`${ORIGIN}/ui/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        cookie: `waybill_login=${login}`,
      },
      body: new URLSearchParams({ csrf, token }).toString(),
    });
    const session = cookieFrom(res, 'waybill_session');
    if (res.status !== 303 || !session) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
    return session;
  };
  /** A page's HTML and its CSRF token. */
  const page = async (path: string, cookie: string) => {
    const res = await get(path, cookie);
    const html = await res.text();
    return { res, html, csrf: csrfOf(html) };
  };
  return { get, post, signIn, page };
}

/**
 * Build `rebuild` from the same commit as `original` (promotionStory's commit for it), with a
 * dependency added and a parameter changed, so that the diff has something to show; and give it a
 * PASSED staging test result of its own (production requires own-tests).
 */
export async function changedRebuild(
  p: ReturnType<typeof pipeline>,
  builder: string,
  rebuild: string,
  original: string,
): Promise<void> {
  const facts = buildFacts(rebuild, { commit: sha256(original).slice(0, 40) });
  const r = await p.post('/v1/provenance', builder, {
    ...facts,
    externalParameters: { ...facts.externalParameters, ref: 'refs/heads/hotfix' },
    resolvedDependencies: [
      ...facts.resolvedDependencies,
      { uri: 'pkg:npm/lodash@4.17.21', digest: { sha256: sha256('lodash-4.17.21') } },
    ],
  });
  if (r.status !== 201) throw new Error(`rebuild provenance: ${r.status} ${JSON.stringify(r.body)}`);
  await p.tested(rebuild, 'staging', 'PASSED');
}

/**
 * The UI tests' history: promotionStory, then a changed rebuild of the promoted digest with a
 * pending production exception requested by the deployer, and a second approver's token.
 */
export async function pendingRebuild(
  t: App,
  c: Callers,
): Promise<{ story: Story; rebuild: string; exceptionId: string; second: string }> {
  const story = await promotionStory(t, c);
  const p = pipeline(t, c);
  const rebuild = sha256(randomBytes(16));
  await changedRebuild(p, c.builder, rebuild, story.promoted);
  const requested = await p.post('/v1/rebuild-exceptions', c.deployer, {
    original: `sha256:${story.promoted}`,
    rebuild: `sha256:${rebuild}`,
    environment: 'production',
    reason: 'the registry lost the original image; rebuilt from the same commit',
    ticket: 'OPS-1',
  });
  if (requested.status !== 201)
    throw new Error(`rebuild exception: ${requested.status} ${JSON.stringify(requested.body)}`);
  const second = await t.mint(['approver'], 'https://people.example.com/second-approver');
  return { story, rebuild, exceptionId: requested.body.id, second };
}
