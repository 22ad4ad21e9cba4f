// The chain's logic over the bundles the pack holds: every id the manifest names is there in its
// role, each bundle's signed content fits its role and its signer, every bundle is about the
// pack's digest (or an original a cited, approved exception lets it borrow from), and every
// verdict cites only what the pack holds; then the steps (steps.ts).
import { TEST_RESULT_V01 } from '../intoto/test-result.ts';
import { VSA_V1 } from '../intoto/vsa.ts';
import { sha256hex } from '../util/encoding.ts';
import { type Item, isObject, type PackContext, str } from './context.ts';
import type { PackRole } from './pack.ts';
import type { StepReport } from './report.ts';
import { REVOCATION_V1 } from './revocations.ts';
import { HEX64 } from './shape.ts';
import { checkSteps, inputIds, PolicyReader, type StepState, stepReports, stepStates } from './steps.ts';

// Predicate types waybill signs (kept here rather than imported from the services, which would
// pull the database layer into an offline tool).
export const DEPLOYMENT_V1 = 'https://waybill.dev/deployment/v1';
export const REBUILD_EXCEPTION_V1 = 'https://waybill.dev/rebuild-exception/v1';
const PROVENANCE_PREFIX = 'https://slsa.dev/provenance/';

export function checkChain(c: PackContext): StepReport[] {
  checkManifestClaims(c);
  checkRoles(c);
  const policies = new PolicyReader(c);
  const states = stepStates(c);
  const { borrowable, borrowed } = borrowing(c, states);
  checkSubjects(c, borrowable, borrowed);
  checkVerdictInputs(c, policies);
  checkSteps(c, states, borrowable, policies);
  checkPolicyFiles(c);
  return stepReports(states);
}

/** Every id the manifest names is in the pack, in the role the manifest gives it. */
function checkManifestClaims(c: PackContext): void {
  const m = c.pack.manifest;
  const claims: Array<{ id: string; role: PackRole; environment?: string; where: string }> = [];
  m.steps.forEach((s, i) => {
    claims.push({
      id: s.verdict,
      role: 'verdict',
      environment: s.environment,
      where: `manifest.steps[${i}] (${s.environment}) verdict`,
    });
    claims.push({
      id: s.deployment,
      role: 'deployment',
      environment: s.environment,
      where: `manifest.steps[${i}] (${s.environment}) deployment`,
    });
    if (s.exception)
      claims.push({
        id: s.exception,
        role: 'rebuild-exception',
        environment: s.environment,
        where: `manifest.steps[${i}] (${s.environment}) exception`,
      });
  });
  for (const id of m.provenance) claims.push({ id, role: 'provenance', where: 'manifest.provenance' });
  for (const [env, ids] of Object.entries(m.testResults))
    for (const id of ids)
      claims.push({ id, role: 'test-result', environment: env, where: `manifest.testResults.${env}` });
  for (const id of m.exceptions) claims.push({ id, role: 'rebuild-exception', where: 'manifest.exceptions' });
  for (const o of m.originals)
    for (const id of o.provenance)
      claims.push({ id, role: 'original-provenance', where: `manifest.originals (${o.digest}) provenance` });
  const missing = new Set<string>();
  for (const claim of claims) {
    const item = c.items.get(claim.id);
    if (!item) {
      if (!missing.has(claim.id))
        c.problems.push(
          `missing bundle ${claim.role} ${claim.id}${claim.environment ? ` (${claim.environment})` : ''}: ` +
            `${claim.where} names it, but the pack has no such attestation`,
        );
      missing.add(claim.id);
      continue;
    }
    if (item.a.role !== claim.role)
      c.problem(item, `${claim.where} lists it as ${claim.role}, but the pack labels it ${item.a.role}`);
    if (claim.environment && claim.role === 'test-result' && item.a.environment !== claim.environment) {
      c.problem(
        item,
        `${claim.where} lists it for ${claim.environment}, but it was recorded for ` +
          `${item.a.environment ?? 'no environment'}`,
      );
    }
  }
}

