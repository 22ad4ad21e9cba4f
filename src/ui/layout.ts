// The frame every page shares: skip link, navigation, who is signed in with which roles, and
// the sign-out form (a POST with the session's CSRF token).
import type { UiSession } from '../services/ui-sessions.ts';
import { csrfField, type Html, h, nothing } from './html.ts';

const NAV = [
  { href: '/ui', label: 'Environments' },
  { href: '/ui/exceptions', label: 'Exceptions' },
  { href: '/ui/log', label: 'Log' },
  { href: '/ui/policies', label: 'Policies' },
];

export function page(opts: { title: string; session: UiSession | null; current?: string; body: Html }): Html {
  const { title, session, current, body } = opts;
  const nav = session
    ? h`<nav aria-label="Main"><ul>${NAV.map(
        (n) => h`<li><a href="${n.href}"${n.href === current ? h` aria-current="page"` : nothing}>${n.label}</a></li>`,
      )}</ul></nav>
      <div class="who"><span>Signed in as <strong>${session.caller.subject}</strong>
        (${session.caller.roles.join(', ')})</span>
        <form class="inline" method="post" action="/ui/logout">${csrfField(session.csrf)}
          <button class="secondary" type="submit">Sign out</button></form></div>`
    : nothing;
  return h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · waybill</title>
<link rel="stylesheet" href="/ui/assets/ui.css">
<script src="/ui/assets/ui.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/ui">waybill</a>${nav}</header>
<main id="main">
${body}
</main>
</body>
</html>`;
}

/** What a new installation shows where there is nothing yet: the first command to run. */
export function firstSteps(issuer: string): Html {
  return h`<div class="empty">
<p>Nothing has been attested yet. Sign the first provenance from your build (a builder token):</p>
<pre><code>export WAYBILL_SERVER=${issuer}
npx --no waybill attest provenance --token $BUILDER \\
  --subject ghcr.io/example/app=sha256:$DIGEST \\
  --build-type https://example.com/build/v1 --builder-id https://ci.example.com/builder/v1 \\
  --source git+https://github.com/example/app@$COMMIT</code></pre>
<p>Then deploy it under a verdict: <code>npx --no waybill deploy --token $DEPLOYER --digest sha256:$DIGEST
--environment dev</code> (the README's walkthrough shows every step).</p>
</div>`;
}
