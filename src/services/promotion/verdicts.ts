// Verdicts: may digest D enter environment E? E's policy is evaluated over the re-verified
// evidence about D itself (and D's deployments to the prior stage), and the answer is signed as
// an SLSA VSA whether it allows or denies. Everything fails closed: any error is a deny with a
// reason.
import type { Logger } from 'pino';
import { vsaStatement, waybillUris } from '../../intoto/waybill.ts';
import { denyAll, evaluate } from '../../policy/evaluate.ts';
import type { Decision, Deployment, Policy, PolicySet } from '../../policy/types.ts';
import type { AttestationRepo } from '../../storage/attestation-repo.ts';
import type { DeploymentRepo } from '../../storage/deployment-repo.ts';
import type { VerdictRepo } from '../../storage/verdict-repo.ts';
import { newId } from '../../util/ids.ts';
import type { AttestService } from '../attest.ts';
import type { EvidenceVerifier } from '../evidence.ts';
import { policyFor } from '../policies.ts';
import type { RebuildService } from '../rebuilds.ts';
import type { Caller } from '../tokens.ts';
import { type UsedException, type VerdictResult, type VerdictView, verdictView } from './views.ts';

export class VerdictService {
  readonly #verdicts: VerdictRepo;
  readonly #deployments: DeploymentRepo;
  readonly #attestations: AttestationRepo;
  readonly #policies: PolicySet;
  readonly #attest: AttestService;
  readonly #evidence: EvidenceVerifier;
  readonly #rebuilds: RebuildService;
  readonly #issuer: string;
  readonly #logger: Pick<Logger, 'error'>;
  readonly #now: () => Date;

  constructor(opts: {
    verdicts: VerdictRepo;
    deployments: DeploymentRepo;
    attestations: AttestationRepo;
    policies: PolicySet;
    attest: AttestService;
    evidence: EvidenceVerifier;
    rebuilds: RebuildService;
    issuer: string;
    logger: Pick<Logger, 'error'>;
    now?: () => Date;
  }) {
    this.#verdicts = opts.verdicts;
    this.#deployments = opts.deployments;
    this.#attestations = opts.attestations;
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
    const now = this.#now();
    let decision: Decision;
    let exception: UsedException | undefined;
    try {
      ({ decision, exception } = await this.#evaluate(policy, digest, now));
    } catch (err) {
      // Fail closed: a storage or engine error is a deny, never an allow.
      this.#logger.error({ err, digest, environment }, 'verdict evaluation failed');
      decision = {
        ...denyAll(environment, digest, 'internal error while gathering evidence; denied (fail closed)'),
        policy: { uri: policy.uri, digest: policy.digest },
      };
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
    return verdictView(row, signed.record.bundle);
  }

  async get(id: string): Promise<VerdictView | undefined> {
    const row = await this.#verdicts.get(id);
    if (!row) return undefined;
    const record = row.vsaAttestationId ? await this.#attest.get(row.vsaAttestationId) : undefined;
    return verdictView(row, record?.bundle ?? null);
  }

  // The decision and, when the allow relied on one, the rebuild exception it cites.
  async #evaluate(
    policy: Policy,
    digest: string,
    now: Date,
  ): Promise<{ decision: Decision; exception: UsedException | undefined }> {
    const environment = policy.environment;
    const approved = await this.#rebuilds.approvedFor(digest, environment);
    let exception: UsedException | undefined = approved && {
      id: approved.view.id,
      attestationId: approved.attestationId,
      original: approved.view.original,
    };
    const borrowed = exception && {
      attestationId: exception.attestationId,
      original: exception.original,
      evidence: await this.#evidenceFor(policy, exception.original),
      deployments: await this.#priorDeployments(policy, exception.original),
    };
    const decision = evaluate(
      policy,
      {
        digest,
        evidence: await this.#evidenceFor(policy, digest),
        deployments: await this.#priorDeployments(policy, digest),
        ...(borrowed ? { exception: borrowed } : {}),
      },
      now,
    );
    if (decision.decision === 'deny') decision.reasons.unshift(...(await this.#rebuildReasons(policy, digest)));
    if (!decision.inputAttestations.includes(exception?.attestationId ?? '')) exception = undefined;
    return { decision, exception };
  }

  // Only what some rule can use is read and re-verified (a digest also carries its VSAs and
  // deployments, which no rule looks at).
  async #evidenceFor(policy: Policy, digest: string) {
    const predicateTypes = [...new Set(policy.rules.map((r) => r.predicateType))];
    return this.#evidence.evidence(await this.#attestations.about(digest, { predicateTypes }));
  }

  async #priorDeployments(policy: Policy, digest: string): Promise<Deployment[]> {
    if (!policy.after) return [];
    const rows = await this.#deployments.of(digest, policy.after);
    return rows.map((r) => ({
      environment: r.environment,
      digest: r.digest,
      attestationId: r.attestationId,
      createdAt: r.createdAt,
    }));
  }

  // A deny for a rebuild says so: the evidence it lacks exists, for another digest.
  async #rebuildReasons(policy: Policy, digest: string): Promise<string[]> {
    const rel = await this.#rebuilds.relations(digest);
    const out: string[] = [];
    for (const original of rel.rebuildOf) {
      const theirs = evaluate(
        policy,
        {
          digest: original.digest,
          evidence: await this.#evidenceFor(policy, original.digest),
          deployments: await this.#priorDeployments(policy, original.digest),
        },
        this.#now(),
      );
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

// A waybill VSA claims Build L1 (provenance exists and was verified) when a provenance rule
// held; it makes no higher claim it cannot check.
function levels(decision: Decision): string[] {
  return decision.inputAttestations.length > 0 ? ['SLSA_BUILD_LEVEL_1'] : ['SLSA_BUILD_LEVEL_UNEVALUATED'];
}
