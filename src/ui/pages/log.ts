// The transparency log (/ui/log): the latest signed checkpoint (its signature checked), the
// tree size, the latest entries, and whether the tree is consistent with the checkpoint before.
import type { Deps } from '../../deps.ts';
import type { UiSession } from '../../services/ui-sessions.ts';
import { parseCheckpoint, verifyCheckpoint } from '../../tlog/checkpoint.ts';
import { verifyConsistency } from '../../tlog/merkle.ts';
import { at, digestLink, type Html, h, nothing, verified } from '../html.ts';
import { firstSteps, page } from '../layout.ts';
import { kindOf } from './passport.ts';

const RECENT = 15;
// How far back to look for the previous checkpoint (a batch of appends makes one checkpoint).
const PREVIOUS_SCAN = 32;

type LogDeps = Pick<Deps, 'log' | 'intake' | 'keys'>;

export async function logData(deps: LogDeps) {
  const latest = await deps.log.checkpoint();
  const { keyName } = deps.log.identity;
  let signatureOk = false;
  try {
    verifyCheckpoint(latest.note, { name: keyName, publicKey: deps.keys.log.publicKey });
    signatureOk = true;
  } catch {
    signatureOk = false;
  }
  let previous: { size: number; consistent: boolean } | null = null;
  for (let k = latest.treeSize - 1; k >= 1 && k >= latest.treeSize - PREVIOUS_SCAN; k--) {
    const proof = await deps.log.consistency(k, latest.treeSize);
    if (!proof) continue;
    const hashes = proof.hashes.map((x) => Buffer.from(x, 'base64'));
    const oldRoot = parseCheckpoint(proof.from.note).rootHash;
    const newRoot = parseCheckpoint(proof.to.note).rootHash;
    previous = { size: k, consistent: verifyConsistency(k, latest.treeSize, hashes, oldRoot, newRoot) };
    break;
  }
  const recent = latest.treeSize > 0 ? (await deps.intake.list({ limit: RECENT })).items : [];
  return { latest, signatureOk, previous, recent, origin: deps.log.identity.origin };
}

export function logPage(data: Awaited<ReturnType<typeof logData>>, session: UiSession, issuer: string): Html {
  const { latest, previous } = data;
  const body = h`<h1>Transparency log</h1>
<dl class="facts">
  <dt>Origin</dt><dd><code>${data.origin}</code></dd>
  <dt>Size</dt><dd>${String(latest.treeSize)} entries</dd>
  <dt>Checkpoint</dt><dd>${verified(data.signatureOk, 'signed by the log key')}</dd>
  <dt>Previous checkpoint</dt><dd>${
    previous
      ? h`tree size ${String(previous.size)}: ${verified(previous.consistent, 'consistent (RFC 6962 proof)')}`
      : h`<span class="muted">none found within the last ${String(PREVIOUS_SCAN)} entries</span>`
  }</dd>
</dl>
<h2>Latest checkpoint</h2>
<pre><code>${latest.note}</code></pre>
<p class="muted">Also at <a href="/v1/log/checkpoint">/v1/log/checkpoint</a>; any entry at
<code>/v1/log/entries/{index}</code>.</p>
<h2>Recent entries</h2>
${
  data.recent.length
    ? h`<div class="scroll"><table><thead><tr><th scope="col">Index</th><th scope="col">Kind</th>
<th scope="col">Subject</th><th scope="col">Signer</th><th scope="col">Integrated</th></tr></thead>
<tbody>${data.recent.map(
        (a) => h`<tr><td><a href="/v1/log/entries/${String(a.logIndex)}">#${String(a.logIndex)}</a></td>
<td>${kindOf(a.predicateType)}${a.environment ? h` <span class="muted">(${a.environment})</span>` : nothing}</td>
<td>${a.subjects[0] ? digestLink(a.subjects[0].digest) : nothing}</td><td>${a.signer.subject}</td>
<td>${at(new Date(a.integratedTime * 1000))}</td></tr>`,
      )}</tbody></table></div>`
    : firstSteps(issuer)
}`;
  return page({ title: 'Log', session, current: '/ui/log', body });
}
