// Deployments: a digest enters an environment only under an unexpired allow verdict for the
// same digest and environment, and the deployment itself is signed. Also what ran where: a
// digest's verdicts and deployments, an environment's latest deployment.
import { AppError } from '../../errors.ts';
import { deploymentStatement } from '../../intoto/waybill.ts';
import type { DeploymentRepo } from '../../storage/deployment-repo.ts';
import type { VerdictRepo } from '../../storage/verdict-repo.ts';
import { newId } from '../../util/ids.ts';
import type { AttestService } from '../attest.ts';
import type { Caller } from '../tokens.ts';
import { type DeploymentView, deploymentView, type VerdictResult, type VerdictView, verdictView } from './views.ts';

export class DeploymentService {
  readonly #deployments: DeploymentRepo;
  readonly #verdicts: VerdictRepo;
  readonly #attest: AttestService;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: {
    deployments: DeploymentRepo;
    verdicts: VerdictRepo;
    attest: AttestService;
    issuer: string;
    now?: () => Date;
  }) {
    this.#deployments = opts.deployments;
    this.#verdicts = opts.verdicts;
    this.#attest = opts.attest;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Record a deployment under an unexpired allow verdict for the same digest and environment. */
  async deploy(
    input: { digest: string; environment: string; verdictId: string },
    caller: Caller,
  ): Promise<DeploymentView> {
    const verdict = await this.#verdicts.get(input.verdictId);
    if (!verdict) throw new AppError('NOT_FOUND', `no verdict ${input.verdictId}`);
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
    if (!verdict.expiresAt || verdict.expiresAt.getTime() <= now.getTime()) {
      const expired = verdict.expiresAt?.toISOString() ?? '(never valid)';
      throw new AppError('CONFLICT', `verdict ${v} expired at ${expired}; ask for a new one`);
    }
    const statement = deploymentStatement({
      issuer: this.#issuer,
      digest: input.digest,
      environment: input.environment,
      verdict: { id: verdict.id, attestationId: verdict.vsaAttestationId! },
      deployedAt: now,
      deployer: caller.subject,
      exception: (verdict.result as VerdictResult).exception ?? null,
    });
    const signed = await this.#attest.sign(statement, caller.subject, { environment: input.environment });
    const row = await this.#deployments.insert({
      id: newId('dp'),
      digest: input.digest,
      environment: input.environment,
      verdictId: verdict.id,
      attestationId: signed.record.id,
      deployer: caller.subject,
      createdAt: now,
    });
    return { ...deploymentView(row), bundle: signed.record.bundle };
  }

  /** Verdicts and deployments of a digest, oldest first. */
  async historyOf(digest: string): Promise<{ verdicts: VerdictView[]; deployments: DeploymentView[] }> {
    const [verdicts, deployments] = await Promise.all([
      this.#verdicts.ofDigest(digest),
      this.#deployments.ofDigest(digest),
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
