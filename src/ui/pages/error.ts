// What a page shows when a request fails: the status, the title and what to do.
import type { UiSession } from '../../services/ui-sessions.ts';
import { type Html, h } from '../html.ts';
import { page } from '../layout.ts';

export function errorPage(opts: { status: number; title: string; detail: string; session: UiSession | null }): Html {
  const body = h`<h1>${opts.title}</h1>
<p class="notice error" role="alert">${opts.detail}</p>
<p><a href="/ui">Back to the environments</a></p>`;
  return page({ title: opts.title, session: opts.session, body });
}
