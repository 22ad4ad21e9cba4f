// The sign-in form: one field, `token`. The token goes to the server once; the browser keeps
// only a session cookie.
import { type Html, h, nothing } from '../html.ts';
import { page } from '../layout.ts';

export function loginPage(opts: { csrf: string; error?: string; next?: string }): Html {
  const body = h`<h1>Sign in to waybill</h1>
${opts.error ? h`<p class="notice error" role="alert">${opts.error}</p>` : nothing}
<form method="post" action="/ui/login">
  <input type="hidden" name="csrf" value="${opts.csrf}">
  ${opts.next ? h`<input type="hidden" name="next" value="${opts.next}">` : nothing}
  <p><label for="token">Waybill token</label>
  <input id="token" name="token" type="password" autocomplete="off" required aria-describedby="token-help"></p>
  <p id="token-help" class="muted">A token an admin minted for you (<code>waybill tokens create</code>). It is
  checked once; this browser then holds only a session cookie, valid for 8 hours or until you sign out.</p>
  <p><button type="submit">Sign in</button></p>
</form>`;
  return page({ title: 'Sign in', session: null, body });
}
