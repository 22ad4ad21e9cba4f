// The environments board (/ui): a column per environment in promotion order, with what runs
// there now (who deployed it when, under which verdict, whether its chain verifies) and the
// digests waiting to go further (allowed for the next stage but not deployed there).
import type { Deps } from '../../deps.ts';
import type { DeploymentView, VerdictView } from '../../services/promotion/views.ts';
import type { UiSession } from '../../services/ui-sessions.ts';
import { at, badge, digestLink, type Html, h, nothing, verified } from '../html.ts';
import { firstSteps, page } from '../layout.ts';
import { type ChainCache, verifiedChain } from '../verify.ts';

const WAITING_SCAN = 20;

type BoardDeps = Pick<Deps, 'policies' | 'deployments' | 'intake' | 'rebuilds' | 'audit' | 'trustedRoot' | 'config'>;

interface Column {
  name: string;
  after: string | null;
  next: string | null;
  current: {
    deployment: DeploymentView;
    names: string[];
    verdict: VerdictView | undefined;
    chainOk: boolean | null;
    problems: string[];
    rebuildOf: string | null;
  } | null;
  waiting: Array<{ digest: string; verdict: VerdictView }>;
}

export async function boardData(deps: BoardDeps, cache: ChainCache, now = new Date()) {
  const order = deps.policies.order;
  const histories = new Map<string, ReturnType<Deps['deployments']['historyOf']>>();
  const historyOf = (digest: string) => {
    let h = histories.get(digest);
    if (!h) {
      h = deps.deployments.historyOf(digest);
      histories.set(digest, h);
    }
    return h;
  };
  const columns = await Promise.all(
    order.map(async (name): Promise<Column> => {
      const policy = deps.policies.policies.get(name)!;
      const next = order.find((e) => deps.policies.policies.get(e)?.after === name) ?? null;
      const deployment = await deps.deployments.current(name);
      let current: Column['current'] = null;
      if (deployment) {
        const [history, artifact, relations, chain] = await Promise.all([
          historyOf(deployment.digest),
          deps.intake.artifact(deployment.digest, { limit: 1 }),
          deps.rebuilds.relations(deployment.digest),
          // A deployment's chain is fixed once recorded: verified once, then cached (verify.ts).
          cache.get(`deployment|${deployment.id}`, () => verifiedChain(deps, deployment.digest, name)),
        ]);
        const verdict = history.verdicts.find((v) => v.id === deployment.verdictId);
        current = {
          deployment,
          names: artifact?.names ?? [],
          verdict,
          chainOk: chain ? chain.ok : null,
          problems: chain?.problems ?? [],
          rebuildOf: relations.rebuildOf[0]?.digest ?? verdict?.exception?.original ?? null,
        };
      }
      const waiting: Column['waiting'] = [];
      if (next) {
        const recent = await deps.deployments.recent(name, WAITING_SCAN);
        const digests = [...new Set(recent.map((d) => d.digest))];
        for (const digest of digests) {
          const history = await historyOf(digest);
          if (history.deployments.some((d) => d.environment === next)) continue;
          const allow = history.verdicts
            .filter((v) => v.environment === next && v.decision === 'allow')
            .filter((v) => v.expiresAt === null || Date.parse(v.expiresAt) > now.getTime())
            .at(-1);
          if (allow) waiting.push({ digest, verdict: allow });
        }
      }
      return { name, after: policy.after, next, current, waiting };
    }),
  );
  return { columns, asOf: now };
}

function column(c: Column): Html {
  const cur = c.current;
  const rebuildBadge = cur?.rebuildOf ? h` ${badge('rebuild', 'warn')}` : nothing;
  const problems = cur?.problems.length
    ? h`<details><summary>What does not verify</summary><ul>${cur.problems.map((p) => h`<li>${p}</li>`)}</ul></details>`
    : nothing;
  const body = cur
    ? h`<dl class="facts">
  <dt>Running</dt><dd>${digestLink(cur.deployment.digest)}${rebuildBadge}</dd>
  <dt>Name</dt><dd>${cur.names.length > 0 ? cur.names.join(', ') : h`<span class="muted">unnamed</span>`}</dd>
  <dt>Since</dt><dd>${at(cur.deployment.createdAt)}</dd>
  <dt>Deployed by</dt><dd>${cur.deployment.deployer}</dd>
  <dt>Verdict</dt><dd>${
    cur.verdict
      ? h`${badge(cur.verdict.decision, cur.verdict.decision === 'allow' ? 'ok' : 'bad')}${
          cur.verdict.exception ? h` under exception <code>${cur.verdict.exception.id}</code>` : nothing
        }`
      : h`<span class="muted">not found</span>`
  }</dd>
  <dt>Chain</dt><dd>${verified(cur.chainOk)}</dd>
  ${cur.rebuildOf ? h`<dt>Rebuild of</dt><dd>${digestLink(cur.rebuildOf)}</dd>` : nothing}
</dl>
${problems}`
    : h`<p class="muted">Nothing deployed yet.</p>`;
  const waiting = c.next
    ? h`<h3>Waiting for ${c.next}</h3>${
        c.waiting.length > 0
          ? h`<ul>${c.waiting.map(
              (w) => h`<li>${digestLink(w.digest)} allowed ${at(w.verdict.createdAt)}, not deployed</li>`,
            )}</ul>`
          : h`<p class="muted">Nothing allowed for ${c.next} and not deployed.</p>`
      }`
    : nothing;
  return h`<li class="card" aria-labelledby="env-${c.name}">
<h2 id="env-${c.name}">${c.name}</h2>
<p class="muted">${c.after ? `after ${c.after}` : 'first stage'}</p>
${body}
${waiting}
</li>`;
}

export function boardPage(data: Awaited<ReturnType<typeof boardData>>, session: UiSession, issuer: string): Html {
  const empty = data.columns.every((c) => !c.current);
  const body = h`<h1>Environments</h1>
<p data-refresh="60">As of ${at(data.asOf)} · in promotion order: ${data.columns.map((c) => c.name).join(' → ')}</p>
${empty ? firstSteps(issuer) : nothing}
<ol class="board">${data.columns.map(column)}</ol>`;
  return page({ title: 'Environments', session, current: '/ui', body });
}
