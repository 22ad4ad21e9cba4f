// The artifact passport (/ui/artifacts/{digest}): a digest's whole story, oldest first. Each
// attestation shows its signer, its log index and whether its bundle and inclusion proof verify,
// checked on the server by the code `waybill audit verify` runs on the digest's evidence pack.
// A revoked attestation stays in the timeline, struck, with who revoked it, why, and the
// revocation's log index; the revocation is a timeline item of its own.
import type { AttestationReport, PackReport } from '../../audit/verify.ts';
import type { Deps } from '../../deps.ts';
import { PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01, VSA_V1 } from '../../intoto/predicates.ts';
import { DEPLOYMENT_V1, REBUILD_EXCEPTION_V1, REBUILD_REJECTION_V1, REVOCATION_V1 } from '../../intoto/waybill.ts';
import type { AttestationRecord } from '../../services/attest.ts';
import type { ExceptionView, Relation } from '../../services/rebuilds.ts';
import type { RevocationView } from '../../services/revocations.ts';
import type { UiSession } from '../../services/ui-sessions.ts';
import { at, badge, digestLink, type Html, h, nothing, short, verified } from '../html.ts';
import { firstSteps, page } from '../layout.ts';
import { type ChainCache, verifiedChain } from '../verify.ts';

const TIMELINE = 200;

type PassportDeps = Pick<Deps, 'intake' | 'deployments' | 'rebuilds' | 'revocations' | 'audit' | 'trustedRoot'>;

export async function passportData(deps: PassportDeps, cache: ChainCache, digest: string) {
  const [artifact, history, relations, revocations] = await Promise.all([
    deps.intake.artifact(digest, { limit: TIMELINE }),
    deps.deployments.historyOf(digest),
    deps.rebuilds.relations(digest),
    deps.revocations.about(digest),
  ]);
  const exceptions = (
    await Promise.all([
      ...relations.rebuildOf.map((r) => deps.rebuilds.between(r.digest, digest)),
      ...relations.rebuilds.map((r) => deps.rebuilds.between(digest, r.digest)),
    ])
  ).flat();
  // The pack is made of what is about the digest: it is the same while its newest attestation is.
  const newest = artifact?.attestations[0]?.id ?? 'none';
  const chain = await cache.get(
    `digest|${digest}|${newest}|${history.verdicts.length}|${history.deployments.length}`,
    () => verifiedChain(deps, digest),
  );
  return {
    digest,
    artifact,
    history,
    relations,
    chain,
    exceptions,
    revocations,
  };
}

type Data = Awaited<ReturnType<typeof passportData>>;