function roleMatches(role: string, predicateType: string | null): boolean {
  if (predicateType === null) return true; // reported elsewhere
  switch (role) {
    case 'provenance':
    case 'original-provenance':
      return predicateType.startsWith(PROVENANCE_PREFIX);
    case 'test-result':
      return predicateType === TEST_RESULT_V01;
    case 'verdict':
      return predicateType === VSA_V1;
    case 'deployment':
      return predicateType === DEPLOYMENT_V1;
    case 'rebuild-exception':
      return predicateType === REBUILD_EXCEPTION_V1;
    case 'revocation':
      return predicateType === REVOCATION_V1;
    default:
      return true;
  }
}

/** Each bundle's signed content fits its role, and the roles only waybill signs are waybill's. */
function checkRoles(c: PackContext): void {
  const verifierSubject = `${c.issuer}/verifier`;
  const envUri = (env: string) => `${c.issuer}/environments/${env}`;
  for (const item of c.items.values()) {
    if (!item.statement && item.bundle?.content.$case !== 'messageSignature') continue;
    if (!roleMatches(item.a.role, item.report.predicateType)) {
      c.problem(item, `a ${item.a.role} must not be a ${item.report.predicateType} statement`);
    }
    if (item.a.role === 'verdict' || item.a.role === 'rebuild-exception') {
      if (item.a.origin !== 'signed' || item.a.signer.subject !== verifierSubject) {
        c.problem(
          item,
          `a ${item.a.role} must be signed by waybill itself (${verifierSubject}), not ${item.a.signer.subject}`,
        );
      }
    }
    if (item.a.role === 'deployment') {
      if (item.a.origin !== 'signed') c.problem(item, 'a deployment must be signed through waybill');
      const deployer = str(item.predicate.deployer);
      if (deployer !== undefined && deployer !== item.a.signer.subject)
        c.problem(item, `the deployment names deployer ${deployer} but was signed by ${item.a.signer.subject}`);
    }
    if (item.a.role === 'test-result' && item.statement) {
      // waybill binds the environment into the signed configuration.
      const conf = Array.isArray(item.predicate.configuration) ? item.predicate.configuration : [];
      const envs = conf
        .filter((x) => isObject(x) && x.name === 'environment')
        .map((x) => str((x as Record<string, unknown>).uri));
      if (item.a.environment && item.a.origin === 'signed' && !envs.includes(envUri(item.a.environment))) {
        c.problem(item, `the signed test result does not name environment ${item.a.environment}`);
      }
    }
  }
}

/**
 * The originals a step's cited exception lets the chain borrow from (original digest -> the
 * exception), each exception checked to be for this rebuild and that original, and the bundles
 * about an original that count: those a verdict that used the exception cites, the original's
 * provenance the manifest lists, and a step before the exception's.
 */
function borrowing(c: PackContext, states: StepState[]): { borrowable: Map<string, Item>; borrowed: Set<string> } {
  const m = c.pack.manifest;
  const originalsListed = new Set(m.originals.map((o) => o.digest));
  const validException = (x: Item): string | null => {
    const p = x.predicate;
    const original = str(p.original);
    if (p.rebuild !== m.digest)
      return `the exception is for rebuild ${String(p.rebuild)}, not the pack's digest ${m.digest}`;
    if (!original || !/^sha256:[0-9a-f]{64}$/.test(original))
      return `the exception names no sha256 original (${String(original)})`;
    if (!originalsListed.has(original)) return `the exception's original ${original} is not in manifest.originals`;
    const subjects = new Set(x.subjects.map((h) => `sha256:${h}`));
    if (!subjects.has(original) || !subjects.has(m.digest))
      return "the exception's subjects are not its original and its rebuild";
    return null;
  };
  const borrowable = new Map<string, Item>(); // original digest -> the exception
  for (const s of states) {
    if (!s.exception) continue;
    const why = validException(s.exception);
    if (why) c.problem(s.exception, `${s.label}: ${why}`);
    else borrowable.set(str(s.exception.predicate.original)!, s.exception);
  }
  // Bundles about an original count only when a verdict that used the exception cites them, or
  // they are the original's provenance the manifest lists, or a step before the exception's.
  const borrowed = new Set<string>();
  for (const s of states) {
    if (!s.exception || !s.verdict || !borrowable.has(str(s.exception.predicate.original)!)) continue;
    for (const id of inputIds(s.verdict)) borrowed.add(id);
  }
  for (const o of m.originals) if (borrowable.has(o.digest)) for (const id of o.provenance) borrowed.add(id);
  // (A pack may also show the original's own earlier steps: those, and what their verdicts cite.)
  states.forEach((s, i) => {
    const about = s.deployment?.subjects[0] !== undefined ? `sha256:${s.deployment.subjects[0]}` : undefined;
    if (about === undefined || about === m.digest || !borrowable.has(about)) return;
    const later = states.slice(i + 1).some((t) => t.exception && str(t.exception.predicate.original) === about);
    if (!later) return;
    if (s.deployment) borrowed.add(s.deployment.a.id);
    if (s.verdict) {
      borrowed.add(s.verdict.a.id);
      for (const id of inputIds(s.verdict)) borrowed.add(id);
    }
  });
  return { borrowable, borrowed };
}

