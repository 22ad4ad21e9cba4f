// Promotion: may digest D enter environment E? A verdict evaluates E's policy over the
// re-verified evidence about D itself (and D's deployments to the prior stage), and is signed as
// an SLSA VSA whether it allows or denies. A deployment needs an unexpired allow verdict for the
// same (D, E) and is itself signed. Everything fails closed: any error is a deny with a reason.
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { signingIdentityOf } from '../identity/caller.ts';
import { VSA_V1 } from '../intoto/predicates.ts';
import { denyAll, evaluate } from '../policy/evaluate.ts';
import type { Decision, Deployment, PolicySet } from '../policy/types.ts';
import type { Database } from '../storage/database.ts';
import { deployments, rebuildExceptions, verdicts } from '../storage/schema.ts';
import type { AttestationRecord, AttestService } from './attest.ts';
import type { EvidenceVerifier } from './evidence.ts';
import type { IntakeService } from './intake.ts';
import type { RebuildService } from './rebuilds.ts';
import type { Caller } from './tokens.ts';

export const DEPLOYMENT_V1 = 'https://waybill.dev/deployment/v1';

export interface VerdictView {
  id: string;
  digest: string;
  environment: string;
  decision: 'allow' | 'deny';
  rules: Decision['rules'];
  reasons: string[];
  policy: { uri: string; digest: { sha256: string } } | null;
  /** The rebuild exception the allow relied on, if any. */
  exception: { id: string; attestationId: string; original: string } | null;
  createdAt: string;
  expiresAt: string | null;
  attestationId: string | null;
  bundle: unknown;
}

export interface DeploymentView {
  id: string;
  digest: string;
  environment: string;
  verdictId: string;
  attestationId: string;
  deployer: string;
  createdAt: string;
  bundle?: unknown;
}

const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

function digestParts(digest: string): { alg: string; hex: string } {
  const at = digest.indexOf(':');
  return { alg: digest.slice(0, at), hex: digest.slice(at + 1) };
}

type VerdictRow = typeof verdicts.$inferSelect;
type DeploymentRow = typeof deployments.$inferSelect;

export class PromotionService {
  readonly #database: Database;
  readonly #policies: PolicySet;
  readonly #attest: AttestService;
  readonly #intake: IntakeService;
  readonly #evidence: EvidenceVerifier;
  readonly #issuer: string;
  readonly #logger: Pick<Logger, 'error'>;
  readonly #now: () => Date;
  #rebuilds: RebuildService | undefined;

