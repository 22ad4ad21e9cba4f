// Response schemas: what the API answers, as /openapi.json publishes it. Route handlers are
// type-checked against these (the services' views must fit them); responses are not re-parsed.
import { EVIDENCE_PACK_MEDIA_TYPE, PACK_ROLES } from '../audit/pack.ts';
import { REBUILD_REQUIREMENTS } from '../policy/types.ts';
import { z } from './openapi.ts';

/** JSON the API passes through unchanged: a Sigstore bundle, a statement, a trusted root. */
const opaque = (description: string) => z.unknown().openapi({ type: 'object', description });
const Bundle = opaque('a Sigstore bundle (v0.3 JSON)');
const Timestamp = z.string().openapi({ format: 'date-time' });
const PolicyRef = z.object({ uri: z.string(), digest: z.object({ sha256: z.string() }) });

export const AttestationRecord = z
  .object({
    id: z.string(),
    predicateType: z.string(),
    subjects: z.array(z.object({ name: z.string().nullable(), digest: z.string() })),
    environment: z.string().nullable(),
    signer: z.object({ subject: z.string(), issuer: z.string() }),
    origin: z.enum(['signed', 'ingested']),
    logIndex: z.number().int(),
    integratedTime: z.number().int(),
    createdAt: Timestamp,
    statement: opaque('the in-toto statement as signed'),
    bundle: Bundle,
  })
  .openapi('Attestation');

const RuleResult = z.object({
  name: z.string(),
  satisfied: z.boolean(),
  evidence: z.array(z.string()),
  reason: z.string().optional(),
  rejected: z.array(z.string()).optional().openapi({ description: 'a failed rule: the attestations that failed it' }),
  revoked: z.array(z.string()).optional().openapi({ description: 'revocations of evidence the rule did not count' }),
});

export const Verdict = z
  .object({
    id: z.string(),
    digest: z.string(),
    environment: z.string(),
    decision: z.enum(['allow', 'deny']),
    rules: z.array(RuleResult),
    reasons: z.array(z.string()),
    policy: PolicyRef.nullable(),
    exception: z
      .object({ id: z.string(), attestationId: z.string(), original: z.string() })
      .nullable()
      .openapi({ description: 'the rebuild exception an allow relied on' }),
    createdAt: Timestamp,
    expiresAt: Timestamp.nullable(),
    attestationId: z.string().nullable(),
    bundle: Bundle.optional(),
  })
  .openapi('Verdict');

export const Deployment = z
  .object({
    id: z.string(),
    digest: z.string(),
    environment: z.string(),
    verdictId: z.string(),
    attestationId: z.string(),
    deployer: z.string(),
    createdAt: Timestamp,
    bundle: Bundle.optional(),
  })
  .openapi('Deployment');

const Relation = z.object({
  digest: z.string(),
  name: z.string(),
  source: z.object({ uri: z.string(), digest: z.string() }),
  provenanceId: z.string(),
  firstSeen: Timestamp,
});

export const Artifact = z
  .object({
    digest: z.string(),
    names: z.array(z.string()),
    attestations: z.array(AttestationRecord),
    verdicts: z.array(Verdict),
    deployments: z.array(Deployment),
    rebuildOf: z.array(Relation).openapi({ description: 'older digests built from the same subject name and source' }),
    rebuilds: z.array(Relation).openapi({ description: 'newer digests built from the same subject name and source' }),
    revocations: z
      .array(
        z.object({
          id: z.string().openapi({ description: 'the revocation attestation' }),
          attestationId: z.string().openapi({ description: 'the revoked attestation' }),
          reason: z.string(),
          revokedBy: z.string(),
          revokedAt: Timestamp,
        }),
      )
      .openapi({ description: 'revoked attestations about the digest: verdicts no longer count them' }),
  })
  .openapi('Artifact');

const Current = z.object({ digest: z.string(), deploymentId: z.string(), deployedAt: Timestamp }).nullable();

