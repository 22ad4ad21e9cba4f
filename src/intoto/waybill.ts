// waybill's own predicates and the statements it signs: the predicate type URIs, the URIs
// waybill names inside what it signs (all under its issuer URL), and one builder per statement.
// Every builder makes an in-toto Statement v1; the field layouts are docs/predicates.md's.
import { z } from 'zod';
import { digestSetOf } from './digest.ts';
import { PROVENANCE_V1 } from './provenance.ts';
import { STATEMENT_V1, type Statement } from './statement-layer.ts';
import { VSA_V1 } from './vsa.ts';

export const DEPLOYMENT_V1 = 'https://waybill.dev/deployment/v1';
export const REBUILD_EXCEPTION_V1 = 'https://waybill.dev/rebuild-exception/v1';
/** What runs in an environment, as a reporter (a cluster's snapshot job) observed it. */
export const RUNTIME_SNAPSHOT_V1 = 'https://waybill.dev/runtime-snapshot/v1';
/** A signed statement that an attestation no longer counts as evidence (docs/predicates.md). */
export const REVOCATION_V1 = 'https://waybill.dev/revocation/v1';
/** One approver's signed approval of a rebuild exception. */
export const REBUILD_APPROVAL_V1 = 'https://waybill.dev/rebuild-approval/v1';
/** An approver's signed rejection of a pending rebuild exception, with a reason. */
export const REBUILD_REJECTION_V1 = 'https://waybill.dev/rebuild-rejection/v1';
/** The predicate of the statement synthesized for an ingested message-signature bundle. */
export const SIGNATURE_V1 = 'https://waybill.dev/signature/v1';

/** The URIs waybill signs into statements, under its issuer URL. */
export interface WaybillUris {
  /** The signer of verdicts and exceptions: waybill as the verifier, not the caller who asked. */
  verifier: string;
  environment(name: string): string;
  artifact(digest: string): string;
  attestation(id: string): string;
  verdict(id: string): string;
  exception(id: string): string;
}

export function waybillUris(issuer: string): WaybillUris {
  return {
    verifier: `${issuer}/verifier`,
    environment: (name) => `${issuer}/environments/${name}`,
    artifact: (digest) => `${issuer}/v1/artifacts/${digest}`,
    attestation: (id) => `${issuer}/v1/attestations/${id}`,
    verdict: (id) => `${issuer}/v1/verdicts/${id}`,
    exception: (id) => `${issuer}/v1/rebuild-exceptions/${id}`,
  };
}

/** A policy file as a VSA or an exception cites it. */
export interface PolicyRef {
  uri: string;
  digest: { sha256: string };
}

/** A signed waybill record (verdict, exception) cited by id and by its attestation's id. */
export interface SignedRef {
  id: string;
  attestationId: string;
}

function artifactSubject(issuer: string, digest: string) {
  return { uri: waybillUris(issuer).artifact(digest), digest: digestSetOf(digest) };
}

/** SLSA VSA v1 for a verdict on `digest` entering `environment`. */
export function vsaStatement(v: {
  issuer: string;
  digest: string;
  environment: string;
  timeVerified: Date;
  policy: PolicyRef;
  /** Ids of every attestation the decision used. */
  inputAttestations: readonly string[];
  passed: boolean;
  verifiedLevels: string[];
}): Statement {
  const uris = waybillUris(v.issuer);
  return {
    _type: STATEMENT_V1,
    subject: [artifactSubject(v.issuer, v.digest)],
    predicateType: VSA_V1,
    predicate: {
      verifier: { id: v.issuer },
      timeVerified: v.timeVerified.toISOString(),
      resourceUri: uris.environment(v.environment),
      policy: { uri: v.policy.uri, digest: { sha256: v.policy.digest.sha256 } },
      inputAttestations: v.inputAttestations.map((id) => ({ uri: uris.attestation(id), digest: { sha256: id } })),
      verificationResult: v.passed ? 'PASSED' : 'FAILED',
      verifiedLevels: v.verifiedLevels,
      slsaVersion: '1.0',
    },
  };
}

