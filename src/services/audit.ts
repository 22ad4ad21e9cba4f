// Evidence packs: everything an auditor needs to check, offline, what a digest went through.
// One checkpoint is fixed first; every bundle's log entry carries an inclusion proof against it.
import {
  EVIDENCE_PACK_MEDIA_TYPE,
  type EvidencePack,
  type PackAttestation,
  type PackRole,
  type PackStep,
  packLogEntry,
} from '../audit/pack.ts';
import { AppError } from '../errors.ts';
import { PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01, VSA_V1 } from '../intoto/predicates.ts';
import { DEPLOYMENT_V1, REBUILD_EXCEPTION_V1, REVOCATION_V1 } from '../intoto/waybill.ts';
import type { PolicySet } from '../policy/types.ts';
import type { TrustedRootJson } from '../signing/trusted-root.ts';
import type { AttestationRecord, AttestationRepo } from '../storage/attestation-repo.ts';
import type { TransparencyLog } from '../tlog/log.ts';
import { toBase64 as b64 } from '../util/encoding.ts';
import type { DeploymentService } from './promotion/deployments.ts';

// The kinds of a digest's own attestations a pack is built from: provenance, tests, verdicts,
// deployments, exceptions and the revocations of any of them.
const PACK_KINDS = [
  PROVENANCE_V1,
  PROVENANCE_V02,
  TEST_RESULT_V01,
  VSA_V1,
  DEPLOYMENT_V1,
  REBUILD_EXCEPTION_V1,
  REVOCATION_V1,
];

function roleOf(predicateType: string): PackRole {
  if (predicateType === PROVENANCE_V1 || predicateType === PROVENANCE_V02) return 'provenance';
  if (predicateType === TEST_RESULT_V01) return 'test-result';
  if (predicateType === VSA_V1) return 'verdict';
  if (predicateType === DEPLOYMENT_V1) return 'deployment';
  if (predicateType === REBUILD_EXCEPTION_V1) return 'rebuild-exception';
  if (predicateType === REVOCATION_V1) return 'revocation';
  return 'other';
}

function payloadOf(record: AttestationRecord): Record<string, unknown> {
  const payload = (record.bundle as { dsseEnvelope?: { payload?: string } }).dsseEnvelope?.payload;
  return payload ? (JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Record<string, unknown>) : {};
}

/** The attestation ids a VSA's inputAttestations cite. */
function vsaInputs(vsa: AttestationRecord | undefined): string[] {
  if (!vsa) return [];
  return (
    (payloadOf(vsa).predicate as { inputAttestations?: Array<{ digest?: { sha256?: string } }> })?.inputAttestations ??
    []
  )
    .map((i) => i.digest?.sha256)
    .filter((x): x is string => typeof x === 'string');
}

/** Whether a revocation names an attestation in `held`. */
function revokesOneOf(revocation: AttestationRecord, held: ReadonlyMap<string, AttestationRecord>): boolean {
  const revoked = (revocation.statement.predicate as { revoked?: { id?: unknown } } | undefined)?.revoked?.id;
  return typeof revoked === 'string' && held.has(revoked) && held.get(revoked)!.predicateType !== REVOCATION_V1;
}

export class AuditService {
  readonly #attestations: AttestationRepo;
  readonly #deployments: DeploymentService;
  readonly #log: TransparencyLog;
  readonly #policies: PolicySet;
  readonly #trustedRoot: TrustedRootJson;
  readonly #issuer: string;

  constructor(opts: {
    attestations: AttestationRepo;
    deployments: DeploymentService;
    log: TransparencyLog;
    policies: PolicySet;
    trustedRoot: TrustedRootJson;
    issuer: string;
  }) {
    this.#attestations = opts.attestations;
    this.#deployments = opts.deployments;
    this.#log = opts.log;
    this.#policies = opts.policies;
    this.#trustedRoot = opts.trustedRoot;
    this.#issuer = opts.issuer;
  }

