// Reconciliation: per environment, what runs there by the deployment records, every deployment
// that did not rest on a signed allow for exactly that digest and environment, every deployment
// whose rebuild exception has since expired, and every attestation of a running digest whose
// evidence no longer verifies; then the storage audit (services/integrity.ts): the log recomputed
// from its entries, and every row against what was signed for it.
import { REBUILD_EXCEPTION_V1 } from '../../intoto/waybill.ts';
import type { Evidence, PolicySet } from '../../policy/types.ts';
import type { DeploymentRepo, DeploymentRow } from '../../storage/deployment-repo.ts';
import type { VerdictRepo } from '../../storage/verdict-repo.ts';
import { type EvidenceReader, UntrustedEvidenceError } from '../evidence.ts';
import type { IntegrityAudit, IntegrityReport } from '../integrity.ts';
import { type Emit, NO_EVENTS } from '../webhooks.ts';
import {
  signedDeployment,
  signedException,
  vsaInputs,
  vsaPolicyDigest,
  vsaRefusal,
  vsaTime,
} from './signed-records.ts';
import type { SnapshotService, SnapshotView } from './snapshots.ts';

export interface DriftFinding {
  kind:
    | 'deployed-without-allow'
    | 'exception-expired'
    | 'evidence-unverifiable'
    | 'evidence-untrusted'
    | 'running-without-allow'
    | 'deployed-not-running';
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
    /** What the latest runtime snapshot saw running, and how old it is; null: none recorded. */
    observed: Observed | null;
    ok: boolean;
    findings: DriftFinding[];
  }>;
  /** Whether storage holds what was signed: the log, and every attestation, verdict, deployment and exception row. */
  integrity: IntegrityReport;
}

export interface Observed {
  snapshotId: string;
  source: string;
  observedAt: string;
  ageSeconds: number;
  digests: string[];
}

export class DriftService {
  readonly #policies: PolicySet;
  readonly #deployments: DeploymentRepo;
  readonly #verdicts: VerdictRepo;
  readonly #snapshots: SnapshotService;
  readonly #evidence: EvidenceReader;
  readonly #integrity: IntegrityAudit;
  readonly #issuer: string;
  readonly #now: () => Date;
  readonly #emit: Emit;

  constructor(opts: {
    policies: PolicySet;
    deployments: DeploymentRepo;
    verdicts: VerdictRepo;
    snapshots: SnapshotService;
    evidence: EvidenceReader;
    integrity: IntegrityAudit;
    issuer: string;
    now?: () => Date;
    emit?: Emit;
  }) {
    this.#policies = opts.policies;
    this.#deployments = opts.deployments;
    this.#verdicts = opts.verdicts;
    this.#snapshots = opts.snapshots;
    this.#evidence = opts.evidence;
    this.#integrity = opts.integrity;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
    this.#emit = opts.emit ?? NO_EVENTS;
  }

  /**
   * After a runtime snapshot of `environment`: what it shows against promotion, reported as
   * drift.detected when it finds anything.
   */
  async checkRuntime(environment: string): Promise<DriftFinding[]> {
    const snapshot = await this.#snapshots.latest(environment);
    if (!snapshot) return [];
    const [current] = await this.#deployments.latest(environment, 1);
    const findings = await this.#runtimeFindings(environment, snapshot, current ?? null);
    if (findings.length > 0) {
      await this.#emit('drift.detected', { environment, snapshotId: snapshot.id, findings });
    }
    return findings;
  }