export function kindOf(predicateType: string): string {
  if (predicateType === PROVENANCE_V1 || predicateType === PROVENANCE_V02) return 'Provenance';
  if (predicateType === TEST_RESULT_V01) return 'Test result';
  if (predicateType === VSA_V1) return 'Verdict';
  if (predicateType === DEPLOYMENT_V1) return 'Deployment';
  if (predicateType === REBUILD_EXCEPTION_V1) return 'Rebuild exception';
  if (predicateType === REBUILD_REJECTION_V1) return 'Rebuild rejection';
  if (predicateType === REVOCATION_V1) return 'Revocation';
  return 'Attestation';
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function provenanceFacts(a: AttestationRecord): Html {
  const p = obj(a.statement.predicate);
  const def = obj(p.buildDefinition);
  const run = obj(p.runDetails);
  const deps = Array.isArray(def.resolvedDependencies) ? def.resolvedDependencies.map(obj) : [];
  const source = deps.find((d) => str(obj(d.digest).gitCommit));
  const meta = obj(run.metadata);
  const built = str(meta.finishedOn) ?? str(meta.startedOn);
  return h`<dl class="facts">
  <dt>Builder</dt><dd>${str(obj(run.builder).id) ?? 'unknown'}</dd>
  <dt>Build type</dt><dd>${str(def.buildType) ?? 'unknown'}</dd>
  <dt>Source</dt><dd>${
    source
      ? h`${str(source.uri) ?? ''} at <code>${(str(obj(source.digest).gitCommit) ?? '').slice(0, 12)}</code>`
      : h`<span class="muted">no source commit named</span>`
  }</dd>
  <dt>Built</dt><dd>${built ? at(built) : h`${at(a.createdAt)} <span class="muted">(signed)</span>`}</dd>
</dl>`;
}

function testFacts(a: AttestationRecord): Html {
  const p = obj(a.statement.predicate);
  const result = str(p.result) ?? 'unknown';
  const count = (k: string) => (Array.isArray(p[k]) ? (p[k] as unknown[]).length : 0);
  const tone = result === 'PASSED' ? 'ok' : result === 'FAILED' ? 'bad' : 'warn';
  return h`<p>${badge(result, tone)} in <strong>${a.environment ?? 'no environment'}</strong>:
    ${count('passedTests')} passed, ${count('failedTests')} failed, ${count('warnedTests')} warned</p>`;
}

function verdictFacts(a: AttestationRecord, data: Data): Html {
  const v = data.history.verdicts.find((x) => x.attestationId === a.id);
  if (!v) return h`<p class="muted">A verdict about this digest (its record is not stored here).</p>`;
  return h`<p>${badge(v.decision, v.decision === 'allow' ? 'ok' : 'bad')} for <strong>${v.environment}</strong>
  ${v.exception ? h` under rebuild exception <code>${v.exception.id}</code>` : nothing}
  ${v.expiresAt ? h` · valid until ${at(v.expiresAt)}` : nothing}</p>
<ul>${v.rules.map(
    (r) =>
      h`<li>${r.satisfied ? badge('✓', 'ok') : badge('✗', 'bad')} <code>${r.name}</code>${
        r.reason ? h`: ${r.reason}` : nothing
      }</li>`,
  )}</ul>`;
}

function deploymentFacts(a: AttestationRecord, data: Data): Html {
  const d = data.history.deployments.find((x) => x.attestationId === a.id);
  if (!d) return h`<p>Deployed to <strong>${a.environment ?? 'an environment'}</strong>.</p>`;
  return h`<p>Deployed to <strong>${d.environment}</strong> by ${d.deployer},
    under verdict <code>${d.verdictId}</code>.</p>`;
}

function exceptionFacts(a: AttestationRecord): Html {
  const p = obj(a.statement.predicate);
  const approvers = Array.isArray(p.approvers) ? p.approvers.filter((x) => typeof x === 'string') : [];
  const original = str(p.original);
  return h`<p>Approved for <strong>${a.environment ?? ''}</strong>${
    original ? h`, borrowing the history of ${digestLink(original)}` : nothing
  }; approvers: ${approvers.join(', ') || 'none listed'}.</p>`;
}

/** The log index of attestation `id` when the timeline holds it. */
function logIndexOf(id: string, data: Data): number | undefined {
  return data.artifact?.attestations.find((a) => a.id === id)?.logIndex;
}

function logLink(index: number | undefined, id: string): Html {
  return index === undefined
    ? h`revocation <a href="/ui/attestations/${id}/bundle" download><code>${id.slice(0, 12)}</code></a>`
    : h`log index <a href="/v1/log/entries/${String(index)}">#${String(index)}</a>`;
}

function revokedNote(r: RevocationView, data: Data): Html {
  return h`<p role="note">${badge('revoked', 'bad')} by <strong>${r.revokedBy}</strong>, ${at(r.revokedAt)}:
  ${r.reason} <span class="muted">(${logLink(logIndexOf(r.id, data), r.id)})</span>. It no longer counts.</p>`;
}

function revocationFacts(a: AttestationRecord, data: Data): Html {
  const r = data.revocations.find((x) => x.id === a.id);
  if (!r) return h`<p class="muted">A revocation not signed by this waybill (it does not count).</p>`;
  const target = data.artifact?.attestations.find((x) => x.id === r.attestationId);
  return h`<p>Revokes ${
    target ? h`<a href="#a-${target.id}">the ${kindOf(target.predicateType).toLowerCase()}</a>` : h`attestation`
  } <code>${r.attestationId.slice(0, 12)}</code>, asked by <strong>${r.revokedBy}</strong>: ${r.reason}</p>`;
}

function check(report: AttestationReport | undefined, inPack: boolean): Html {
  if (!report)
    return inPack
      ? badge('not checked', 'info')
      : h`${badge('not in the evidence pack', 'info')} <span class="muted">(verify its bundle with
        <code>waybill verify-bundle</code>)</span>`;
  const problems = report.problems.length ? h`<ul>${report.problems.map((p) => h`<li>${p}</li>`)}</ul>` : nothing;
  return h`${verified(report.ok, 'bundle and inclusion proof verified')}${problems}`;
}

function item(a: AttestationRecord, data: Data, reports: Map<string, AttestationReport>): Html {
  const kind = kindOf(a.predicateType);
  const facts =
    kind === 'Provenance'
      ? provenanceFacts(a)
      : kind === 'Test result'
        ? testFacts(a)
        : kind === 'Verdict'
          ? verdictFacts(a, data)
          : kind === 'Deployment'
            ? deploymentFacts(a, data)
            : kind === 'Rebuild exception'
              ? exceptionFacts(a)
              : kind === 'Revocation'
                ? revocationFacts(a, data)
                : h`<p><code>${a.predicateType}</code></p>`;
  const revoked = data.revocations.find((r) => r.attestationId === a.id);
  return h`<li id="a-${a.id}"${revoked ? h` class="revoked"` : nothing}>
<h3>${revoked ? h`<s>${kind}</s>` : kind} ${
    a.environment ? h`<span class="muted">· ${a.environment}</span>` : nothing
  }</h3>
${revoked ? revokedNote(revoked, data) : nothing}
<p class="muted">${at(a.createdAt)} · signed by <strong>${a.signer.subject}</strong>
  (${a.signer.issuer}) · log index <a href="/v1/log/entries/${String(a.logIndex)}">#${String(a.logIndex)}</a></p>
${revoked ? h`<div class="struck">${facts}</div>` : facts}
<p>${check(reports.get(a.id), false)} · <a href="/ui/attestations/${a.id}/bundle" download>download bundle</a></p>
</li>`;
}

function relationList(title: string, items: Relation[]): Html {
  if (items.length === 0) return nothing;
  return h`<h3>${title}</h3><ul>${items.map(
    (r) => h`<li>${digestLink(r.digest)} (${r.name}, from the same source) · first seen ${at(r.firstSeen)}</li>`,
  )}</ul>`;
}

function exceptionList(items: ExceptionView[]): Html {
  if (items.length === 0) return nothing;
  return h`<h2>Rebuild exceptions</h2><ul>${items.map(
    (e) => h`<li><code>${e.id}</code> for ${e.environment}: ${badge(e.status, e.status === 'approved' ? 'ok' : 'warn')}
      ${short(e.original)} → ${short(e.rebuild)} (${e.approvers.length}/${String(e.minApprovals)} approvals) ·
      <a href="/ui/artifacts/${e.original}/diff/${e.rebuild}">diff</a></li>`,
  )}</ul>`;
}

function chainSummary(chain: PackReport | null): Html {
  if (!chain) return h`<p class="muted">No evidence pack: nothing about this digest is packed yet.</p>`;
  const steps = chain.steps.length
    ? h`<ol>${chain.steps.map(
        (s) => h`<li><strong>${s.environment}</strong>: verdict by ${s.verdict.signer ?? 'unknown'} (log
          #${String(s.verdict.logIndex ?? '?')}),
          deployed ${s.deployment.at ? at(s.deployment.at) : 'at an unknown time'}
          by ${s.deployment.signer ?? 'unknown'}${s.exception ? ' under a rebuild exception' : ''}</li>`,
      )}</ol>`
    : h`<p class="muted">Not deployed anywhere yet.</p>`;
  const problems = chain.problems.length
    ? h`<details open><summary>${String(chain.problems.length)} problem(s)</summary><ul>${chain.problems.map(
        (p) => h`<li>${p}</li>`,
      )}</ul></details>`
    : nothing;
  return h`<p>Evidence chain: ${verified(chain.ok)} ${
    chain.checkpoint ? h`against the checkpoint at tree size ${String(chain.checkpoint.size)}` : nothing
  }</p>${steps}${problems}`;
}

export function passportPage(data: Data, session: UiSession, issuer: string): Html {
  const d = data.digest;
  if (!data.artifact) {
    const body = h`<h1>Artifact <code>${short(d)}</code></h1>
<p>Nothing is known about <code>${d}</code> yet.</p>${firstSteps(issuer)}`;
    return page({ title: `Artifact ${short(d)}`, session, body });
  }
  const reports = new Map((data.chain?.attestations ?? []).map((r) => [r.id, r]));
  const oldestFirst = [...data.artifact.attestations].reverse();
  const auditor = session.caller.roles.includes('auditor');
  const body = h`<h1>Artifact <code>${short(d)}</code></h1>
<dl class="facts">
  <dt>Digest</dt><dd><code>${d}</code></dd>
  <dt>Names</dt><dd>${data.artifact.names.join(', ') || 'none'}</dd>
</dl>
<p>${
    auditor
      ? h`<a href="/ui/artifacts/${d}/evidence" download>Download the evidence pack</a> (verify it offline with
        <code>waybill audit verify</code>)`
      : h`<span class="muted">The evidence pack is for auditors (role auditor).</span>`
  }</p>
<h2>Chain</h2>
${chainSummary(data.chain)}
${
  data.relations.rebuildOf.length + data.relations.rebuilds.length > 0
    ? h`<h2>Rebuilds</h2>${relationList('This digest rebuilds', data.relations.rebuildOf)}${relationList(
        'Rebuilt as',
        data.relations.rebuilds,
      )}${data.relations.rebuildOf.map(
        (r) => h`<p><a href="/ui/artifacts/${r.digest}/diff/${d}">What changed since ${short(r.digest)}</a></p>`,
      )}`
    : nothing
}
${exceptionList(data.exceptions)}
<h2>Timeline</h2>
${
  data.artifact.nextCursor
    ? h`<p class="muted">The latest ${String(oldestFirst.length)} attestations, oldest first.</p>`
    : nothing
}
<ol class="timeline">${oldestFirst.map((a) => item(a, data, reports))}</ol>`;
  return page({ title: `Artifact ${short(d)}`, session, body });
}
