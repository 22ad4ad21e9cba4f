// The offline auditor's verifier for evidence packs (src/audit/pack.ts). Given a pack (and,
// ideally, a trusted root obtained independently of it), it checks with no network:
//
// - trust: every key the pack's root lists is in the given root; the checkpoint is signed by a log
//   key of that root (current or retired) that was in service for the entries it covers
//   (trust.ts);
// - every bundle: its id is the SHA-256 of its envelope; @sigstore/verify (through
//   src/signing/verify.ts) accepts it under the trusted root with the recorded signer's identity;
//   the pack's log entry is the bundle's own (its SET signed by the log key of its time), and is
//   included in the pack's checkpoint (bundles.ts, log-entry.ts);
// - the chain: one digest from end to end (or the original a cited, approved exception lets it
//   borrow from), verdicts that allow exactly the step they are used for and cite only bundles in
//   the pack, deployments under their own step's verdict and after it, steps in promotion order,
//   policy files whose bytes hash to what the verdicts name (chain.ts, steps.ts);
// - revocations: waybill's own; a verdict citing evidence revoked before it is a problem, one
//   made before the revocation holds as of its time (revocations.ts).
//
// Every problem names the bundle (role, id, environment) or the part of the pack it concerns.
import { checkAttestation } from './bundles.ts';
import { checkChain } from './chain.ts';
import { type Item, PackContext } from './context.ts';
import type { PackReport, VerifyPackOptions } from './report.ts';
import { checkRevocations } from './revocations.ts';
import { readPack } from './shape.ts';
import { checkCheckpoint, checkCheckpointKeyInService, chooseTrust } from './trust.ts';

export { DEPLOYMENT_V1, REBUILD_EXCEPTION_V1 } from './chain.ts';
export type { AttestationReport, PackReport, StepEvent, StepReport, VerifyPackOptions } from './report.ts';

/** Verify an evidence pack offline. Never throws for a bad pack: the report says what is wrong. */
export async function verifyPack(pack: unknown, opts: VerifyPackOptions = {}): Promise<PackReport> {
  return verifyPackSync(pack, opts);
}

export function verifyPackSync(input: unknown, opts: VerifyPackOptions = {}): PackReport {
  const report = emptyReport(opts);
  const pack = readPack(input, report);
  if (!pack) return report;
  const trust = chooseTrust(pack, opts, report);
  if (!trust) return report;
  const { checkpoint, key } = checkCheckpoint(pack, trust, report);

  const c = new PackContext(pack, trust.root, trust.logKeys, checkpoint);
  for (const [i, a] of pack.attestations.entries()) checkAttestation(c, a, i);
  checkCheckpointKeyInService(c, key);
  checkLogIndexesUnique(c);
  checkProofsAgainstCheckpoint(c, report);
  report.steps = checkChain(c);
  report.revocations = checkRevocations(c);

  report.borrowed = c.borrowed;
  report.attestations = [...c.items.values()].map((i) => i.report);
  report.problems.push(...c.problems);
  report.ok = report.problems.length === 0;
  return report;
}

function emptyReport(opts: VerifyPackOptions): PackReport {
  return {
    ok: false,
    digest: null,
    environment: null,
    issuer: null,
    generatedAt: null,
    trustedRoot: opts.trustedRoot !== undefined ? 'given' : 'pack',
    checkpoint: null,
    steps: [],
    borrowed: [],
    attestations: [],
    revocations: [],
    problems: [],
  };
}

function checkLogIndexesUnique(c: PackContext): void {
  const seen = new Map<number, string>();
  for (const item of c.items.values()) {
    if (item.logIndex === null) continue;
    const other = seen.get(item.logIndex);
    if (other) c.problem(item, `log index #${item.logIndex} is also claimed by ${other}`);
    else seen.set(item.logIndex, item.a.id);
  }
}

/**
 * Every inclusion proof is against the pack's checkpoint: its tree head (size and root) and its
 * copy of the note. Said once when no proof agrees (the pack's checkpoint was replaced or
 * altered), else for each bundle whose proof disagrees.
 */
function checkProofsAgainstCheckpoint(c: PackContext, report: PackReport): void {
  const aggregate = (items: Item[], all: string, each: string) => {
    if (items.length > 0 && items.length === c.items.size && items.length > 1) {
      report.problems.push(`checkpoint: ${all.replace('N', String(items.length))}`);
      for (const item of items) {
        item.report.ok = false;
        item.report.problems.push(each);
      }
    } else {
      for (const item of items) c.problem(item, each);
    }
  };
  aggregate(
    c.otherRoot,
    'its tree head (size, root hash) is not the one any of the N inclusion proofs proves: ' +
      'the checkpoint was altered or replaced',
    "inclusion proof: its tree size and root hash are not the checkpoint's",
  );
  aggregate(
    c.otherCheckpoint,
    'it is not the checkpoint note any of the N inclusion proofs carries: the checkpoint was altered or replaced',
    "inclusion proof: the checkpoint it carries is not the pack's checkpoint",
  );
}
