// Deployments: a digest enters an environment only under an unexpired allow verdict for the
// same digest and environment, and the deployment itself is signed. Also what ran where: a
// digest's verdicts and deployments, an environment's latest deployment.
import { AppError } from '../../errors.ts';
import { signingIdentityOf } from '../../identity/caller.ts';
import { assertMayActFor } from '../../identity/grants.ts';
import { deploymentStatement, REBUILD_EXCEPTION_V1 } from '../../intoto/waybill.ts';
import type { PolicySet } from '../../policy/types.ts';
import type { DeploymentRepo } from '../../storage/deployment-repo.ts';
import type { VerdictRepo, VerdictRow } from '../../storage/verdict-repo.ts';
import { newId } from '../../util/ids.ts';
import type { AttestService } from '../attest.ts';
import type { EvidenceReader } from '../evidence.ts';
import { policyFor } from '../policies.ts';
import type { Caller } from '../tokens.ts';
import { type Emit, NO_EVENTS } from '../webhooks.ts';
import { vsaInputs, vsaPolicyDigest, vsaRefusal, vsaTime } from './signed-records.ts';
import { type DeploymentView, deploymentView, type VerdictResult, type VerdictView, verdictView } from './views.ts';

export class DeploymentService {
  readonly #emit: Emit;
  readonly #deployments: DeploymentRepo;
  readonly #verdicts: VerdictRepo;
  readonly #attest: AttestService;
  readonly #evidence: EvidenceReader;
  readonly #policies: PolicySet;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: {
    deployments: DeploymentRepo;
    verdicts: VerdictRepo;
    attest: AttestService;
    evidence: EvidenceReader;
    policies: PolicySet;
    issuer: string;
    now?: () => Date;
    emit?: Emit;
  }) {
    this.#emit = opts.emit ?? NO_EVENTS;
    this.#deployments = opts.deployments;
    this.#verdicts = opts.verdicts;
    this.#attest = opts.attest;
    this.#evidence = opts.evidence;
    this.#policies = opts.policies;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /**
   * Record a deployment under an unexpired allow verdict for the same digest and environment.
   * The verdict counts for what its signed VSA says, not what its row says: the VSA must allow
   * exactly this digest into exactly this environment, under the policy in force, and be younger
   * than that policy's verdict TTL.
   */
  async deploy(
    input: { digest: string; environment: string; verdictId: string },
    caller: Caller,
  ): Promise<DeploymentView> {
    const verdict = await this.#verdicts.get(input.verdictId);
    if (!verdict) throw new AppError('NOT_FOUND', `no verdict ${input.verdictId}`);
    const policy = policyFor(this.#policies, input.environment);
    assertMayActFor(caller, input.environment, ['deployer']);
    const now = this.#now();
    const v = verdict.id;
    if (verdict.digest !== input.digest)
      throw new AppError('CONFLICT', `verdict ${v} is for ${verdict.digest}, not ${input.digest}`);
    if (verdict.environment !== input.environment)
      throw new AppError(
        'CONFLICT',
        `verdict ${v} is for environment ${verdict.environment}, not ${input.environment}`,
      );
    if (verdict.decision !== 'allow') throw new AppError('CONFLICT', `verdict ${v} denied this deployment`);
    const vsa = verdict.vsaAttestationId ? await this.#evidence.one(verdict.vsaAttestationId) : undefined;
    const refusal = vsaRefusal(vsa, input.digest, input.environment, this.#issuer);
    if (refusal || !vsa) throw new AppError('CONFLICT', `verdict ${v} does not allow this deployment: ${refusal}`);
    const verified = vsaTime(vsa);
    if (vsaPolicyDigest(vsa) !== policy.digest.sha256) {
      throw new AppError(
        'CONFLICT',
        `verdict ${v} was made under another ${input.environment} policy; ask for a new one`,
      );
    }
    const expires = verified && new Date(verified.getTime() + policy.verdictTtlMs);
    if (!expires || !sameTimes(verdict, verified, expires)) {
      throw new AppError('CONFLICT', `verdict ${v}'s record does not match its signed VSA (edited in storage?)`);
    }
    if (expires.getTime() <= now.getTime()) {
      throw new AppError('CONFLICT', `verdict ${v} expired at ${expires.toISOString()}; ask for a new one`);
    }
    const statement = deploymentStatement({
      issuer: this.#issuer,
      digest: input.digest,
      environment: input.environment,
      verdict: { id: verdict.id, attestationId: vsa.id },
      deployedAt: now,
      deployer: caller.subject,
      exception: await this.#citedException(verdict, vsaInputs(vsa)),
    });
    const signed = await this.#attest.sign(statement, signingIdentityOf(caller), { environment: input.environment });
    const row = await this.#deployments.insert({
      id: newId('dp'),
      digest: input.digest,
      environment: input.environment,
      verdictId: verdict.id,
      attestationId: signed.record.id,
      deployer: caller.subject,
      createdAt: now,
    });
    await this.#emit('deployment.recorded', deploymentView(row));
    return { ...deploymentView(row), bundle: signed.record.bundle };
  }

  // The exception the verdict relied on, if the VSA cites it as one of its inputs.
  async #citedException(verdict: VerdictRow, inputs: readonly string[]) {
    const named = (verdict.result as VerdictResult).exception;
    if (!named || !inputs.includes(named.attestationId)) return null;
    const e = await this.#evidence.one(named.attestationId);
    return e?.verified && e.predicateType === REBUILD_EXCEPTION_V1 ? { id: named.id, attestationId: e.id } : null;
  }

  /** One deployment with its signed attestation's bundle. */
  async get(id: string): Promise<DeploymentView | undefined> {
    const row = await this.#deployments.get(id);
    if (!row) return undefined;
    const attestation = await this.#attest.get(row.attestationId);
    return { ...deploymentView(row), bundle: attestation?.bundle };
  }

  /** Verdicts and deployments of a digest, oldest first (only the latest `latest` of each, when given). */
  async historyOf(
    digest: string,
    opts: { latest?: number } = {},
  ): Promise<{ verdicts: VerdictView[]; deployments: DeploymentView[] }> {
    const [verdicts, deployments] = await Promise.all([
      this.#verdicts.ofDigest(digest, opts.latest),
      this.#deployments.ofDigest(digest, opts.latest),
    ]);
    return { verdicts: verdicts.map((row) => verdictView(row)), deployments: deployments.map(deploymentView) };
  }

  /** What runs in an environment now: its latest deployment. */
  async current(environment: string): Promise<DeploymentView | null> {
    const [row] = await this.#deployments.latest(environment, 1);
    return row ? deploymentView(row) : null;
  }

  /** An environment's latest deployments, newest first. */
  async recent(environment: string, limit: number): Promise<DeploymentView[]> {
    return (await this.#deployments.latest(environment, limit)).map(deploymentView);
  }
}

// The row's times are copies of the VSA's: created when it was verified, expiring a TTL later.
function sameTimes(row: VerdictRow, verified: Date, expires: Date): boolean {
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  return (
    seconds(row.createdAt) === seconds(verified) &&
    row.expiresAt !== null &&
    seconds(row.expiresAt) === seconds(expires)
  );
}
