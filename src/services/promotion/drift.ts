// Reconciliation: per environment, what runs there by the deployment records, and every
// deployment without a valid allow verdict, every verdict resting on an exception that has since
// expired, and every attestation of a running digest whose evidence no longer verifies. The
// deployments come with their verdicts and exceptions in one query; the running digests'
// evidence is re-verified, not trusted from the rows.
import type { PolicySet } from '../../policy/types.ts';
import type { AttestationRepo } from '../../storage/attestation-repo.ts';
import type { DeploymentRepo, ReconciledDeployment } from '../../storage/deployment-repo.ts';
import type { EvidenceVerifier } from '../evidence.ts';

export interface DriftFinding {
  kind: 'deployed-without-allow' | 'exception-expired' | 'evidence-unverifiable';
  digest: string;
  deploymentId?: string;
  attestationId?: string;
  detail: string;
}

export interface DriftReport {
  generatedAt: string;
  ok: boolean;
  environments: Array<{
    name: string;
    current: { digest: string; deploymentId: string; deployedAt: string } | null;
    ok: boolean;
    findings: DriftFinding[];
  }>;
}

export class DriftService {
  readonly #policies: PolicySet;
  readonly #deployments: DeploymentRepo;
  readonly #attestations: AttestationRepo;
  readonly #evidence: EvidenceVerifier;
  readonly #now: () => Date;

  constructor(opts: {
    policies: PolicySet;
    deployments: DeploymentRepo;
    attestations: AttestationRepo;
    evidence: EvidenceVerifier;
    now?: () => Date;
  }) {
    this.#policies = opts.policies;
    this.#deployments = opts.deployments;
    this.#attestations = opts.attestations;
    this.#evidence = opts.evidence;
    this.#now = opts.now ?? (() => new Date());
  }

  async report(): Promise<DriftReport> {
    const now = this.#now();
    const all = await this.#deployments.reconcile(this.#policies.order);
    const environments: DriftReport['environments'] = [];
    for (const name of this.#policies.order) {
      const rows = all.filter((r) => r.deployment.environment === name);
      const findings = rows.flatMap((r) => deploymentFindings(r, now));
      const current = rows.at(-1)?.deployment ?? null;
      if (current) findings.push(...(await this.#evidenceFindings(current.digest)));
      environments.push({
        name,
        current: current
          ? { digest: current.digest, deploymentId: current.id, deployedAt: current.createdAt.toISOString() }
          : null,
        ok: findings.length === 0,
        findings,
      });
    }
    return { generatedAt: now.toISOString(), ok: environments.every((e) => e.ok), environments };
  }

  async #evidenceFindings(digest: string): Promise<DriftFinding[]> {
    const findings: DriftFinding[] = [];
    for (const a of await this.#attestations.about(digest)) {
      const v = await this.#evidence.verify(a);
      if (v.verified) continue;
      findings.push({
        kind: 'evidence-unverifiable',
        digest,
        attestationId: a.id,
        detail: `attestation ${a.id} (${a.predicateType}) of ${digest} no longer verifies: ${v.error ?? 'unknown'}`,
      });
    }
    return findings;
  }
}

/** Why a deployment lacked a valid allow verdict, or undefined when it had one. */
function withoutAllow({ deployment: d, verdict: v }: ReconciledDeployment): string | undefined {
  if (!v) return 'its verdict does not exist';
  if (v.decision !== 'allow') return `its verdict ${v.id} is a deny`;
  if (v.digest !== d.digest) return `its verdict ${v.id} is for ${v.digest}`;
  if (v.environment !== d.environment) return `its verdict ${v.id} is for ${v.environment}`;
  if (!v.expiresAt || v.expiresAt.getTime() < d.createdAt.getTime())
    return `its verdict ${v.id} had expired when it was deployed`;
  return undefined;
}

function deploymentFindings(r: ReconciledDeployment, now: Date): DriftFinding[] {
  const d = r.deployment;
  const findings: DriftFinding[] = [];
  const why = withoutAllow(r);
  if (why) {
    const detail = `${d.digest} reached ${d.environment} (deployment ${d.id}) but ${why}`;
    findings.push({ kind: 'deployed-without-allow', digest: d.digest, deploymentId: d.id, detail });
  }
  const x = r.exception;
  if (x && (!x.expiresAt || x.expiresAt.getTime() <= now.getTime())) {
    const detail = `deployment ${d.id} of ${d.digest} relied on rebuild exception ${x.id}, which has expired`;
    findings.push({ kind: 'exception-expired', digest: d.digest, deploymentId: d.id, detail });
  }
  return findings;
}
