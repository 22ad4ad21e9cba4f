// The rebuild diff (/ui/artifacts/{a}/diff/{b}): what changed between two digests' provenance,
// grouped by kind (dependencies, base images, builder, parameters, metadata), with the one-line
// summary and the checklist an exception for it is held to.
import type { Deps } from '../../deps.ts';
import { type Change, type ChecklistResult, type ProvenanceDiff, rebuildChecklist } from '../../rebuild/index.ts';
import type { ExceptionView } from '../../services/rebuilds.ts';
import type { UiSession } from '../../services/ui-sessions.ts';
import { badge, digestLink, type Html, h, nothing, short } from '../html.ts';
import { page } from '../layout.ts';

// What the diff alone decides; the other items (reason, approvers, own tests) belong to a request.
const FROM_DIFF = new Set(['pinned-dependencies', 'pinned-base-images', 'same-builder']);

export async function diffData(deps: Pick<Deps, 'rebuilds'>, a: string, b: string) {
  const [d, newer, related] = await Promise.all([
    deps.rebuilds.diff(a, b),
    deps.rebuilds.provenanceOf(b),
    deps.rebuilds.between(a, b),
  ]);
  const fromDiff = rebuildChecklist({
    diff: d.diff,
    newer: newer[newer.length - 1]!.statement,
    exception: { reason: '', requestedBy: '', approvers: [] },
    ownTests: false,
  }).filter((r) => FROM_DIFF.has(r.item));
  return { ...d, exceptions: related, fromDiff };
}

export function checklist(items: ChecklistResult[]): Html {
  if (items.length === 0) return nothing;
  return h`<ul class="checklist" aria-label="Checklist">${items.map(
    (r) => h`<li>${r.ok ? badge('✓', 'ok') : badge('✗', 'bad')} <strong>${r.item}</strong>: ${r.detail}</li>`,
  )}</ul>`;
}

const json = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function row(label: string, c: Change, oldText: string, newText: string): Html {
  return h`<tr><td>${badge(c.kind, c.kind === 'added' ? 'ok' : c.kind === 'removed' ? 'bad' : 'warn')}</td>
<th scope="row">${label}</th><td>${oldText ? h`<del>${oldText}</del>` : h`<span class="muted">—</span>`}</td>
<td>${newText ? h`<ins>${newText}</ins>` : h`<span class="muted">—</span>`}</td></tr>`;
}

function group(title: string, rows: Html[]): Html {
  return h`<h2>${title} <span class="muted">(${String(rows.length)})</span></h2>${
    rows.length
      ? h`<div class="scroll"><table><thead><tr><th scope="col">Change</th><th scope="col">What</th>
<th scope="col">Before</th><th scope="col">After</th></tr></thead><tbody>${rows}</tbody></table></div>`
      : h`<p class="muted">No change.</p>`
  }`;
}

function groups(d: ProvenanceDiff): Html {
  return h`${group(
    'Dependencies',
    d.dependencies.map((c) =>
      row(
        c.display,
        c,
        c.oldVersion ?? json(c.oldDigest) ?? '',
        `${c.newVersion ?? json(c.newDigest)}${c.kind === 'unpinned' ? ' (unpinned)' : ''}`,
      ),
    ),
  )}${group(
    'Base images',
    d.baseImages.map((c) => row(c.name, c, c.oldRef ?? '', c.newRef ?? '')),
  )}${group(
    'Builder',
    d.builder.map((c) => row(`${c.field}${c.field === 'id' ? '' : ` ${c.name}`}`, c, json(c.old), json(c.new))),
  )}${group(
    'Parameters',
    d.parameters.map((c) => row(c.name, c, json(c.old), json(c.new))),
  )}${group(
    'Metadata',
    d.metadata.map((c) => row(c.name, c, json(c.old), json(c.new))),
  )}`;
}

function exceptionsOf(items: ExceptionView[]): Html {
  if (items.length === 0)
    return h`<p class="muted">No exception has been requested for this rebuild. The rest of the checklist (a documented
      reason, distinct approvers, the rebuild's own tests) is checked when one is.</p>`;
  return h`${items.map(
    (e) =>
      h`<h3>Exception <code>${e.id}</code> for ${e.environment}: ${badge(
        e.status,
        e.status === 'approved' ? 'ok' : e.status === 'pending' ? 'warn' : 'bad',
      )}</h3>${checklist(e.checklist)}${
        e.status === 'pending' ? h`<p><a href="/ui/exceptions#x-${e.id}">Review it in the inbox</a></p>` : nothing
      }`,
  )}`;
}

export function diffPage(data: Awaited<ReturnType<typeof diffData>>, session: UiSession): Html {
  const title = `${short(data.a)} → ${short(data.b)}`;
  const body = h`<h1>What changed: <code>${title}</code></h1>
<dl class="facts">
  <dt>Original</dt><dd>${digestLink(data.a)}</dd>
  <dt>Rebuild</dt><dd>${digestLink(data.b)} ${
    data.rebuild ? badge('rebuild: same source', 'warn') : badge('not a rebuild: different source', 'info')
  }</dd>
  <dt>Summary</dt><dd><strong>${data.diff.summary}</strong></dd>
  <dt>Kinds</dt><dd>${data.diff.kinds.join(', ')}</dd>
</dl>
<h2>Checklist</h2>
${checklist(data.fromDiff)}
${exceptionsOf(data.exceptions)}
${groups(data.diff)}`;
  return page({ title: `Diff ${title}`, session, body });
}
