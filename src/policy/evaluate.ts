// evaluate(policy, input, now) -> Decision: pure and deterministic (no I/O, no clock but `now`).
// It fails closed: anything that cannot be shown to hold (a CEL error, unverifiable evidence for
// an `absent` rule, an unknown deployment history, a thrown error) is a deny with its reason.
import { messageOf } from '../errors.ts';
import { normalizeDigest } from '../intoto/digest.ts';
import { isPlainObject } from '../intoto/fields.ts';
import { subjectDigests } from '../intoto/statement.ts';
import type {
  Decision,
  Deployment,
  EvaluationInput,
  Evidence,
  Policy,
  PolicySet,
  RebuildException,
  Rule,
  RuleResult,
} from './types.ts';
import { deployedRuleName } from './types.ts';

/** A deny that evaluated nothing: unknown environment, storage error, bad input. */
export function denyAll(environment: string, digest: string, reason: string): Decision {
  return { environment, digest, decision: 'deny', rules: [], inputAttestations: [], reasons: [reason] };
}

/** Evaluate the policy of `environment` in `set`; an environment with no policy is a deny. */
export function evaluateEnvironment(set: PolicySet, environment: string, input: EvaluationInput, now: Date): Decision {
  const policy = set.policies.get(environment);
  if (!policy) {
    return denyAll(
      environment,
      input.digest,
      `unknown environment "${environment}"; the environments are ${set.order.join(', ')}`,
    );
  }
  return evaluate(policy, input, now);
}

export function evaluate(policy: Policy, input: EvaluationInput, now: Date): Decision {
  const withPolicy = (d: Decision): Decision => ({ ...d, policy: { uri: policy.uri, digest: { ...policy.digest } } });
  let digest: string;
  try {
    digest = normalizeDigest(input.digest);
  } catch (err) {
    return withPolicy(denyAll(policy.environment, String(input.digest), `invalid digest: ${messageOf(err)}`));
  }
  try {
    if (Number.isNaN(now.getTime())) throw new RangeError('the evaluation time is not a valid date');
    const rules: RuleResult[] = [];
    const exception = input.exception;
    const original = exception ? normalizeDigest(exception.original) : undefined;
    if (policy.after !== null) {
      let result = deployedTo(policy.after, digest, input.deployments);
      // Under an exception the original's promotion through the prior stage counts.
      if (!result.satisfied && exception && original)
        result = borrowed(result, deployedTo(policy.after, original, exception.deployments), exception);
      rules.push(result);
    }
    for (const rule of policy.rules) {
      let result = evaluateRule(rule, digest, input.evidence, now);
      if (rule.transferable && exception && original) {
        const theirs = evaluateRule(rule, original, exception.evidence, now);
        // An `absent` rule must hold for both: the original's failures are not forgiven.
        if (rule.absent)
          result =
            result.satisfied && !theirs.satisfied
              ? { ...theirs, reason: `the original ${original}: ${theirs.reason}` }
              : result;
        else if (!result.satisfied) result = borrowed(result, theirs, exception);
      }
      rules.push(result);
    }
    const satisfied = rules.filter((r) => r.satisfied);
    const allow = rules.length > 0 && satisfied.length === rules.length;
    // A deny cites what made it a deny first; every decision cites the revocations it honoured.
    const causes = allow ? [] : rules.flatMap((r) => (r.satisfied ? [] : (r.rejected ?? [])));
    return withPolicy({
      environment: policy.environment,
      digest,
      decision: allow ? 'allow' : 'deny',
      rules,
      inputAttestations: unique([
        ...causes,
        ...satisfied.flatMap((r) => r.evidence),
        ...rules.flatMap((r) => r.revoked ?? []),
      ]),
      reasons: rules.filter((r) => !r.satisfied).map((r) => `${r.name}: ${r.reason}`),
    });
  } catch (err) {
    return withPolicy(denyAll(policy.environment, digest, `policy evaluation failed: ${messageOf(err)}`));
  }
}

