// Verdicts: may digest D enter environment E? E's policy is evaluated over the re-verified
// evidence about D itself (and D's deployments to the prior stage), and the answer is signed as
// an SLSA VSA whether it allows or denies. Everything fails closed: any error is a deny with a
// reason.
import type { Logger } from 'pino';
import { assertMayActFor } from '../../identity/grants.ts';
import { TEST_RESULT_V01 } from '../../intoto/predicates.ts';
import { DEPLOYMENT_V1, REBUILD_EXCEPTION_V1, REVOCATION_V1, vsaStatement, waybillUris } from '../../intoto/waybill.ts';
import { denyAll, evaluate } from '../../policy/evaluate.ts';
import { markRevoked, revocationsIn } from '../../policy/revocations.ts';
import type { Decision, Deployment, Evidence, Policy, PolicySet } from '../../policy/types.ts';
import type { VerdictRepo } from '../../storage/verdict-repo.ts';
import { newId } from '../../util/ids.ts';
import type { AttestService } from '../attest.ts';
import { type EvidenceReader, UntrustedEvidenceError } from '../evidence.ts';
import { policyFor } from '../policies.ts';
import type { RebuildService } from '../rebuilds.ts';
import type { Caller } from '../tokens.ts';
import { type Emit, NO_EVENTS } from '../webhooks.ts';
import { signedDeployment, signedException, vsaRefusal } from './signed-records.ts';
import { type UsedException, type VerdictResult, type VerdictView, verdictView } from './views.ts';

export class VerdictService {
  readonly #emit: Emit;
  readonly #verdicts: VerdictRepo;
  readonly #policies: PolicySet;
  readonly #attest: AttestService;
  readonly #evidence: EvidenceReader;
  readonly #rebuilds: RebuildService;
  readonly #issuer: string;
  readonly #logger: Pick<Logger, 'error'>;
  readonly #now: () => Date;

