// The whole data model of DESIGN.md section 6. Later features fill tables defined here, so the
// migration history stays linear and every instance agrees on one schema.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

// postgres.js returns Buffer, PGlite returns Uint8Array: normalise to Uint8Array for callers.
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v),
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tokens = pgTable('tokens', {
  id: text('id').primaryKey(),
  sha256: text('sha256').notNull().unique(),
  subject: text('subject').notNull(),
  roles: text('roles').array().notNull(),
  createdAt: createdAt(),
  expiresAt: tstz('expires_at'),
  revokedAt: tstz('revoked_at'),
  // What the holder may act for: null means any environment; for builders, the builder.id values
  // (exact URIs or anchored ^...$ patterns) its provenance may claim, null meaning any.
  environments: text('environments').array(),
  builderIds: text('builder_ids').array(),
});

// One row per signed (or ingested) bundle. id = hex SHA-256 of the DSSE envelope JSON.
export const attestations = pgTable(
  'attestations',
  {
    id: text('id').primaryKey(),
    predicateType: text('predicate_type').notNull(),
    statement: jsonb('statement').notNull(),
    // hex SHA-256 of the statement payload bytes: the idempotency key together with the signer.
    statementSha256: text('statement_sha256').notNull(),
    bundle: jsonb('bundle').notNull(),
    signerSubject: text('signer_subject').notNull(),
    signerIssuer: text('signer_issuer').notNull(),
    environment: text('environment'),
    origin: text('origin', { enum: ['signed', 'ingested'] }).notNull(),
    logIndex: bigint('log_index', { mode: 'number' }).notNull().unique(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('attestations_signer_statement_uq').on(t.signerSubject, t.statementSha256),
    index('attestations_predicate_type_idx').using('hash', t.predicateType),
  ],
);

export const attestationSubjects = pgTable(
  'attestation_subjects',
  {
    attestationId: text('attestation_id')
      .notNull()
      .references(() => attestations.id),
    digest: text('digest').notNull(),
    name: text('name'),
  },
  (t) => [
    primaryKey({ columns: [t.attestationId, t.digest] }),
    index('attestation_subjects_digest_idx').on(t.digest),
    // rebuild detection looks provenance up by subject name
    index('attestation_subjects_name_idx').using('hash', t.name),
  ],
);

// The transparency log. Entries are the Rekor-style canonical bodies; the tree is stored as
// complete subtree nodes (level, index), so any proof needs O(log n) indexed reads.
export const logEntries = pgTable(
  'log_entries',
  {
    logIndex: bigint('log_index', { mode: 'number' }).primaryKey(),
    body: bytea('body').notNull(),
    leafHash: bytea('leaf_hash').notNull(),
    integratedTime: bigint('integrated_time', { mode: 'number' }).notNull(),
    kind: text('kind').notNull(),
    attestationId: text('attestation_id')
      .notNull()
      .unique()
      .references(() => attestations.id),
    // The signed entry timestamp made when the entry was logged (the log key's signature over body,
    // integrated time, log id and index): it authenticates the time and index of an ingested
    // bundle, whose own tlog entries are another log's, and lets an entry be served as signed.
    set: bytea('set'),
  },
  (t) => [
    // Entries logged before SETs were kept, found at start-up in one probe.
    index('log_entries_unsealed_idx').on(t.logIndex).where(sql`${t.set} is null`),
    // The Rekor-compatible API finds entries by UUID, which is the leaf hash.
    index('log_entries_leaf_hash_idx').on(t.leafHash),
  ],
);

export const logNodes = pgTable(
  'log_nodes',
  {
    level: smallint('level').notNull(),
    index: bigint('idx', { mode: 'number' }).notNull(),
    hash: bytea('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.index] })],
);

export const logCheckpoints = pgTable('log_checkpoints', {
  treeSize: bigint('tree_size', { mode: 'number' }).primaryKey(),
  rootHash: bytea('root_hash').notNull(),
  note: text('note').notNull(),
  createdAt: createdAt(),
});

// The log's signed index of what it holds about each subject digest (tlog/subject-index.ts): the
// count, the last entry's index and a hash chain over the entries' (id, log index, predicate type,
// environment), signed by the log key in the batch that logged them.
export const subjectHeads = pgTable('subject_heads', {
  digest: text('digest').primaryKey(),
  entries: bigint('entries', { mode: 'number' }).notNull(),
  lastLogIndex: bigint('last_log_index', { mode: 'number' }).notNull(),
  chain: bytea('chain').notNull(),
  keyId: bytea('key_id').notNull(),
  signature: bytea('signature').notNull(),
});

export const verdicts = pgTable(
  'verdicts',
  {
    id: text('id').primaryKey(),
    digest: text('digest').notNull(),
    environment: text('environment').notNull(),
    decision: text('decision', { enum: ['allow', 'deny'] }).notNull(),
    policyDigest: text('policy_digest').notNull(),
    result: jsonb('result').notNull(),
    vsaAttestationId: text('vsa_attestation_id').references(() => attestations.id),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at'),
  },
  (t) => [index('verdicts_digest_env_idx').on(t.digest, t.environment)],
);

export const deployments = pgTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    digest: text('digest').notNull(),
    environment: text('environment').notNull(),
    verdictId: text('verdict_id')
      .notNull()
      .references(() => verdicts.id),
    attestationId: text('attestation_id')
      .notNull()
      .references(() => attestations.id),
    deployer: text('deployer').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('deployments_env_idx').on(t.environment, t.createdAt),
    // admission asks, per image, whether this digest was ever deployed to this environment
    index('deployments_digest_env_idx').on(t.digest, t.environment),
  ],
);

export const rebuildExceptions = pgTable('rebuild_exceptions', {
  // The original's and rebuild's digests are `alg:hex`; environment is where the exception applies.
  id: text('id').primaryKey(),
  original: text('original').notNull(),
  rebuild: text('rebuild').notNull(),
  environment: text('environment').notNull(),
  reason: text('reason').notNull(),
  ticket: text('ticket'),
  requestedBy: text('requested_by').notNull(),
  status: text('status', { enum: ['pending', 'approved', 'rejected', 'expired'] })
    .notNull()
    .default('pending'),
  expiresAt: tstz('expires_at'),
  attestationId: text('attestation_id').references(() => attestations.id),
  createdAt: createdAt(),
  // Builder dependencies (by name) the requester accepts as changed: same-builder holds despite them.
  acceptedBuilderDependencies: text('accepted_builder_dependencies').array().notNull().default(sql`'{}'::text[]`),
});

export const exceptionApprovals = pgTable(
  'exception_approvals',
  {
    exceptionId: text('exception_id')
      .notNull()
      .references(() => rebuildExceptions.id),
    approver: text('approver').notNull(),
    createdAt: createdAt(),
    // The approval the approver signed (https://waybill.dev/rebuild-approval/v1).
    attestationId: text('attestation_id').references(() => attestations.id),
  },
  (t) => [primaryKey({ columns: [t.exceptionId, t.approver] })],
);

// Which migrations applied is drizzle's business; this marks the schema version readyz expects.
export const SCHEMA_TABLES = [
  'tokens',
  'attestations',
  'attestation_subjects',
  'log_entries',
  'log_nodes',
  'log_checkpoints',
  'subject_heads',
  'verdicts',
  'deployments',
  'rebuild_exceptions',
  'exception_approvals',
  'idempotency_keys',
  'workload_certificates',
  'admission_events',
  'webhook_outbox',
  'ui_sessions',
  'policy_versions',
] as const;

// Idempotency-Key on POSTs: a retried request with the same key and body gets the original
// answer; the same key with another body is a conflict.
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    callerSubject: text('caller_subject').notNull(),
    key: text('key').notNull(),
    route: text('route').notNull(),
    requestSha256: text('request_sha256').notNull(),
    // Null while the first request with the key is still being served (the key is reserved before
    // any work, so racing requests wait or are refused instead of signing twice).
    status: smallint('status'),
    // What the first request created, `<kind>:<id>` (attestation, verdict, deployment, token, exception).
    resource: text('resource'),
    attestationId: text('attestation_id').references(() => attestations.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.callerSubject, t.key] })],
);