/** A rule satisfied by the original's evidence under an exception cites the exception too. */
function borrowed(own: RuleResult, theirs: RuleResult, exception: RebuildException): RuleResult {
  if (!theirs.satisfied)
    return {
      ...own,
      reason:
        `${own.reason}; nor does the original ${exception.original} ` + `under the rebuild exception: ${theirs.reason}`,
    };
  const revoked = unique([...(own.revoked ?? []), ...(theirs.revoked ?? [])]);
  return {
    name: own.name,
    satisfied: true,
    evidence: [...theirs.evidence, exception.attestationId],
    reason: `satisfied by the original ${exception.original} under rebuild exception ${exception.attestationId}`,
    ...(revoked.length > 0 ? { revoked } : {}),
  };
}

/** The implicit rule `after: <environment>` adds: this exact digest was deployed there. */
function deployedTo(environment: string, digest: string, deployments: readonly Deployment[] | undefined): RuleResult {
  const name = deployedRuleName(environment);
  if (!deployments) {
    return {
      name,
      satisfied: false,
      evidence: [],
      reason: `the deployment history was not provided, so a deployment of ${digest} to ${environment} cannot be shown`,
    };
  }
  const matching = deployments.filter((d) => d.environment === environment && sameDigest(d.digest, digest));
  if (matching.length === 0) {
    return { name, satisfied: false, evidence: [], reason: `${digest} has not been deployed to ${environment}` };
  }
  const latest = matching.reduce((a, b) => (b.createdAt.getTime() > a.createdAt.getTime() ? b : a));
  return { name, satisfied: true, evidence: [latest.attestationId] };
}

function evaluateRule(rule: Rule, digest: string, evidence: readonly Evidence[], now: Date): RuleResult {
  const where = rule.environment === null ? '' : ` in environment ${rule.environment}`;
  const about = `${rule.predicateType} evidence for ${digest}${where}`;
  const inScope = evidence.filter((e) => e.predicateType === rule.predicateType && e.subjects.includes(digest));
  const inEnvironment = rule.environment === null ? inScope : inScope.filter((e) => e.environment === rule.environment);
  // Revoked evidence never counts, for or against; the decision cites the revocations.
  const candidates = inEnvironment.filter((e) => !e.revocation);
  const revokedEvidence = inEnvironment.filter((e) => e.revocation);
  const revoked = unique(revokedEvidence.map((e) => e.revocation!.id));
  const withRevoked = (r: RuleResult): RuleResult => (revoked.length > 0 ? { ...r, revoked } : r);

  const matched: Evidence[] = [];
  const unusable: string[] = []; // cannot be trusted: never counts, and an `absent` rule cannot be shown
  const rejected: string[] = []; // trusted, but does not match the rule
  const errors: string[] = [];
  const rejectedIds: string[] = [];
  const errorIds: string[] = [];
  for (const e of candidates) {
    const subject = subjectEntry(e.statement, digest);
    const integrity = !e.verified
      ? `could not be verified${e.verifyError ? `: ${e.verifyError}` : ''}`
      : Number.isNaN(e.createdAt.getTime())
        ? 'has no valid creation time'
        : subject === undefined
          ? `has no statement subject with digest ${digest}`
          : undefined;
    if (integrity !== undefined) {
      unusable.push(`evidence ${e.id} ${integrity}`);
      continue;
    }
    const mismatch = signerMismatch(rule, e) ?? ageMismatch(rule, e, now);
    if (mismatch !== undefined) {
      rejected.push(`evidence ${e.id}: ${mismatch}`);
      rejectedIds.push(e.id);
      continue;
    }
    if (rule.where !== null) {
      let holds: boolean;
      try {
        holds = rule.where.evaluate(celVariables(e, subject!));
      } catch (err) {
        errors.push(`where failed on evidence ${e.id}: ${messageOf(err)}`);
        errorIds.push(e.id);
        continue;
      }
      if (!holds) {
        rejected.push(`evidence ${e.id} does not satisfy where: ${rule.where.source}`);
        rejectedIds.push(e.id);
        continue;
      }
    }
    matched.push(e);
  }

  const fail = (reason: string, because: readonly string[] = []): RuleResult =>
    withRevoked({
      name: rule.name,
      satisfied: false,
      evidence: [],
      reason,
      ...(because.length > 0 ? { rejected: unique(because) } : {}),
    });
  // Fail closed: an expression that errors on any candidate decides nothing.
  if (errors.length > 0) return fail(listed(errors), errorIds);
  if (rule.absent) {
    if (matched.length > 0)
      return fail(
        `found ${about} that must be absent: ${listed(matched.map(describe))}`,
        matched.map((e) => e.id),
      );
    if (unusable.length > 0) return fail(`cannot show that no ${about} matches: ${listed(unusable)}`);
    return withRevoked({ name: rule.name, satisfied: true, evidence: [] });
  }
  if (matched.length > 0 && rule.signers !== null) {
    // N of M: distinct identities; the same identity signing twice counts once.
    const identities = unique(matched.map((e) => `${e.signer.subject} (${e.signer.issuer})`));
    if (identities.length < rule.signers.min) {
      const listedSigners = rule.signers.of.map((o) => o.subject).join(', ');
      return fail(
        `${about} is signed by ${identities.length} of the ${rule.signers.min} distinct listed signers ` +
          `required (${listedSigners}): ${identities.join(', ')}`,
        matched.map((e) => e.id),
      );
    }
  }
  if (matched.length > 0)
    return withRevoked({ name: rule.name, satisfied: true, evidence: unique(matched.map((e) => e.id)) });
  const revokedNote = revokedEvidence.map(
    (e) => `evidence ${e.id} was revoked by ${e.revocation!.revokedBy} (${e.revocation!.reason})`,
  );
  if (candidates.length === 0) {
    if (revokedNote.length > 0) return fail(`no ${about} qualifies: ${listed(revokedNote)}`);
    const elsewhere = unique(inScope.map((e) => e.environment ?? 'none'));
    return fail(`no ${about}${elsewhere.length > 0 ? ` (only in environments: ${elsewhere.join(', ')})` : ''}`);
  }
  // Unverified evidence is named in the reason but never cited: a VSA cites only what verified.
  return fail(`no ${about} qualifies: ${listed([...unusable, ...rejected, ...revokedNote])}`, rejectedIds);
}

