// The pages' HTML: hono/html tagged templates (they escape every interpolated value; Node's type
// stripping runs no TSX, so no JSX here), rendered synchronously from data fetched beforehand.
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString;
export { raw };

/** A template whose values are all plain data or other `h` fragments: never a promise. */
export const h = (strings: TemplateStringsArray, ...values: unknown[]): Html => html(strings, ...values) as Html;

export const nothing = h``;

/** `sha256:0123456789ab…` for people; the whole digest stays in the title attribute. */
export function short(digest: string): string {
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : digest;
  return `sha256:${hex.slice(0, 12)}`;
}

export function withPrefix(digest: string): string {
  return digest.startsWith('sha256:') ? digest : `sha256:${digest}`;
}

/** A digest as a link to its passport. */
export function digestLink(digest: string): Html {
  const d = withPrefix(digest);
  return h`<a class="digest" href="/ui/artifacts/${d}" title="${d}"><code>${short(d)}</code></a>`;
}

/** A time as people read it (UTC), in a <time> element with the exact value. */
export function at(iso: string | Date | null | undefined): Html {
  if (!iso) return h`<span class="muted">never</span>`;
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  const text = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return h`<time datetime="${d.toISOString()}">${text}</time>`;
}

export type Tone = 'ok' | 'bad' | 'warn' | 'info';

/** A status word; the colour only repeats what the word says. */
export function badge(text: string, tone: Tone): Html {
  return h`<span class="badge ${tone}">${text}</span>`;
}

export function verified(ok: boolean | null, what = 'verified'): Html {
  if (ok === null) return badge('not checked', 'info');
  return ok ? badge(`✓ ${what}`, 'ok') : badge(`✗ not ${what}`, 'bad');
}

/** A hidden CSRF field for a state-changing form. */
export function csrfField(token: string): Html {
  return h`<input type="hidden" name="csrf" value="${token}">`;
}