// Certificates issued through the Fulcio-compatible API (POST /api/v2/signingCert) and the
// workload they were issued to: an entry logged under one (POST /api/v1/log/entries) is stored
// as that workload's attestation, with the roles and environments its grants gave.
export const workloadCertificates = pgTable(
  'workload_certificates',
  {
    // hex SHA-256 of the certificate's DER
    fingerprint: text('fingerprint').primaryKey(),
    subject: text('subject').notNull(),
    issuer: text('issuer').notNull(),
    roles: text('roles').array().notNull(),
    environments: text('environments').array(),
    // Each matching grant's roles and environments (identity/grants.ts RoleScope).
    scopes: jsonb('scopes').notNull(),
    workload: jsonb('workload').notNull(),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [index('workload_certificates_expires_idx').on(t.expiresAt)],
);

// Every Kubernetes admission decision (POST /v1/admission/kubernetes): what was asked, what was
// answered and why. `decision` is what waybill's checks found; in audit mode a `deny` is answered
// allowed, so `allowed` says what the API server was told.
export const admissionEvents = pgTable(
  'admission_events',
  {
    id: text('id').primaryKey(),
    // The AdmissionReview request's uid ('' when the review had none).
    uid: text('uid').notNull(),
    namespace: text('namespace'),
    environment: text('environment'),
    enforcement: text('enforcement', { enum: ['enforce', 'audit'] }),
    operation: text('operation'),
    kind: text('kind'),
    name: text('name'),
    decision: text('decision', { enum: ['allow', 'deny'] }).notNull(),
    allowed: boolean('allowed').notNull(),
    // [{ image, digest, reason }] for every image checked; reason null when it was admissible.
    images: jsonb('images').notNull(),
    message: text('message'),
    caller: text('caller').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('admission_events_created_idx').on(t.createdAt, t.id)],
);

// Webhook deliveries (WAYBILL_WEBHOOKS), written right after the event's own write: one row per
// event and receiver, delivered at least once by the dispatcher (services/webhook-dispatcher.ts),
// which claims due rows with FOR UPDATE SKIP LOCKED, so several instances never send one at once.
export const webhookOutbox = pgTable(
  'webhook_outbox',
  {
    // Also the Waybill-Delivery header: a receiver deduplicates on it.
    id: text('id').primaryKey(),
    // The receiver's URL as configured.
    webhook: text('webhook').notNull(),
    event: text('event').notNull(),
    // The exact bytes signed and sent.
    body: text('body').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tstz('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: createdAt(),
    deliveredAt: tstz('delivered_at'),
  },
  (t) => [
    index('webhook_outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index('webhook_outbox_created_idx').on(t.createdAt, t.id),
  ],
);

// Web UI sessions (src/ui/session.ts): the row's id is the SHA-256 of the cookie's random value,
// so the database never holds what a browser presents. The caller the sign-in token stood for is
// resolved once, at sign-in; `csrf` is the per-session secret every state-changing form carries.
export const uiSessions = pgTable(
  'ui_sessions',
  {
    id: text('id').primaryKey(),
    tokenId: text('token_id').notNull(),
    caller: jsonb('caller').notNull(),
    csrf: text('csrf').notNull(),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at').notNull(),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [index('ui_sessions_expires_idx').on(t.expiresAt)],
);

// Every policy file version waybill has loaded (issue 16): recorded at start-up, by digest, with
// when it was first and last loaded. Versions of one environment in first_seen order tell which
// file was in force when.
export const policyVersions = pgTable(
  'policy_versions',
  {
    environment: text('environment').notNull(),
    sha256: text('sha256').notNull(),
    file: text('file').notNull(),
    content: text('content').notNull(),
    firstSeen: tstz('first_seen').notNull().defaultNow(),
    lastSeen: tstz('last_seen').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.environment, t.sha256] })],
);