function signerMismatch(rule: Rule, e: Evidence): string | undefined {
  const listed = rule.signers?.of;
  if (listed && !listed.some((o) => o.issuer === e.signer.issuer && o.subjectPattern.test(e.signer.subject))) {
    return `signer ${e.signer.subject} (${e.signer.issuer}) is not one of the listed signers`;
  }
  const signer = rule.signer;
  if (signer === null) return undefined;
  if (signer.issuer !== null && e.signer.issuer !== signer.issuer) {
    return `issuer ${e.signer.issuer} is not ${signer.issuer}`;
  }
  if (signer.subjectPattern !== null && !signer.subjectPattern.test(e.signer.subject)) {
    return `signer ${e.signer.subject} does not match ${signer.subject}`;
  }
  return undefined;
}

function ageMismatch(rule: Rule, e: Evidence, now: Date): string | undefined {
  if (rule.maxAgeMs === null) return undefined;
  return now.getTime() - e.createdAt.getTime() >= rule.maxAgeMs
    ? `is older than ${rule.maxAge} (created ${e.createdAt.toISOString()})`
    : undefined;
}

/** The statement's subject entry carrying `digest`, as the CEL variable `subject`. */
function subjectEntry(
  statement: Readonly<Record<string, unknown>>,
  digest: string,
): Record<string, unknown> | undefined {
  const subjects = statement.subject;
  if (!Array.isArray(subjects)) return undefined;
  return subjects.find(
    (s: unknown): s is Record<string, unknown> =>
      isPlainObject(s) &&
      isPlainObject(s.digest) &&
      subjectDigests({ subject: [s as { digest: Record<string, string> }] }).some((d) => d.digest === digest),
  );
}

/** The variables a `where` sees (docs/policies.md). */
function celVariables(e: Evidence, subject: Record<string, unknown>): Record<string, unknown> {
  const predicate = e.statement.predicate;
  return {
    statement: e.statement,
    // in-toto: an unset predicate is the same as an empty one.
    predicate: isPlainObject(predicate) ? predicate : {},
    subject,
    signer: { subject: e.signer.subject, issuer: e.signer.issuer },
    environment: e.environment,
    attestation: { id: e.id, createdAt: e.createdAt.toISOString(), predicateType: e.predicateType },
  };
}

function describe(e: Evidence): string {
  return `evidence ${e.id} (signed by ${e.signer.subject}, created ${e.createdAt.toISOString()})`;
}

function sameDigest(candidate: string, digest: string): boolean {
  try {
    return normalizeDigest(candidate) === digest;
  } catch {
    return false;
  }
}

const MAX_LISTED = 5;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
