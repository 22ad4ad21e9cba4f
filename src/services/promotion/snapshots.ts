// Runtime snapshots: what a reporter (a cluster's snapshot job) saw running in an environment,
// signed and logged like any attestation. The drift report and the environment views read the
// latest one back from the log, verified, so what they say runs is what was signed.
import { AppError } from '../../errors.ts';
import { signingIdentityOf } from '../../identity/caller.ts';
import { assertMayActFor } from '../../identity/grants.ts';
import { isPlainObject } from '../../intoto/fields.ts';
import { RUNTIME_SNAPSHOT_V1, runtimeSnapshotStatement } from '../../intoto/waybill.ts';
import type { PolicySet } from '../../policy/types.ts';
import type { AttestationRepo } from '../../storage/attestation-repo.ts';
import type { AttestService } from '../attest.ts';
import type { EvidenceReader } from '../evidence.ts';
import type { Caller } from '../tokens.ts';

export interface SnapshotInput {
  source: string;
  observedAt: string;
  workloads: Array<{ name: string; digest: string }>;
}

export interface SnapshotView {
  /** The attestation's id. */
  id: string;
  environment: string;
  source: string;
  observedAt: string;
  reporter: string;
  workloads: Array<{ name: string; digest: string }>;
  /** The running digests, sorted, once each. */
  digests: string[];
  createdAt: string;
  bundle?: unknown;
}

/** How far in the future an observation may claim to be (clock skew between cluster and waybill). */
const MAX_SKEW_MS = 5 * 60_000;

export class SnapshotService {
  readonly #attest: AttestService;
  readonly #attestations: AttestationRepo;
  readonly #evidence: EvidenceReader;
  readonly #policies: PolicySet;
  readonly #issuer: string;
  readonly #now: () => Date;
  #recorded: ((environment: string) => Promise<void>) | undefined;

  constructor(opts: {
    attest: AttestService;
    attestations: AttestationRepo;
    evidence: EvidenceReader;
    policies: PolicySet;
    issuer: string;
    now?: () => Date;
  }) {
    this.#attest = opts.attest;
    this.#attestations = opts.attestations;
    this.#evidence = opts.evidence;
    this.#policies = opts.policies;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Called after each snapshot is recorded (deps.ts: the drift check that reports drift.detected). */
  onRecorded(listener: (environment: string) => Promise<void>): void {
    this.#recorded = listener;
  }

  /** Sign and log what runs in `environment`. */
  async record(environment: string, input: SnapshotInput, caller: Caller): Promise<SnapshotView> {
    if (!this.#policies.policies.has(environment)) throw new AppError('NOT_FOUND', `no environment "${environment}"`);
    assertMayActFor(caller, environment, ['reporter']);
    const observedAt = new Date(input.observedAt);
    if (observedAt.getTime() > this.#now().getTime() + MAX_SKEW_MS) {
      throw new AppError('VALIDATION_FAILED', 'observedAt is in the future', {
        errors: [{ path: '/observedAt', message: 'must not be later than now (5 minutes of clock skew allowed)' }],
      });
    }
    const statement = runtimeSnapshotStatement({
      issuer: this.#issuer,
      environment,
      source: input.source,
      observedAt,
      reporter: caller.subject,
      workloads: input.workloads,
    });
    const signed = await this.#attest.sign(statement, signingIdentityOf(caller), { environment });
    const view = snapshotOf(signed.record.statement as Record<string, unknown>, signed.record.id);
    if (!view) throw new Error('a snapshot waybill signed does not read back');
    await this.#recorded?.(environment);
    return { ...view, createdAt: signed.record.createdAt, bundle: signed.record.bundle };
  }

  /** The latest snapshot of `environment` as signed, with whether its bundle verifies; null: none. */
  async latest(environment: string): Promise<(SnapshotView & { verified: boolean }) | null> {
    const { items } = await this.#attestations.page(
      { predicateTypes: [RUNTIME_SNAPSHOT_V1], environment },
      { limit: 1 },
    );
    const record = items[0];
    if (!record) return null;
    const found = await this.get(record.id);
    return found && found.environment === environment ? found : null;
  }

  /** A snapshot by its attestation id, as signed. */
  async get(id: string): Promise<(SnapshotView & { verified: boolean }) | null> {
    const evidence = await this.#evidence.one(id);
    const view = evidence && snapshotOf(evidence.statement, evidence.id);
    if (!evidence || !view) return null;
    return { ...view, createdAt: evidence.createdAt.toISOString(), verified: evidence.verified };
  }
}

/** A snapshot as its signed statement says it. */
function snapshotOf(statement: Readonly<Record<string, unknown>>, id: string): Omit<SnapshotView, 'createdAt'> | null {
  const p = statement.predicate;
  if (statement.predicateType !== RUNTIME_SNAPSHOT_V1 || !isPlainObject(p) || !Array.isArray(p.workloads)) return null;
  const workloads = p.workloads.flatMap((w) => {
    const sha = isPlainObject(w) && isPlainObject(w.digest) ? w.digest.sha256 : undefined;
    return isPlainObject(w) && typeof w.name === 'string' && typeof sha === 'string'
      ? [{ name: w.name, digest: `sha256:${sha}` }]
      : [];
  });
  return {
    id,
    environment: String(p.environment),
    source: String(p.source),
    observedAt: String(p.observedAt),
    reporter: String(p.reporter),
    workloads,
    digests: [...new Set(workloads.map((w) => w.digest))].sort(),
  };
}