  constructor(opts: {
    database: Database;
    policies: PolicySet;
    attest: AttestService;
    intake: IntakeService;
    evidence: EvidenceVerifier;
    issuer: string;
    logger: Pick<Logger, 'error'>;
    now?: () => Date;
  }) {
    this.#database = opts.database;
    this.#policies = opts.policies;
    this.#attest = opts.attest;
    this.#intake = opts.intake;
    this.#evidence = opts.evidence;
    this.#issuer = opts.issuer;
    this.#logger = opts.logger;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Rebuild detection and exceptions (set once at wiring; the two services refer to each other). */
  useRebuilds(rebuilds: RebuildService): void {
    this.#rebuilds = rebuilds;
  }

  /** The identity VSAs are signed with: waybill as the verifier, not the caller who asked. */
  get verifierSubject(): string {
    return `${this.#issuer}/verifier`;
  }

  get policies(): PolicySet {
    return this.#policies;
  }

  /** Decide, sign the VSA, store the verdict. */
  async verdict(digest: string, environment: string, caller: Caller): Promise<VerdictView> {
    const policy = this.#policies.policies.get(environment);
    if (!policy) {
      const known = this.#policies.order.join(', ') || 'none';
      throw new AppError('VALIDATION_FAILED', `unknown environment "${environment}"`, {
        errors: [{ path: '/environment', message: `must be one of: ${known}` }],
      });
    }
    const now = this.#now();
    let decision: Decision;
    let exception: { id: string; attestationId: string; original: string } | undefined;
    try {
      // Only what some rule can use is re-verified (a digest also carries its VSAs and deployments).
      const wanted = new Set(policy.rules.map((r) => r.predicateType));
      const relevant = (rs: AttestationRecord[]) => rs.filter((r) => wanted.has(r.predicateType));
      const records = relevant(await this.#allAbout(digest));
      const evidence = await this.#evidence.evidence(records);
      const deployed = policy.after ? await this.#deploymentsOf(digest, policy.after) : [];
      const approved = await this.#rebuilds?.approvedFor(digest, environment);
      if (approved) {
        const original = approved.view.original;
        exception = { id: approved.view.id, attestationId: approved.attestationId, original };
      }
      const borrowed = exception
        ? {
            attestationId: exception.attestationId,
            original: exception.original,
            evidence: await this.#evidence.evidence(relevant(await this.#allAbout(exception.original))),
            deployments: policy.after ? await this.#deploymentsOf(exception.original, policy.after) : [],
          }
        : undefined;
      decision = evaluate(
        policy,
        { digest, evidence, deployments: deployed, ...(borrowed ? { exception: borrowed } : {}) },
        now,
      );
      if (decision.decision === 'deny') decision.reasons.unshift(...(await this.#rebuildReasons(digest, environment)));
      if (!decision.inputAttestations.includes(exception?.attestationId ?? '')) exception = undefined;
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
    const { alg, hex } = digestParts(digest);
    const vsa = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ uri: `${this.#issuer}/v1/artifacts/${digest}`, digest: { [alg]: hex } }],
      predicateType: VSA_V1,
      predicate: {
        verifier: { id: this.#issuer },
        timeVerified: now.toISOString(),
        resourceUri: this.#intake.environmentUri(environment),
        policy: { uri: policy.uri, digest: { sha256: policy.digest.sha256 } },
        inputAttestations: decision.inputAttestations.map((id) => ({
          uri: `${this.#issuer}/v1/attestations/${id}`,
          digest: { sha256: id },
        })),
        verificationResult: allow ? 'PASSED' : 'FAILED',
        verifiedLevels: allow ? this.#levels(decision) : ['FAILED'],
        slsaVersion: '1.0',
      },
    };
    const signed = await this.#attest.sign(vsa, this.verifierSubject, { environment });
    const expiresAt = allow ? new Date(now.getTime() + policy.verdictTtlMs) : null;
    const id = newId('vd');
    const result = {
      rules: decision.rules,
      reasons: decision.reasons,
      policy: decision.policy,
      requestedBy: caller.subject,
      exception: exception ?? null,
    };
    const [row] = await this.#database.db
      .insert(verdicts)
      .values({
        id,
        digest,
        environment,
        decision: decision.decision,
        policyDigest: policy.digest.sha256,
        result,
        vsaAttestationId: signed.record.id,
        createdAt: now,
        expiresAt,
      })
      .returning();
    return this.#verdictView(row!, signed.record);
  }

  // A deny for a rebuild says so: the evidence it lacks exists, for another digest.
  async #rebuildReasons(digest: string, environment: string): Promise<string[]> {
    const rel = await this.#rebuilds?.relations(digest);
    if (!rel || rel.rebuildOf.length === 0) return [];
    const policy = this.#policies.policies.get(environment)!;
    const out: string[] = [];
    for (const original of rel.rebuildOf) {
      const theirs = evaluate(
        policy,
        {
          digest: original.digest,
          evidence: await this.#evidence.evidence(await this.#allAbout(original.digest)),
          deployments: policy.after ? await this.#deploymentsOf(original.digest, policy.after) : [],
        },
        this.#now(),
      );
      const has =
        theirs.decision === 'allow' ? `which has the ${policy.after ?? environment} evidence` : 'which lacks it too';
      out.push(
        `${digest} is a rebuild of ${original.digest} (same ${original.name} from ${original.source.uri} at ${original.source.digest}), ${has}; this digest has none`,
      );
    }
    return out;
  }

  // A waybill VSA claims Build L1 (provenance exists and was verified) when a provenance rule
  // held; it makes no higher claim it cannot check.
  #levels(decision: Decision): string[] {
    return decision.inputAttestations.length > 0 ? ['SLSA_BUILD_LEVEL_1'] : ['SLSA_BUILD_LEVEL_UNEVALUATED'];
  }

  async getVerdict(id: string): Promise<VerdictView | undefined> {
    const [row] = await this.#database.db.select().from(verdicts).where(eq(verdicts.id, id));
    if (!row) return undefined;
    const record = row.vsaAttestationId ? await this.#attest.get(row.vsaAttestationId) : undefined;
    return this.#verdictView(row, record);
  }

  #verdictView(row: VerdictRow, record: AttestationRecord | undefined): VerdictView {
    const result = row.result as {
      rules: Decision['rules'];
      reasons: string[];
      policy: VerdictView['policy'];
      exception?: VerdictView['exception'];
    };
    return {
      id: row.id,
      digest: row.digest,
      environment: row.environment,
      decision: row.decision,
      rules: result.rules,
      reasons: result.reasons,
      policy: result.policy,
      exception: result.exception ?? null,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt?.toISOString() ?? null,
      attestationId: row.vsaAttestationId,
      bundle: record?.bundle ?? null,
    };
  }

