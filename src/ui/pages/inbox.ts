// The exception inbox (/ui/exceptions): pending rebuild exceptions with their diff summary,
// checklist and reason, an Approve button for approvers who may approve (not the requester, once
// each), a Reject form with a required reason (approvers, not the requester), and the decided ones
// below (a rejected one with who rejected it and why).
import type { Deps } from '../../deps.ts';
import type { ExceptionView, RejectionView } from '../../services/rebuilds.ts';
import type { UiSession } from '../../services/ui-sessions.ts';
import { at, badge, csrfField, digestLink, type Html, h, nothing } from '../html.ts';
import { page } from '../layout.ts';
import { checklist } from './diff.ts';

const PENDING = 50;
// The latest exceptions, of which the decided ones are listed (each view carries its diff).
const RECENT = 20;

export async function inboxData(deps: Pick<Deps, 'rebuilds'>) {
  const [pending, decided] = await Promise.all([
    deps.rebuilds.list('pending', { limit: PENDING }),
    deps.rebuilds.list(undefined, { limit: RECENT }),
  ]);
  const done = decided.items.filter((e) => e.status !== 'pending');
  const rejections = await Promise.all(
    done.map(async (e) => (e.status === 'rejected' ? deps.rebuilds.rejectionOf(e.id) : undefined)),
  );
  return {
    pending: pending.items.filter((e) => e.status === 'pending'),
    decided: done.map((e, i) => ({ ...e, rejection: rejections[i] })),
  };
}

/** Why this caller may not reject `e`, or null when the page may offer the form. */
export function cannotReject(e: ExceptionView, session: UiSession): string | null {
  const { caller } = session;
  if (!caller.roles.includes('approver')) return 'only approvers may reject';
  if (e.requestedBy === caller.subject) return 'you requested it: the requester may not reject it (let it expire)';
  return null;
}

function rejectForm(e: ExceptionView, session: UiSession): Html {
  if (cannotReject(e, session)) return nothing;
  return h`<form method="post" action="/ui/exceptions/${e.id}/reject">${csrfField(session.csrf)}
  <label for="reason-${e.id}">Reason for rejecting ${e.id}</label>
  <textarea id="reason-${e.id}" name="reason" rows="2" maxlength="2000" required></textarea>
  <button type="submit" class="danger">Reject exception ${e.id}</button></form>`;
}

function decidedBy(e: ExceptionView & { rejection?: RejectionView | undefined }): Html {
  if (e.status === 'rejected') {
    if (!e.rejection) return h`<span class="muted">rejected (no signed rejection stored)</span>`;
    const r = e.rejection;
    const index = String(r.logIndex);
    return h`rejected by ${r.rejectedBy}, ${at(r.rejectedAt)}: ${r.reason}
      <span class="muted">(log index <a href="/v1/log/entries/${index}">#${index}</a>)</span>`;
  }
  return h`${e.approvers.join(', ')}`;
}

/** Why this caller may not approve `e` now, or null when the page may offer the button. */
export function cannotApprove(e: ExceptionView, session: UiSession): string | null {
  const { caller } = session;
  if (!caller.roles.includes('approver')) return 'only approvers may approve';
  if (e.requestedBy === caller.subject) return 'you requested it: the requester may not approve';
  if (e.approvers.includes(caller.subject)) return 'you approved it already';
  return null;
}

function pendingItem(e: ExceptionView, session: UiSession): Html {
  const why = cannotApprove(e, session);
  return h`<li class="card" aria-labelledby="x-${e.id}">
<h3 id="x-${e.id}">Exception <code>${e.id}</code> for ${e.environment}</h3>
<dl class="facts">
  <dt>Rebuild</dt><dd>${digestLink(e.rebuild)} of ${digestLink(e.original)}
    (<a href="/ui/artifacts/${e.original}/diff/${e.rebuild}">diff</a>)</dd>
  <dt>What changed</dt><dd>${e.summary}</dd>
  <dt>Reason</dt><dd>${e.reason}${e.ticket ? h` <span class="muted">(ticket ${e.ticket})</span>` : nothing}</dd>
  <dt>Requested</dt><dd>by ${e.requestedBy}, ${at(e.createdAt)}; expires ${at(e.expiresAt)}</dd>
  <dt>Approvals</dt><dd>${String(e.approvers.length)} of ${String(e.minApprovals)}${
    e.approvers.length ? h`: ${e.approvers.join(', ')}` : nothing
  }</dd>
</dl>
${checklist(e.checklist)}
${
  why
    ? h`<p class="muted">${why}.</p>`
    : h`<form method="post" action="/ui/exceptions/${e.id}/approve">${csrfField(session.csrf)}
  <button type="submit">Approve exception ${e.id}</button></form>`
}
${rejectForm(e, session)}
</li>`;
}

export function inboxPage(
  data: Awaited<ReturnType<typeof inboxData>>,
  session: UiSession,
  notice?: { tone: 'success' | 'error'; text: string },
): Html {
  const body = h`<h1>Rebuild exceptions</h1>
${
  notice
    ? h`<p class="notice ${notice.tone}" role="${notice.tone === 'error' ? 'alert' : 'status'}">
  ${notice.text}</p>`
    : nothing
}
<h2>Pending</h2>
${
  data.pending.length
    ? h`<ul class="board">${data.pending.map((e) => pendingItem(e, session))}</ul>`
    : h`<p class="empty">No pending exceptions. A deployer requests one for a rebuild with
      <code>npx --no waybill exceptions request --original sha256:… --rebuild sha256:… --environment production
      --reason "…"</code>.</p>`
}
<h2>Decided <span class="muted">(among the latest ${String(RECENT)})</span></h2>
${
  data.decided.length
    ? h`<div class="scroll"><table>
<thead><tr><th scope="col">Exception</th><th scope="col">Environment</th><th scope="col">Status</th>
<th scope="col">Rebuild</th><th scope="col">Decided by</th><th scope="col">Requested</th></tr></thead>
<tbody>${data.decided.map(
        (e) => h`<tr><td><code>${e.id}</code></td><td>${e.environment}</td>
<td>${badge(e.status, e.status === 'approved' ? 'ok' : 'bad')}</td>
<td>${digestLink(e.rebuild)} of ${digestLink(e.original)}</td><td>${decidedBy(e)}</td>
<td>${at(e.createdAt)} by ${e.requestedBy}</td></tr>`,
      )}</tbody></table></div>`
    : h`<p class="muted">None decided yet.</p>`
}`;
  return page({ title: 'Rebuild exceptions', session, current: '/ui/exceptions', body });
}