/** A deployment of `digest` to `environment` under an allow verdict (and the exception it used). */
export function deploymentStatement(d: {
  issuer: string;
  digest: string;
  environment: string;
  verdict: SignedRef;
  deployedAt: Date;
  deployer: string;
  exception: SignedRef | null;
}): Statement {
  const uris = waybillUris(d.issuer);
  return {
    _type: STATEMENT_V1,
    subject: [artifactSubject(d.issuer, d.digest)],
    predicateType: DEPLOYMENT_V1,
    predicate: {
      environment: d.environment,
      environmentUri: uris.environment(d.environment),
      verdict: { uri: uris.verdict(d.verdict.id), digest: { sha256: d.verdict.attestationId } },
      deployedAt: d.deployedAt.toISOString(),
      deployer: d.deployer,
      exceptions: d.exception
        ? [{ uri: uris.exception(d.exception.id), digest: { sha256: d.exception.attestationId } }]
        : [],
    },
  };
}

/** A runtime snapshot's predicate (docs/predicates.md): every workload seen and its image digest. */
export const RuntimeSnapshotV1 = z
  .object({
    environment: z.string().min(1),
    environmentUri: z.string().min(1),
    source: z.string().min(1),
    observedAt: z.string().datetime({ offset: true }),
    reporter: z.string().min(1),
    workloads: z
      .array(z.object({ name: z.string().min(1), digest: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }) }))
      .min(1),
  })
  .passthrough();

/** What runs in `environment`, observed at `observedAt` by `source`; the subjects are the running digests. */
export function runtimeSnapshotStatement(r: {
  issuer: string;
  environment: string;
  source: string;
  observedAt: Date;
  reporter: string;
  workloads: ReadonlyArray<{ name: string; digest: string }>;
}): Statement {
  const digests = [...new Set(r.workloads.map((w) => w.digest))];
  return {
    _type: STATEMENT_V1,
    subject: digests.map((digest) => artifactSubject(r.issuer, digest)),
    predicateType: RUNTIME_SNAPSHOT_V1,
    predicate: {
      environment: r.environment,
      environmentUri: waybillUris(r.issuer).environment(r.environment),
      source: r.source,
      observedAt: r.observedAt.toISOString(),
      reporter: r.reporter,
      workloads: r.workloads.map((w) => ({ name: w.name, digest: digestSetOf(w.digest) })),
    },
  };
}

/** What a rebuild exception asks for, as its request, its predicate and its views say it. */
export interface ExceptionRequest {
  original: string;
  rebuild: string;
  environment: string;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  /** Builder dependencies (by name) accepted as changed (same-builder holds despite them). */
  acceptedBuilderDependencies?: string[];
}

/** One approver's approval of rebuild exception `exceptionId`, signed as the approver. */
export function approvalStatement(a: {
  issuer: string;
  exceptionId: string;
  request: ExceptionRequest;
  approver: string;
  approvedAt: Date;
}): Statement {
  return {
    _type: STATEMENT_V1,
    subject: [a.request.rebuild, a.request.original].map((digest) => artifactSubject(a.issuer, digest)),
    predicateType: REBUILD_APPROVAL_V1,
    predicate: {
      exception: waybillUris(a.issuer).exception(a.exceptionId),
      original: a.request.original,
      rebuild: a.request.rebuild,
      environment: a.request.environment,
      approver: a.approver,
      approvedAt: a.approvedAt.toISOString(),
    },
  };
}

/** An approver's rejection of pending rebuild exception `exceptionId`, signed as the approver. */
export function rejectionStatement(r: {
  issuer: string;
  exceptionId: string;
  request: ExceptionRequest;
  rejectedBy: string;
  reason: string;
  rejectedAt: Date;
}): Statement {
  return {
    _type: STATEMENT_V1,
    subject: [r.request.rebuild, r.request.original].map((digest) => artifactSubject(r.issuer, digest)),
    predicateType: REBUILD_REJECTION_V1,
    predicate: {
      exception: waybillUris(r.issuer).exception(r.exceptionId),
      original: r.request.original,
      rebuild: r.request.rebuild,
      environment: r.request.environment,
      rejectedBy: r.rejectedBy,
      reason: r.reason,
      rejectedAt: r.rejectedAt.toISOString(),
    },
  };
}

