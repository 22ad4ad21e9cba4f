// The policies (/ui/policies): each environment's rules as written (the file waybill loaded),
// the file's SHA-256 that verdicts name, and the environment's recent verdicts.
import type { Deps } from '../../deps.ts';
import type { Policy } from '../../policy/types.ts';
import type { VerdictView } from '../../services/promotion/views.ts';
import type { UiSession } from '../../services/ui-sessions.ts';
import { at, badge, digestLink, type Html, h, nothing } from '../html.ts';
import { page } from '../layout.ts';

const RECENT_DEPLOYMENTS = 10;

type PolicyDeps = Pick<Deps, 'policies' | 'deployments'>;

// Recent verdicts: those of the digests most recently deployed to the environment or the one
// before it (the candidates for it), newest first.
export async function policiesData(deps: PolicyDeps) {
  const environments = await Promise.all(
    deps.policies.order.map(async (name) => {
      const policy = deps.policies.policies.get(name)!;
      const sources = [name, ...(policy.after ? [policy.after] : [])];
      const recent = (await Promise.all(sources.map((e) => deps.deployments.recent(e, RECENT_DEPLOYMENTS)))).flat();
      const digests = [...new Set(recent.map((d) => d.digest))];
      const verdicts = (await Promise.all(digests.map((d) => deps.deployments.historyOf(d, { latest: 20 }))))
        .flatMap((h) => h.verdicts)
        .filter((v) => v.environment === name)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, RECENT_DEPLOYMENTS);
      return { policy, verdicts };
    }),
  );
  return { environments };
}

function ruleLine(policy: Policy): Html {
  const after = policy.after ? h`<li>deployed to <strong>${policy.after}</strong> first</li>` : nothing;
  return h`<ul>${after}${policy.rules.map(
    (r) =>
      h`<li><code>${r.name}</code>: ${r.absent ? 'no' : 'a'} <code>${r.predicateType}</code>${
        r.signer?.issuer ? h` signed under ${r.signer.issuer}` : nothing
      }${r.signer?.subject ? h` by a subject matching <code>${r.signer.subject}</code>` : nothing}${
        r.environment ? h` recorded for ${r.environment}` : nothing
      }${r.where ? h` where <code>${r.where.source}</code>` : nothing}${
        r.maxAge ? h`, at most ${r.maxAge} old` : nothing
      }${r.transferable ? ' (a rebuild may borrow it under an exception)' : ''}</li>`,
  )}<li>verdicts are valid for ${policy.verdictTtl}</li>${
    policy.rebuilds.allowWithException
      ? h`<li>rebuilds: allowed with an exception approved by ${String(policy.rebuilds.minApprovals)}, requiring
        ${policy.rebuilds.require.join(', ') || 'nothing more'}</li>`
      : h`<li>rebuilds: not allowed</li>`
  }</ul>`;
}

function verdictRows(verdicts: VerdictView[]): Html {
  if (verdicts.length === 0) return h`<p class="muted">No verdicts yet.</p>`;
  return h`<div class="scroll"><table><thead><tr><th scope="col">When</th><th scope="col">Digest</th>
<th scope="col">Decision</th><th scope="col">Reasons</th></tr></thead><tbody>${verdicts.map(
    (v) => h`<tr><td>${at(v.createdAt)}</td><td>${digestLink(v.digest)}</td>
<td>${badge(v.decision, v.decision === 'allow' ? 'ok' : 'bad')}</td><td>${v.reasons.join('; ') || '—'}</td></tr>`,
  )}</tbody></table></div>`;
}

export function policiesPage(data: Awaited<ReturnType<typeof policiesData>>, session: UiSession): Html {
  const body = h`<h1>Policies</h1>
<p>In promotion order: ${data.environments.map((e) => e.policy.environment).join(' → ')}.</p>
${data.environments.map(
  ({ policy, verdicts }) => h`<section aria-labelledby="p-${policy.environment}">
<h2 id="p-${policy.environment}">${policy.environment}</h2>
<dl class="facts"><dt>File</dt><dd><code>${policy.uri}</code></dd>
<dt>SHA-256</dt><dd><code>${policy.digest.sha256}</code></dd></dl>
<h3>Rules</h3>
${ruleLine(policy)}
<details><summary>The file as loaded</summary><pre><code>${policy.content}</code></pre></details>
<h3>Recent verdicts</h3>
${verdictRows(verdicts)}
</section>`,
)}`;
  return page({ title: 'Policies', session, current: '/ui/policies', body });
}