  /** The pack for what runs in `environment` now. */
  async environmentPack(environment: string): Promise<EvidencePack> {
    if (!this.#policies.policies.has(environment)) throw new AppError('NOT_FOUND', `no environment "${environment}"`);
    const current = await this.#deployments.current(environment);
    if (!current) throw new AppError('NOT_FOUND', `nothing has been deployed to ${environment}`);
    return this.artifactPack(current.digest, environment);
  }

  /** The pack for a digest: its whole chain, up to `environment` when given. */
  async artifactPack(digest: string, environment: string | null = null): Promise<EvidencePack> {
    // What a pack carries of a digest's own attestations; anything else the chain cites is added by id.
    const own = await this.#attestations.about(digest, { predicateTypes: PACK_KINDS });
    if (own.length === 0) throw new AppError('NOT_FOUND', `nothing is known about ${digest}`);
    const byId = new Map<string, AttestationRecord>(own.map((a) => [a.id, a]));
    const roles = new Map<string, PackRole>();
    for (const a of own) roles.set(a.id, roleOf(a.predicateType));

    // Steps, walked back from the last environment: its latest deployment, then in each prior
    // stage the deployment that stage's successor's verdict cites (not merely the latest, which
    // may be a later redeployment).
    const history = await this.#deployments.historyOf(digest);
    const order = this.#policies.order;
    const last = environment ? order.indexOf(environment) : order.length - 1;
    const steps: PackStep[] = [];
    const exceptions: string[] = [];
    let citedByNext: Set<string> | undefined;
    for (const env of order.slice(0, last + 1).reverse()) {
      const candidates = history.deployments.filter((d) => d.environment === env);
      const deployment =
        (citedByNext && candidates.filter((d) => citedByNext!.has(d.attestationId)).at(-1)) || candidates.at(-1);
      if (!deployment) continue;
      const verdict = history.verdicts.find((v) => v.id === deployment.verdictId);
      if (!verdict?.attestationId) continue;
      const exception = verdict.exception?.attestationId ?? null;
      if (exception) exceptions.push(exception);
      steps.unshift({
        environment: env,
        verdict: verdict.attestationId,
        deployment: deployment.attestationId,
        deployedAt: deployment.createdAt,
        exception,
      });
      const vsa = byId.get(verdict.attestationId) ?? (await this.#attestations.get(verdict.attestationId));
      citedByNext = new Set(vsaInputs(vsa));
    }

    // Everything the steps cite must be in the pack: VSA inputs (possibly the original's
    // evidence under an exception), the exceptions themselves.
    const cited = new Set<string>([...steps.flatMap((s) => [s.verdict, s.deployment]), ...exceptions]);
    for (const s of steps) {
      for (const id of vsaInputs(byId.get(s.verdict) ?? (await this.#attestations.get(s.verdict)))) cited.add(id);
    }
    const originals: EvidencePack['manifest']['originals'] = [];
    for (const id of exceptions) {
      const exc = byId.get(id) ?? (await this.#attestations.get(id));
      if (!exc) continue;
      byId.set(exc.id, exc);
      roles.set(exc.id, 'rebuild-exception');
      const original = (payloadOf(exc).predicate as { original?: string }).original;
      if (original && !originals.some((o) => o.digest === original)) {
        const theirs = await this.#attestations.about(original, { predicateTypes: PACK_KINDS });
        const provenance = theirs.filter((a) => roleOf(a.predicateType) === 'provenance');
        for (const p of provenance) {
          byId.set(p.id, p);
          roles.set(p.id, 'original-provenance');
        }
        originals.push({ digest: original, provenance: provenance.map((p) => p.id) });
      }
    }
    for (const id of cited) {
      if (byId.has(id)) continue;
      const rec = await this.#attestations.get(id);
      if (rec) {
        byId.set(id, rec);
        roles.set(id, roleOf(rec.predicateType));
      }
    }

    // Keep this digest's provenance and test results, and whatever the chain cites.
    const included = [...byId.values()].filter((a) => {
      const role = roles.get(a.id)!;
      return (
        cited.has(a.id) ||
        role === 'provenance' ||
        role === 'test-result' ||
        role === 'original-provenance' ||
        role === 'rebuild-exception' ||
        // Waybill's revocations of what the pack holds: an auditor sees what no longer counts.
        (role === 'revocation' && a.signer.subject === `${this.#issuer}/verifier` && revokesOneOf(a, byId))
      );
    });

    const checkpoint = await this.#log.checkpoint();
    // Each bundle's entry and proof are independent reads: made side by side, kept in log order.
    const ordered = included.sort((x, y) => x.logIndex - y.logIndex).filter((a) => a.logIndex < checkpoint.treeSize);
    const built = await Promise.all(
      ordered.map(async (a): Promise<PackAttestation | null> => {
        const [found, hashes] = await Promise.all([
          this.#log.entryWithAttestation(a.logIndex),
          this.#log.inclusionHashes(a.logIndex, checkpoint.treeSize),
        ]);
        if (!found) return null;
        // The bundle's own entry (never re-signed after a log-key rotation), with a fresh proof.
        const logEntry = packLogEntry(a.bundle, found.entry, {
          logIndex: String(a.logIndex),
          rootHash: b64(checkpoint.rootHash),
          treeSize: String(checkpoint.treeSize),
          hashes: hashes.map(b64),
          checkpoint: { envelope: checkpoint.note },
        });
        return {
          id: a.id,
          role: roles.get(a.id)!,
          predicateType: a.predicateType,
          environment: a.environment,
          signer: a.signer,
          origin: a.origin,
          bundle: a.bundle,
          logEntry,
        };
      }),
    );
    const attestations = built.filter((a): a is PackAttestation => a !== null);

    const testResults: Record<string, string[]> = {};
    for (const a of attestations.filter(
      (x) => x.role === 'test-result' && byId.get(x.id)!.subjects.some((s) => s.digest === digest),
    )) {
      const env = a.environment ?? 'none';
      testResults[env] = [...(testResults[env] ?? []), a.id];
    }
    return {
      mediaType: EVIDENCE_PACK_MEDIA_TYPE,
      generatedAt: new Date().toISOString(),
      issuer: this.#issuer,
      trustedRoot: this.#trustedRoot,
      checkpoint: checkpoint.note,
      manifest: {
        digest,
        environment,
        steps,
        provenance: attestations.filter((x) => x.role === 'provenance').map((x) => x.id),
        testResults,
        exceptions,
        originals,
      },
      attestations,
      policies: this.#policyFiles(attestations),
    };
  }

  /** The exact policy files the verdicts name. */
  #policyFiles(attestations: PackAttestation[]): EvidencePack['policies'] {
    const wanted = new Map<string, string>();
    for (const a of attestations.filter((x) => x.role === 'verdict')) {
      const payload = payloadOf({ bundle: a.bundle } as AttestationRecord);
      const policy = (payload.predicate as { policy?: { uri?: string; digest?: { sha256?: string } } }).policy;
      if (policy?.uri && policy.digest?.sha256) wanted.set(`${policy.uri} ${policy.digest.sha256}`, policy.uri);
    }
    const out: EvidencePack['policies'] = [];
    for (const [key, uri] of wanted) {
      const sha256 = key.slice(uri.length + 1);
      // The policy as loaded by this process; a verdict made under an older file version (before
      // a restart) has no bytes here, and the verifier says that file is missing.
      const policy = [...this.#policies.policies.values()].find((p) => p.uri === uri && p.digest.sha256 === sha256);
      if (policy) out.push({ uri, sha256, content: policy.content });
    }
    return out;
  }
}