/** An approved rebuild exception: about both digests, the rebuild first. */
export function exceptionStatement(x: {
  issuer: string;
  request: ExceptionRequest;
  approvers: readonly string[];
  /** The approvals the approvers signed (attestation ids). */
  approvals?: readonly string[];
  diffSummary: string;
  checklist: ReadonlyArray<{ item: string; ok: boolean; detail: string }>;
  policy: PolicyRef;
  approvedAt: Date;
  expiresAt: Date | null;
}): Statement {
  return {
    _type: STATEMENT_V1,
    subject: [x.request.rebuild, x.request.original].map((digest) => artifactSubject(x.issuer, digest)),
    predicateType: REBUILD_EXCEPTION_V1,
    predicate: {
      ...x.request,
      environmentUri: waybillUris(x.issuer).environment(x.request.environment),
      approvers: [...x.approvers],
      ...(x.approvals
        ? {
            approvals: x.approvals.map((id) => ({
              uri: waybillUris(x.issuer).attestation(id),
              digest: { sha256: id },
            })),
          }
        : {}),
      diffSummary: x.diffSummary,
      checklist: x.checklist.map((c) => ({ ...c })),
      policy: { uri: x.policy.uri, digest: { sha256: x.policy.digest.sha256 } },
      approvedAt: x.approvedAt.toISOString(),
      expiresAt: x.expiresAt?.toISOString() ?? null,
    },
  };
}

/**
 * The revocation of attestation `revoked`: about the same subjects (so it is read wherever the
 * revoked evidence is), naming it by id and statement hash, with who revoked it and why.
 */
export function revocationStatement(r: {
  issuer: string;
  revoked: { id: string; statementSha256: string; predicateType: string };
  subjects: ReadonlyArray<{ name?: string | undefined; digest: Record<string, string> }>;
  reason: string;
  revokedBy: string;
  revokedAt: Date;
}): Statement {
  return {
    _type: STATEMENT_V1,
    subject: r.subjects.map((s) =>
      s.name === undefined ? { digest: { ...s.digest } } : { name: s.name, digest: { ...s.digest } },
    ),
    predicateType: REVOCATION_V1,
    predicate: {
      revoked: {
        uri: waybillUris(r.issuer).attestation(r.revoked.id),
        id: r.revoked.id,
        statementSha256: r.revoked.statementSha256,
        predicateType: r.revoked.predicateType,
      },
      reason: r.reason,
      revokedBy: r.revokedBy,
      revokedAt: r.revokedAt.toISOString(),
    },
  };
}

/** What a build system reports; waybill turns it into SLSA v1 provenance. */
export interface BuildFacts {
  subjects: Array<{ name: string; digest: Record<string, string> }>;
  buildType: string;
  externalParameters: Record<string, unknown>;
  internalParameters?: Record<string, unknown> | undefined;
  resolvedDependencies?: unknown[] | undefined;
  builder: { id: string; version?: Record<string, string> | undefined; builderDependencies?: unknown[] | undefined };
  metadata?: Record<string, unknown> | undefined;
  byproducts?: unknown[] | undefined;
}

const defined = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The SLSA v1 provenance statement for a set of build facts (unvalidated: the caller validates it). */
export function provenanceStatement(f: BuildFacts): Record<string, unknown> {
  return {
    _type: STATEMENT_V1,
    subject: f.subjects,
    predicateType: PROVENANCE_V1,
    predicate: {
      buildDefinition: defined({
        buildType: f.buildType,
        externalParameters: f.externalParameters,
        internalParameters: f.internalParameters,
        resolvedDependencies: f.resolvedDependencies,
      }),
      runDetails: defined({
        builder: defined({
          id: f.builder.id,
          version: f.builder.version,
          builderDependencies: f.builder.builderDependencies,
        }),
        metadata: f.metadata,
        byproducts: f.byproducts,
      }),
    },
  };
}

/** The statement an ingested message signature is stored as: about the signed SHA-256 digest. */
export function signatureStatement(sha256Hex: string): Statement {
  return {
    _type: STATEMENT_V1,
    subject: [{ digest: { sha256: sha256Hex } }],
    predicateType: SIGNATURE_V1,
    predicate: {},
  };
}