  /** Record a deployment under an unexpired allow verdict for the same digest and environment. */
  async deploy(
    input: { digest: string; environment: string; verdictId: string },
    caller: Caller,
  ): Promise<DeploymentView> {
    const [verdict] = await this.#database.db.select().from(verdicts).where(eq(verdicts.id, input.verdictId));
    if (!verdict) throw new AppError('NOT_FOUND', `no verdict ${input.verdictId}`);
    const now = this.#now();
    if (verdict.digest !== input.digest)
      throw new AppError('CONFLICT', `verdict ${verdict.id} is for ${verdict.digest}, not ${input.digest}`);
    if (verdict.environment !== input.environment)
      throw new AppError(
        'CONFLICT',
        `verdict ${verdict.id} is for environment ${verdict.environment}, not ${input.environment}`,
      );
    if (verdict.decision !== 'allow') throw new AppError('CONFLICT', `verdict ${verdict.id} denied this deployment`);
    if (!verdict.expiresAt || verdict.expiresAt.getTime() <= now.getTime()) {
      throw new AppError(
        'CONFLICT',
        `verdict ${verdict.id} expired at ${verdict.expiresAt?.toISOString() ?? '(never valid)'}; ask for a new one`,
      );
    }
    const { alg, hex } = digestParts(input.digest);
    const usedException =
      (verdict.result as { exception?: { id: string; attestationId: string } | null }).exception ?? null;
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ uri: `${this.#issuer}/v1/artifacts/${input.digest}`, digest: { [alg]: hex } }],
      predicateType: DEPLOYMENT_V1,
      predicate: {
        environment: input.environment,
        environmentUri: this.#intake.environmentUri(input.environment),
        verdict: {
          uri: `${this.#issuer}/v1/verdicts/${verdict.id}`,
          digest: { sha256: verdict.vsaAttestationId! },
        },
        deployedAt: now.toISOString(),
        deployer: caller.subject,
        exceptions: usedException
          ? [
              {
                uri: `${this.#issuer}/v1/rebuild-exceptions/${usedException.id}`,
                digest: { sha256: usedException.attestationId },
              },
            ]
          : [],
      },
    };
    // A CI workload signs its deployment with its own certificate (workload identity).
    const signed = await this.#attest.sign(statement, signingIdentityOf(caller), { environment: input.environment });
    const id = newId('dp');
    const [row] = await this.#database.db
      .insert(deployments)
      .values({
        id,
        digest: input.digest,
        environment: input.environment,
        verdictId: verdict.id,
        attestationId: signed.record.id,
        deployer: caller.subject,
        createdAt: now,
      })
      .returning();
    return { ...this.#deploymentView(row!), bundle: signed.record.bundle };
  }

  #deploymentView(row: DeploymentRow): DeploymentView {
    return {
      id: row.id,
      digest: row.digest,
      environment: row.environment,
      verdictId: row.verdictId,
      attestationId: row.attestationId,
      deployer: row.deployer,
      createdAt: row.createdAt.toISOString(),
    };
  }

  async #allAbout(digest: string): Promise<AttestationRecord[]> {
    return (await this.#intake.artifact(digest))?.attestations ?? [];
  }

  async #deploymentsOf(digest: string, environment: string): Promise<Deployment[]> {
    const rows = await this.#database.db
      .select()
      .from(deployments)
      .where(and(eq(deployments.digest, digest), eq(deployments.environment, environment)));
    return rows.map((r) => ({
      environment: r.environment,
      digest: r.digest,
      attestationId: r.attestationId,
      createdAt: r.createdAt,
    }));
  }

  /** Verdicts and deployments of a digest, oldest first. */
  async historyOf(digest: string): Promise<{ verdicts: VerdictView[]; deployments: DeploymentView[] }> {
    const v = await this.#database.db
      .select()
      .from(verdicts)
      .where(eq(verdicts.digest, digest))
      .orderBy(asc(verdicts.createdAt), asc(verdicts.id));
    const d = await this.#database.db
      .select()
      .from(deployments)
      .where(eq(deployments.digest, digest))
      .orderBy(asc(deployments.createdAt), asc(deployments.id));
    return {
      verdicts: v.map((row) => ({ ...this.#verdictView(row, undefined), bundle: undefined }) as VerdictView),
      deployments: d.map((row) => this.#deploymentView(row)),
    };
  }

  /** What runs in an environment now: its latest deployment. */
  async current(environment: string): Promise<DeploymentView | null> {
    const [row] = await this.#database.db
      .select()
      .from(deployments)
      .where(eq(deployments.environment, environment))
      .orderBy(desc(deployments.createdAt), desc(sql`${deployments.id}`))
      .limit(1);
    return row ? this.#deploymentView(row) : null;
  }

  async environments() {
    return Promise.all(
      this.#policies.order.map(async (name) => {
        const policy = this.#policies.policies.get(name)!;
        const current = await this.current(name);
        return {
          name,
          after: policy.after,
          uri: this.#intake.environmentUri(name),
          policy: { uri: policy.uri, digest: policy.digest },
          current: current ? { digest: current.digest, deploymentId: current.id, deployedAt: current.createdAt } : null,
        };
      }),
    );
  }

  async environment(name: string) {
    const policy = this.#policies.policies.get(name);
    if (!policy) throw new AppError('NOT_FOUND', `no environment "${name}"`);
    const summary = (await this.environments()).find((e) => e.name === name)!;
    const history = await this.#database.db
      .select()
      .from(deployments)
      .where(eq(deployments.environment, name))
      .orderBy(desc(deployments.createdAt), desc(deployments.id))
      .limit(100);
    let chain = null;
    if (summary.current) {
      const digest = summary.current.digest;
      const attestations = [...(await this.#allAbout(digest))].reverse(); // oldest first
      const { verdicts: v, deployments: d } = await this.historyOf(digest);
      chain = {
        digest,
        provenance: attestations.filter((a) => a.predicateType.startsWith('https://slsa.dev/provenance/')),
        testResults: Object.fromEntries(
          this.#policies.order.map((env) => [
            env,
            attestations.filter(
              (a) => a.predicateType === 'https://in-toto.io/attestation/test-result/v0.1' && a.environment === env,
            ),
          ]),
        ),
        attestations,
        verdicts: v,
        deployments: d,
      };
    }
    return { ...summary, chain, history: history.map((r) => this.#deploymentView(r)) };
  }

  /**
   * Reconciliation: per environment, what runs there by the deployment records, and every
   * deployment without a valid allow verdict, every verdict resting on an exception that has
   * since expired, and every attestation of a running digest whose evidence no longer verifies.
   */
  async drift() {
    const now = this.#now();
    const environments = [];
    for (const name of this.#policies.order) {
      const rows = await this.#database.db
        .select()
        .from(deployments)
        .where(eq(deployments.environment, name))
        .orderBy(asc(deployments.createdAt));
      const findings: Array<{
        kind: string;
        digest: string;
        deploymentId?: string;
        attestationId?: string;
        detail: string;
      }> = [];
      for (const d of rows) {
        const [v] = await this.#database.db.select().from(verdicts).where(eq(verdicts.id, d.verdictId));
        const why = !v
          ? 'its verdict does not exist'
          : v.decision !== 'allow'
            ? `its verdict ${v.id} is a deny`
            : v.digest !== d.digest
              ? `its verdict ${v.id} is for ${v.digest}`
              : v.environment !== d.environment
                ? `its verdict ${v.id} is for ${v.environment}`
                : !v.expiresAt || v.expiresAt.getTime() < d.createdAt.getTime()
                  ? `its verdict ${v.id} had expired when it was deployed`
                  : undefined;
        if (why)
          findings.push({
            kind: 'deployed-without-allow',
            digest: d.digest,
            deploymentId: d.id,
            detail: `${d.digest} reached ${name} (deployment ${d.id}) but ${why}`,
          });
        const exception = (v?.result as { exception?: { id: string } | null } | undefined)?.exception;
        if (exception) {
          const [x] = await this.#database.db
            .select()
            .from(rebuildExceptions)
            .where(eq(rebuildExceptions.id, exception.id));
          if (!x?.expiresAt || x.expiresAt.getTime() <= now.getTime()) {
            findings.push({
              kind: 'exception-expired',
              digest: d.digest,
              deploymentId: d.id,
              detail: `deployment ${d.id} of ${d.digest} relied on rebuild exception ${exception.id}, which has expired`,
            });
          }
        }
      }
      const current = rows.at(-1) ?? null;
      if (current) {
        for (const a of await this.#allAbout(current.digest)) {
          const v = await this.#evidence.verify(a);
          if (!v.verified)
            findings.push({
              kind: 'evidence-unverifiable',
              digest: current.digest,
              attestationId: a.id,
              detail: `attestation ${a.id} (${a.predicateType}) of ${current.digest} no longer verifies: ${v.error ?? 'unknown'}`,
            });
        }
      }
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
}