  async report(): Promise<DriftReport> {
    const now = this.#now();
    const all = await this.#deployments.all();
    const signed = await this.#signedChain(all);
    const environments: DriftReport['environments'] = [];
    for (const name of this.#policies.order) {
      const rows = all.filter((r) => r.environment === name);
      const findings = rows.flatMap((d) => this.#deploymentFindings(d, signed, now));
      const current = rows.at(-1) ?? null;
      if (current) findings.push(...(await this.#evidenceFindings(current.digest)));
      const snapshot = await this.#snapshots.latest(name);
      if (snapshot) findings.push(...(await this.#runtimeFindings(name, snapshot, current ?? null)));
      environments.push({
        name,
        current: current
          ? { digest: current.digest, deploymentId: current.id, deployedAt: current.createdAt.toISOString() }
          : null,
        observed: snapshot
          ? {
              snapshotId: snapshot.id,
              source: snapshot.source,
              observedAt: snapshot.observedAt,
              ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(snapshot.observedAt)) / 1000)),
              digests: snapshot.digests,
            }
          : null,
        ok: findings.length === 0,
        findings,
      });
    }
    const integrity = await this.#integrity.run();
    return {
      generatedAt: now.toISOString(),
      ok: environments.every((e) => e.ok) && integrity.ok,
      environments,
      integrity,
    };
  }

  // The deployments' attestations, the VSAs they cite and those VSAs' inputs, verified, read in
  // three batches.
  async #signedChain(rows: readonly DeploymentRow[]): Promise<Map<string, Evidence>> {
    const all = await this.#evidence.many(rows.map((d) => d.attestationId));
    const vsas = [...all.values()].flatMap((e) => {
      const d = signedDeployment(e, e.subjects[0] ?? '', this.#issuer);
      return d ? [d.verdictAttestationId] : [];
    });
    for (const [id, e] of await this.#evidence.many(vsas)) all.set(id, e);
    const inputs = vsas.flatMap((id) => {
      const vsa = all.get(id);
      return vsa ? vsaInputs(vsa) : [];
    });
    for (const [id, e] of await this.#evidence.many(inputs.filter((id) => !all.has(id)))) all.set(id, e);
    return all;
  }

  // Judged by what was signed: the deployment attestation, the VSA it cites, the exception the
  // VSA cites.
  #deploymentFindings(d: DeploymentRow, signedChain: ReadonlyMap<string, Evidence>, now: Date): DriftFinding[] {
    const findings: DriftFinding[] = [];
    const without = (why: string) =>
      findings.push({
        kind: 'deployed-without-allow',
        digest: d.digest,
        deploymentId: d.id,
        detail: `${d.digest} reached ${d.environment} (deployment ${d.id}) but ${why}`,
      });
    const attestation = signedChain.get(d.attestationId);
    const signed = attestation && signedDeployment(attestation, d.digest, this.#issuer);
    if (!signed || signed.environment !== d.environment) {
      without('its deployment attestation is not a verified deployment of it there');
      return findings;
    }
    const vsa = signedChain.get(signed.verdictAttestationId);
    const refusal = vsaRefusal(vsa, d.digest, d.environment, this.#issuer);
    if (refusal || !vsa) {
      without(`its verdict does not allow it: ${refusal}`);
      return findings;
    }
    const policy = this.#policies.policies.get(d.environment);
    const verified = vsaTime(vsa);
    if (policy && verified && vsaPolicyDigest(vsa) === policy.digest.sha256) {
      if (verified.getTime() + policy.verdictTtlMs < signed.deployedAt.getTime()) {
        without('its verdict had expired when it was deployed');
      }
    }
    for (const id of vsaInputs(vsa)) {
      const input = signedChain.get(id);
      const x = input?.predicateType === REBUILD_EXCEPTION_V1 ? signedException(input, this.#issuer) : undefined;
      if (x && x.expiresAt.getTime() <= now.getTime()) {
        findings.push({
          kind: 'exception-expired',
          digest: d.digest,
          deploymentId: d.id,
          detail:
            `deployment ${d.id} of ${d.digest} relied on rebuild exception ${id}, ` +
            `which expired at ${x.expiresAt.toISOString()}`,
        });
      }
    }
    return findings;
  }

  // Reality against promotion: every digest the latest snapshot saw running must have held an
  // allow verdict for the environment (at any time: a verdict expiring does not stop what runs),
  // and what was last deployed there should be among what runs.
  async #runtimeFindings(
    environment: string,
    snapshot: SnapshotView & { verified: boolean },
    current: DeploymentRow | null,
  ): Promise<DriftFinding[]> {
    const seen = `snapshot ${snapshot.id} (${snapshot.source}, observed ${snapshot.observedAt})`;
    if (!snapshot.verified) {
      return [
        {
          kind: 'evidence-unverifiable',
          digest: snapshot.digests[0] ?? '',
          attestationId: snapshot.id,
          detail: `the latest runtime ${seen} of ${environment} does not verify`,
        },
      ];
    }
    const findings: DriftFinding[] = [];
    const allowed = await this.#verdicts.allowedAmong(snapshot.digests, environment, null);
    for (const digest of snapshot.digests.filter((d) => !allowed.has(d))) {
      const names = snapshot.workloads.filter((w) => w.digest === digest).map((w) => w.name);
      findings.push({
        kind: 'running-without-allow',
        digest,
        attestationId: snapshot.id,
        detail:
          `${digest} runs in ${environment} (${names.join(', ')}) per ${seen} ` +
          'but never held an allow verdict there',
      });
    }
    if (current && !snapshot.digests.includes(current.digest)) {
      findings.push({
        kind: 'deployed-not-running',
        digest: current.digest,
        deploymentId: current.id,
        attestationId: snapshot.id,
        detail:
          `${current.digest} was deployed to ${environment} (deployment ${current.id}) ` +
          `but ${seen} does not see it running`,
      });
    }
    return findings;
  }

  async #evidenceFindings(digest: string): Promise<DriftFinding[]> {
    let evidence: Awaited<ReturnType<EvidenceReader['about']>>;
    try {
      evidence = await this.#evidence.about(digest);
    } catch (err) {
      if (!(err instanceof UntrustedEvidenceError)) throw err;
      return [{ kind: 'evidence-untrusted', digest, detail: err.message }];
    }
    return evidence
      .filter((e) => !e.verified)
      .map((e) => ({
        kind: 'evidence-unverifiable' as const,
        digest,
        attestationId: e.id,
        detail: `attestation ${e.id} (${e.predicateType}) of ${digest} no longer verifies: ${e.verifyError ?? '?'}`,
      }));
  }
}
