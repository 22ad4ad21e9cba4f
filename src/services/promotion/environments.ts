// Environment views: the environments in promotion order with what runs in each, and one
// environment with the evidence chain of what runs there and its deployment history.

import { AppError } from '../../errors.ts';
import { TEST_RESULT_V01 } from '../../intoto/predicates.ts';
import { waybillUris } from '../../intoto/waybill.ts';
import type { PolicySet } from '../../policy/types.ts';
import type { AttestationRecord, AttestationRepo } from '../../storage/attestation-repo.ts';
import type { DeploymentService } from './deployments.ts';
import type { SnapshotService } from './snapshots.ts';
import type { DeploymentView, VerdictView } from './views.ts';

export interface EnvironmentSummary {
  name: string;
  after: string | null;
  uri: string;
  policy: { uri: string; digest: { sha256: string } };
  current: { digest: string; deploymentId: string; deployedAt: string } | null;
  /** What the latest runtime snapshot saw running ("observed running" beside "deployed"). */
  observed: { snapshotId: string; source: string; observedAt: string; digests: string[] } | null;
}

export interface EnvironmentChain {
  digest: string;
  provenance: AttestationRecord[];
  /** Test results by environment. */
  testResults: Record<string, AttestationRecord[]>;
  /** The latest attestations about the digest (at most 100), oldest first; the artifact view pages through all. */
  attestations: AttestationRecord[];
  verdicts: VerdictView[];
  deployments: DeploymentView[];
}

export interface EnvironmentDetail extends EnvironmentSummary {
  chain: EnvironmentChain | null;
  history: DeploymentView[];
}

const HISTORY = 100;
const CHAIN_ATTESTATIONS = 100;
const PROVENANCE_TYPES = ['https://slsa.dev/provenance/v1', 'https://slsa.dev/provenance/v0.2'];

export class EnvironmentService {
  readonly #policies: PolicySet;
  readonly #attestations: AttestationRepo;
  readonly #deployments: DeploymentService;
  readonly #snapshots: SnapshotService;
  readonly #issuer: string;

  constructor(opts: {
    policies: PolicySet;
    attestations: AttestationRepo;
    deployments: DeploymentService;
    snapshots: SnapshotService;
    issuer: string;
  }) {
    this.#policies = opts.policies;
    this.#attestations = opts.attestations;
    this.#deployments = opts.deployments;
    this.#snapshots = opts.snapshots;
    this.#issuer = opts.issuer;
  }

  async list(): Promise<EnvironmentSummary[]> {
    return Promise.all(this.#policies.order.map((name) => this.#summary(name)));
  }

  async get(name: string): Promise<EnvironmentDetail> {
    if (!this.#policies.policies.has(name)) throw new AppError('NOT_FOUND', `no environment "${name}"`);
    const summary = await this.#summary(name);
    const history = await this.#deployments.recent(name, HISTORY);
    const chain = summary.current ? await this.#chain(summary.current.digest) : null;
    return { ...summary, chain, history };
  }

  async #summary(name: string): Promise<EnvironmentSummary> {
    const policy = this.#policies.policies.get(name)!;
    const [current, snapshot] = await Promise.all([this.#deployments.current(name), this.#snapshots.latest(name)]);
    return {
      name,
      after: policy.after,
      uri: waybillUris(this.#issuer).environment(name),
      policy: { uri: policy.uri, digest: policy.digest },
      current: current ? { digest: current.digest, deploymentId: current.id, deployedAt: current.createdAt } : null,
      observed:
        snapshot?.verified === true
          ? {
              snapshotId: snapshot.id,
              source: snapshot.source,
              observedAt: snapshot.observedAt,
              digests: snapshot.digests,
            }
          : null,
    };
  }

  async #chain(digest: string): Promise<EnvironmentChain> {
    const [latest, provenance, tests, history] = await Promise.all([
      this.#attestations.page({ digest }, { limit: CHAIN_ATTESTATIONS }),
      this.#attestations.about(digest, { predicateTypes: PROVENANCE_TYPES }),
      this.#attestations.about(digest, { predicateTypes: [TEST_RESULT_V01] }),
      this.#deployments.historyOf(digest, { latest: HISTORY }),
    ]);
    const { verdicts, deployments } = history;
    const oldestFirst = (a: AttestationRecord[]) => [...a].reverse();
    return {
      digest,
      provenance: oldestFirst(provenance),
      testResults: Object.fromEntries(
        this.#policies.order.map((env) => [env, oldestFirst(tests.filter((a) => a.environment === env))]),
      ),
      attestations: oldestFirst(latest.items),
      verdicts,
      deployments,
    };
  }
}