/** Every bundle is about the pack's digest, or about an original the chain borrows it from. */
function checkSubjects(c: PackContext, borrowable: Map<string, Item>, borrowed: Set<string>): void {
  const m = c.pack.manifest;
  const D = c.digestHex;
  for (const item of c.items.values()) {
    if (!item.statement && item.bundle?.content.$case !== 'messageSignature') continue;
    if (item.a.role === 'rebuild-exception') continue;
    if (item.a.role === 'original-provenance') {
      const o = m.originals.find((x) => x.provenance.includes(item.a.id));
      if (!o) c.problem(item, 'original provenance that manifest.originals does not list');
      else if (!item.subjects.includes(o.digest.slice(7)))
        c.problem(item, `its subject is ${item.report.subjects.join(', ') || 'none'}, not the original ${o.digest}`);
      else if (!borrowable.has(o.digest))
        c.problem(item, `no cited, approved exception names ${o.digest} as the original`);
      continue;
    }
    if (item.subjects.includes(D)) continue;
    const about = item.subjects.map((h) => `sha256:${h}`);
    const original = about.find((d) => borrowable.has(d));
    if (original && borrowed.has(item.a.id)) {
      const exception = borrowable.get(original)!.a.id;
      item.report.notes.push(`about the original ${original}, borrowed under exception ${exception}`);
      let entry = c.borrowed.find((b) => b.original === original && b.exception === exception);
      if (!entry) {
        entry = { original, exception, attestations: [] };
        c.borrowed.push(entry);
      }
      entry.attestations.push(item.a.id);
      continue;
    }
    c.problem(
      item,
      `its subject is ${about.join(', ') || 'no sha256 digest'}, not the pack's digest ${m.digest} ` +
        (original
          ? '(and no verdict that used the exception cites it)'
          : '(and no cited exception lets the chain borrow it)') +
        ': a bundle about another digest',
    );
  }
}

/** Every verdict in the pack cites only bundles in the pack; each one's policy is in the pack. */
function checkVerdictInputs(c: PackContext, policies: PolicyReader): void {
  for (const item of c.items.values()) {
    if (item.a.role !== 'verdict' || !item.statement) continue;
    policies.of(item);
    for (const id of inputIds(item)) {
      if (!HEX64.test(id)) c.problem(item, `inputAttestations has an entry without a sha256 attestation id`);
      else if (!c.items.has(id))
        c.problem(item, `inputAttestations cites ${id}, which is not in the pack (missing bundle ${id})`);
    }
  }
}

function checkPolicyFiles(c: PackContext): void {
  for (const p of c.pack.policies) {
    if (sha256hex(Buffer.from(p.content, 'utf8')) !== p.sha256)
      c.problems.push(`policy ${p.uri}: its content does not hash to ${p.sha256}`);
  }
}