const ObservedRunning = z
  .object({
    snapshotId: z.string(),
    source: z.string(),
    observedAt: Timestamp,
    digests: z.array(z.string()),
  })
  .nullable()
  .openapi({ description: 'what the latest runtime snapshot saw running (null: no snapshot recorded)' });

export const EnvironmentSummary = z
  .object({
    name: z.string(),
    after: z.string().nullable(),
    uri: z.string(),
    policy: PolicyRef,
    current: Current,
    observed: ObservedRunning,
  })
  .openapi('EnvironmentSummary');

export const EnvironmentDetail = EnvironmentSummary.extend({
  chain: z
    .object({
      digest: z.string(),
      provenance: z.array(AttestationRecord),
      testResults: z.record(z.string(), z.array(AttestationRecord)),
      attestations: z.array(AttestationRecord),
      verdicts: z.array(Verdict),
      deployments: z.array(Deployment),
    })
    .nullable()
    .openapi({ description: 'the evidence chain of what runs there now' }),
  history: z.array(Deployment),
}).openapi('Environment');

export const RebuildException = z
  .object({
    id: z.string(),
    original: z.string(),
    rebuild: z.string(),
    environment: z.string(),
    reason: z.string(),
    ticket: z.string().nullable(),
    requestedBy: z.string(),
    acceptedBuilderDependencies: z.array(z.string()).optional(),
    status: z.enum(['pending', 'approved', 'rejected', 'expired']),
    approvers: z.array(z.string()),
    minApprovals: z.number().int(),
    expiresAt: Timestamp.nullable(),
    createdAt: Timestamp,
    attestationId: z.string().nullable(),
    summary: z.string(),
    checklist: z.array(z.object({ item: z.enum(REBUILD_REQUIREMENTS), ok: z.boolean(), detail: z.string() })),
    bundle: Bundle.optional(),
  })
  .openapi('RebuildException');

const Change = z.object({
  kind: z.string(),
  name: z.string().optional(),
  old: z.unknown(),
  new: z.unknown(),
  pathA: z.string().optional(),
  pathB: z.string().optional(),
});

export const ProvenanceDiff = z
  .object({
    a: z.string(),
    b: z.string(),
    rebuild: z.boolean(),
    diff: z.object({
      formats: z.object({ a: z.enum(['v1', 'v0.2']), b: z.enum(['v1', 'v0.2']) }),
      dependencies: z.array(Change),
      baseImages: z.array(Change),
      builder: z.array(Change),
      parameters: z.array(Change),
      metadata: z.array(Change),
      summary: z.string(),
      kinds: z.array(z.string()),
    }),
  })
  .openapi('ProvenanceDiff');

export const RebuildReport = z
  .object({
    items: z.array(
      z.object({
        rebuild: z.string(),
        original: z.string(),
        name: z.string(),
        source: z.object({ uri: z.string(), digest: z.string() }),
        summary: z.string(),
        promotions: z.array(z.object({ environment: z.string(), deploymentId: z.string(), at: Timestamp })),
        exceptions: z.array(
          z.object({
            id: z.string(),
            environment: z.string(),
            status: z.enum(['pending', 'approved', 'rejected', 'expired']),
            attestationId: z.string().nullable(),
          }),
        ),
      }),
    ),
  })
  .openapi('RebuildReport');