  constructor(opts: {
    verdicts: VerdictRepo;
    policies: PolicySet;
    attest: AttestService;
    evidence: EvidenceReader;
    rebuilds: RebuildService;
    issuer: string;
    logger: Pick<Logger, 'error'>;
    now?: () => Date;
    emit?: Emit;
  }) {
    this.#emit = opts.emit ?? NO_EVENTS;
    this.#verdicts = opts.verdicts;
    this.#policies = opts.policies;
    this.#attest = opts.attest;
    this.#evidence = opts.evidence;
    this.#rebuilds = opts.rebuilds;
    this.#issuer = opts.issuer;
    this.#logger = opts.logger;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Decide, sign the VSA, store the verdict. */
  async decide(digest: string, environment: string, caller: Caller): Promise<VerdictView> {
    const policy = policyFor(this.#policies, environment);
    assertMayActFor(caller, environment, ['deployer']);
    const now = this.#now();
    let decision: Decision;
    let exception: UsedException | undefined;
    try {
      ({ decision, exception } = await this.#evaluate(policy, digest, now));
    } catch (err) {
      // Fail closed: evidence that cannot be trusted, a storage or an engine error is a deny.
      const untrusted = err instanceof UntrustedEvidenceError;
      if (!untrusted) this.#logger.error({ err, digest, environment }, 'verdict evaluation failed');
      const reason = untrusted ? err.message : 'internal error while gathering evidence; denied (fail closed)';
      decision = { ...denyAll(environment, digest, reason), policy: { uri: policy.uri, digest: policy.digest } };
    }
    decision.policy ??= { uri: policy.uri, digest: policy.digest };

    const allow = decision.decision === 'allow';
    const vsa = vsaStatement({
      issuer: this.#issuer,
      digest,
      environment,
      timeVerified: now,
      policy,
      inputAttestations: decision.inputAttestations,
      passed: allow,
      verifiedLevels: allow ? levels(decision) : ['FAILED'],
    });
    const signed = await this.#attest.sign(vsa, waybillUris(this.#issuer).verifier, { environment });
    const result: VerdictResult = {
      rules: decision.rules,
      reasons: decision.reasons,
      policy: decision.policy,
      requestedBy: caller.subject,
      exception: exception ?? null,
    };
    const row = await this.#verdicts.insert({
      id: newId('vd'),
      digest,
      environment,
      decision: decision.decision,
      policyDigest: policy.digest.sha256,
      result,
      vsaAttestationId: signed.record.id,
      createdAt: now,
      expiresAt: allow ? new Date(now.getTime() + policy.verdictTtlMs) : null,
    });
    const view = verdictView(row, signed.record.bundle);
    if (!allow) await this.#emit('verdict.denied', { ...view, bundle: undefined, requestedBy: caller.subject });
    return view;
  }

  async get(id: string): Promise<VerdictView | undefined> {
    const row = await this.#verdicts.get(id);
    if (!row) return undefined;
    const record = row.vsaAttestationId ? await this.#attest.get(row.vsaAttestationId) : undefined;
    return verdictView(row, record?.bundle ?? null);
  }

  // The decision and, when the allow relied on one, the rebuild exception it cites. Everything it
  // reads is verified evidence about the digest, as the log's signed subject index vouches for it.
  async #evaluate(
    policy: Policy,
    digest: string,
    now: Date,
  ): Promise<{ decision: Decision; exception: UsedException | undefined }> {
    const mine = await this.#about(digest, policy);
    const found = await this.#approvedException(policy, digest, mine, now);
    let exception = found.exception;
    let borrowed: Parameters<typeof evaluate>[1]['exception'];
    if (exception) {
      const theirs = await this.#about(exception.original, policy);
      borrowed = {
        attestationId: exception.attestationId,
        original: exception.original,
        evidence: theirs,
        deployments: await this.#priorDeployments(policy, exception.original, theirs),
      };
    }
    const deployments = await this.#priorDeployments(policy, digest, mine);
    const decision = evaluate(
      policy,
      { digest, evidence: mine, deployments, ...(borrowed ? { exception: borrowed } : {}) },
      now,
    );
    if (decision.decision === 'deny') {
      decision.reasons.unshift(...(await this.#rebuildReasons(policy, digest)), ...found.reasons);
    }
    if (!decision.inputAttestations.includes(exception?.attestationId ?? '')) exception = undefined;
    return { decision, exception };
  }

  // The verified evidence about `digest` of the kinds the policy reads, each revoked one marked.
  async #about(digest: string, policy: Policy): Promise<Evidence[]> {
    const evidence = await this.#evidence.about(digest, kindsRead(policy));
    const signer = { subject: waybillUris(this.#issuer).verifier, issuer: this.#issuer };
    return markRevoked(evidence, revocationsIn(evidence, signer));
  }

  // The `after` rule's evidence: signed deployments of the digest to the prior stage, each made
  // under a VSA that waybill signed allowing exactly that digest into exactly that stage.
  async #priorDeployments(policy: Policy, digest: string, evidence: readonly Evidence[]): Promise<Deployment[]> {
    if (!policy.after) return [];
    const out: Deployment[] = [];
    for (const e of evidence) {
      if (e.revocation) continue;
      const d = signedDeployment(e, digest, this.#issuer);
      if (!d || d.environment !== policy.after) continue;
      const vsa = await this.#evidence.one(d.verdictAttestationId);
      if (vsaRefusal(vsa, digest, policy.after, this.#issuer)) continue;
      out.push({ environment: d.environment, digest, attestationId: d.attestationId, createdAt: e.createdAt });
    }
    return out;
  }

  // The newest signed, unexpired exception for this rebuild and environment whose approvals and
  // required checklist items hold under the policy in force.
  async #approvedException(
    policy: Policy,
    digest: string,
    evidence: readonly Evidence[],
    now: Date,
  ): Promise<{ exception?: UsedException; reasons: string[] }> {
    if (!policy.rebuilds.allowWithException) return { reasons: [] };
    // The signed checklist holds what was true at approval; whether the rebuild has test evidence
    // of its own is asked again now, of verified evidence.
    const required = new Set<string>(policy.rebuilds.require);
    const ownTests = required.delete('own-tests');
    if (
      ownTests &&
      !evidence.some(
        (e) =>
          e.verified &&
          !e.revocation &&
          e.predicateType === TEST_RESULT_V01 &&
          e.subjects.includes(digest) &&
          (e.statement.predicate as { result?: unknown } | undefined)?.result === 'PASSED',
      )
    ) {
      // Say so when an exception for this digest exists: it is the reason the exception is unused.
      const any = evidence.some((e) => {
        const x = e.revocation ? undefined : signedException(e, this.#issuer);
        return x?.rebuild === digest && x.environment === policy.environment;
      });
      const why =
        `own-tests: the rebuild ${digest} has no PASSED test result of its own, ` +
        'so its rebuild exception does not count';
      return { reasons: any ? [why] : [] };
    }
    const usable = evidence
      .map((e) => ({ e, x: e.revocation ? undefined : signedException(e, this.#issuer) }))
      .filter(({ x }) => {
        if (!x || x.rebuild !== digest || x.environment !== policy.environment) return false;
        const approvers = new Set(x.approvers);
        return (
          x.expiresAt.getTime() > now.getTime() &&
          approvers.size >= policy.rebuilds.minApprovals &&
          !approvers.has(x.requestedBy) &&
          x.checklist.every((c) => !required.has(c.item) || c.ok) &&
          [...required].every((item) => x.checklist.some((c) => c.item === item))
        );
      })
      .sort((a, b) => b.e.createdAt.getTime() - a.e.createdAt.getTime());
    const chosen = usable[0]?.x;
    if (!chosen) return { reasons: [] };
    const id = (await this.#rebuilds.exceptionIdOf(chosen.attestationId)) ?? chosen.attestationId;
    return { exception: { id, attestationId: chosen.attestationId, original: chosen.original }, reasons: [] };
  }

  // A deny for a rebuild says so: the evidence it lacks exists, for another digest.
  async #rebuildReasons(policy: Policy, digest: string): Promise<string[]> {
    const rel = await this.#rebuilds.relations(digest);
    const out: string[] = [];
    for (const original of rel.rebuildOf) {
      let evidence: Evidence[];
      try {
        evidence = await this.#about(original.digest, policy);
      } catch (err) {
        if (err instanceof UntrustedEvidenceError) continue;
        throw err;
      }
      const deployments = await this.#priorDeployments(policy, original.digest, evidence);
      const theirs = evaluate(policy, { digest: original.digest, evidence, deployments }, this.#now());
      const has =
        theirs.decision === 'allow'
          ? `which has the ${policy.after ?? policy.environment} evidence`
          : 'which lacks it too';
      const built = `same ${original.name} from ${original.source.uri} at ${original.source.digest}`;
      out.push(`${digest} is a rebuild of ${original.digest} (${built}), ${has}; this digest has none`);
    }
    return out;
  }
}

/** The predicate types a verdict under `policy` reads: its rules', deployments and exceptions. */
function kindsRead(policy: Policy): string[] {
  const kinds = new Set([...policy.rules.map((r) => r.predicateType), REVOCATION_V1]);
  if (policy.after) kinds.add(DEPLOYMENT_V1);
  if (policy.rebuilds.allowWithException) {
    kinds.add(REBUILD_EXCEPTION_V1);
    kinds.add(TEST_RESULT_V01);
  }
  return [...kinds];
}

// A waybill VSA claims Build L1 (provenance exists and was verified) when a provenance rule
// held; it makes no higher claim it cannot check.
function levels(decision: Decision): string[] {
  return decision.inputAttestations.length > 0 ? ['SLSA_BUILD_LEVEL_1'] : ['SLSA_BUILD_LEVEL_UNEVALUATED'];
}