export const DriftReport = z
  .object({
    generatedAt: Timestamp,
    ok: z.boolean(),
    environments: z.array(
      z.object({
        name: z.string(),
        current: Current,
        observed: z
          .object({
            snapshotId: z.string(),
            source: z.string(),
            observedAt: Timestamp,
            ageSeconds: z.number().int(),
            digests: z.array(z.string()),
          })
          .nullable(),
        ok: z.boolean(),
        findings: z.array(
          z.object({
            kind: z.enum([
              'deployed-without-allow',
              'exception-expired',
              'evidence-unverifiable',
              'evidence-untrusted',
              'running-without-allow',
              'deployed-not-running',
            ]),
            digest: z.string(),
            deploymentId: z.string().optional(),
            attestationId: z.string().optional(),
            detail: z.string(),
          }),
        ),
      }),
    ),
    integrity: z
      .object({
        ok: z.boolean(),
        log: z.object({ size: z.number().int(), checkpoints: z.number().int() }),
        attestations: z.number().int(),
        findings: z.array(
          z.object({
            kind: z.enum([
              'log-entries',
              'log-leaf',
              'log-node',
              'log-checkpoint',
              'attestation-row',
              'attestation-subjects',
              'subject-index',
              'verdict-row',
              'deployment-row',
              'exception-row',
            ]),
            detail: z.string(),
            attestationId: z.string().optional(),
            digest: z.string().optional(),
          }),
        ),
      })
      .openapi({ description: 'whether storage holds what was signed: the log recomputed, every row checked' }),
  })
  .openapi('DriftReport');

const PackStep = z.object({
  environment: z.string(),
  verdict: z.string(),
  deployment: z.string(),
  deployedAt: Timestamp,
  exception: z.string().nullable(),
});

export const EvidencePack = z
  .object({
    mediaType: z.literal(EVIDENCE_PACK_MEDIA_TYPE),
    generatedAt: Timestamp,
    issuer: z.string(),
    trustedRoot: opaque('the Sigstore TrustedRoot to verify with'),
    checkpoint: z.string().openapi({ description: 'the signed checkpoint every inclusion proof is against' }),
    manifest: z.object({
      digest: z.string(),
      environment: z.string().nullable(),
      steps: z.array(PackStep),
      provenance: z.array(z.string()),
      testResults: z.record(z.string(), z.array(z.string())),
      exceptions: z.array(z.string()),
      originals: z.array(z.object({ digest: z.string(), provenance: z.array(z.string()) })),
    }),
    attestations: z.array(
      z.object({
        id: z.string(),
        role: z.enum(PACK_ROLES),
        predicateType: z.string(),
        environment: z.string().nullable(),
        signer: z.object({ subject: z.string(), issuer: z.string() }),
        origin: z.enum(['signed', 'ingested']),
        bundle: Bundle,
        logEntry: opaque("waybill's log entry with an inclusion proof against `checkpoint`"),
      }),
    ),
    policies: z.array(z.object({ uri: z.string(), sha256: z.string(), content: z.string() })),
  })
  .openapi('EvidencePack');

export const Policies = z
  .object({
    current: z.array(
      z.object({
        environment: z.string(),
        file: z.string(),
        sha256: z.string(),
        uri: z.string(),
        after: z.string().nullable(),
      }),
    ),
    history: z.array(
      z.object({
        environment: z.string(),
        file: z.string(),
        sha256: z.string(),
        uri: z.string(),
        current: z.boolean(),
        firstSeen: Timestamp,
        lastSeen: Timestamp,
        replacedAt: Timestamp.nullable().openapi({ description: 'when the next version was first loaded' }),
      }),
    ),
  })
  .openapi('Policies');

const ReplayFlip = z.object({
  verdictId: z.string(),
  digest: z.string(),
  createdAt: Timestamp,
  from: z.enum(['allow', 'deny']),
  to: z.enum(['allow', 'deny']),
  rules: z.array(z.object({ name: z.string(), reason: z.string() })),
});

export const ReplayReport = z
  .object({
    since: Timestamp,
    until: Timestamp,
    environments: z.array(
      z.object({
        environment: z.string(),
        policy: z.object({ sha256: z.string() }),
        verdicts: z.number().int(),
        unchanged: z.number().int(),
        allowToDeny: z.array(ReplayFlip),
        denyToAllow: z.array(ReplayFlip),
      }),
    ),
  })
  .openapi('ReplayReport');
