// The one composition root: config, a database and the material (keys, policies, trust) in; the
// repositories, the log and the services out. Each runtime opens its own database (Node:
// runtime/node.ts, PGlite or PostgreSQL; Workers: runtime/worker.ts, PostgreSQL per request);
// nothing else picks a repository, a key or a clock.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Config } from './config.ts';
import { WorkloadAuthenticator } from './identity/authenticate.ts';
import type { OidcConfig } from './identity/config.ts';
import { httpJwks, type JwksSource } from './identity/jwks.ts';
import { createLogger, type Logger } from './logger.ts';
import type { PolicySet } from './policy/types.ts';
import { type Preflight, preflight } from './preflight.ts';
import { AdmissionService } from './services/admission.ts';
import type { AdmissionConfig } from './services/admission-config.ts';
import { AttestService } from './services/attest.ts';
import { AuditService } from './services/audit.ts';
import { ensureAdminToken } from './services/bootstrap.ts';
import { EvidenceReader, EvidenceVerifier } from './services/evidence.ts';
import { IdempotencyStore } from './services/idempotency.ts';
import { IngestService } from './services/ingest.ts';
import { IntakeService } from './services/intake.ts';
import { IntegrityAudit } from './services/integrity.ts';
import { PolicyHistoryService } from './services/policy-history.ts';
import { DeploymentService } from './services/promotion/deployments.ts';
import { DriftService } from './services/promotion/drift.ts';
import { EnvironmentService } from './services/promotion/environments.ts';
import { SnapshotService } from './services/promotion/snapshots.ts';
import { VerdictService } from './services/promotion/verdicts.ts';
import { RebuildService } from './services/rebuilds.ts';
import { ReplayService } from './services/replay.ts';
import { RevocationService } from './services/revocations.ts';
import { SigstoreService } from './services/sigstore.ts';
import { TokenService } from './services/tokens.ts';
import { UiSessionService } from './services/ui-sessions.ts';
import { WebhookDispatcher } from './services/webhook-dispatcher.ts';
import { WebhookService } from './services/webhooks.ts';
import type { WebhooksConfig } from './services/webhooks-config.ts';
import type { ExternalTrust } from './signing/external.ts';
import { loadSigningKeys, type SigningKeys } from './signing/keys.ts';
import type { CaSignerFactory } from './signing/signer.ts';
import { buildTrustedRoot, type TrustedRootJson } from './signing/trusted-root.ts';
import { AdmissionRepo } from './storage/admission-repo.ts';
import { AttestationRepo } from './storage/attestation-repo.ts';
import { DeploymentRepo } from './storage/deployment-repo.ts';
import type { Database } from './storage/driver.ts';
import { ExceptionRepo } from './storage/exception-repo.ts';
import { IdempotencyRepo } from './storage/idempotency-repo.ts';
import { LogRepo } from './storage/log-repo.ts';
import { PolicyVersionRepo } from './storage/policy-version-repo.ts';
import { TokenRepo } from './storage/token-repo.ts';
import { UiSessionRepo } from './storage/ui-session-repo.ts';
import { VerdictRepo } from './storage/verdict-repo.ts';
import { WebhookRepo } from './storage/webhook-repo.ts';
import { WorkloadRepo } from './storage/workload-repo.ts';
import { logIdentity } from './tlog/identity.ts';
import { type Sequencer, TransparencyLog } from './tlog/log.ts';

export interface Deps {
  config: Config;
  logger: Logger;
  database: Database;
  tokens: TokenService;
  keys: SigningKeys;
  log: TransparencyLog;
  attest: AttestService;
  intake: IntakeService;
  ingest: IngestService;
  idempotency: IdempotencyStore;
  policies: PolicySet;
  verdicts: VerdictService;
  deployments: DeploymentService;
  environments: EnvironmentService;
  drift: DriftService;
  rebuilds: RebuildService;
  revocations: RevocationService;
  policyHistory: PolicyHistoryService;
  replay: ReplayService;
  audit: AuditService;
  sigstore: SigstoreService;
  admission: AdmissionService;
  snapshots: SnapshotService;
  webhooks: WebhookService;
  /** Delivers the webhook outbox (Node: started by runtime/node.ts); undefined without WAYBILL_WEBHOOKS. */
  dispatcher: WebhookDispatcher | undefined;
  uiSessions: UiSessionService;
  trustedRoot: TrustedRootJson;
  close(): Promise<void>;
}

/** The trust material an offline verifier needs: our CA chain and log key. */
export function trustedRootFor(
  config: Pick<Config, 'issuer' | 'trustHistory'>,
  keys: SigningKeys,
  keyName: string,
): TrustedRootJson {
  const validFrom = keys.ca.intermediate.certificate.notBefore;
  const current = buildTrustedRoot({
    cas: [{ chainPem: keys.ca.chainPem, validFrom, uri: config.issuer }],
    tlogs: [{ baseUrl: config.issuer, publicKey: keys.log.publicKey, validFrom, checkpointKeyName: keyName }],
  });
  // After a rotation the retired keys stay listed (with their validFor end), so every bundle
  // signed before the rotation still verifies.
  const history = config.trustHistory;
  if (!history) return current;
  return {
    ...current,
    certificateAuthorities: [
      ...current.certificateAuthorities,
      ...(history.certificateAuthorities as TrustedRootJson['certificateAuthorities']),
    ],
    tlogs: [...current.tlogs, ...(history.tlogs as TrustedRootJson['tlogs'])],
  };
}

/** The repositories: every query the services make goes through one of these. */
function repositories(database: Database) {
  return {
    attestations: new AttestationRepo(database),
    verdicts: new VerdictRepo(database),
    deployments: new DeploymentRepo(database),
    exceptions: new ExceptionRepo(database),
    tokens: new TokenRepo(database),
    idempotency: new IdempotencyRepo(database),
    policyVersions: new PolicyVersionRepo(database),
  };
}

/**
 * The public keys of log keys retired by rotation (WAYBILL_TRUST_HISTORY_FILE): index heads and
 * SETs signed before the rotation verify with them.
 */
function retiredLogKeys(config: Pick<Config, 'trustHistory'>): KeyObject[] {
  return (config.trustHistory?.tlogs ?? []).flatMap((t) => {
    const raw = (t as { publicKey?: { rawBytes?: unknown } }).publicKey?.rawBytes;
    if (typeof raw !== 'string') return [];
    return [createPublicKey({ key: Buffer.from(raw, 'base64'), format: 'der', type: 'spki' })];
  });
}

/**
 * What the services are built from besides a database: keys, policies and trust, read once per
 * process on Node and once per isolate on Workers (where a database handle lives for one request
 * only, runtime/worker.ts).
 */
export interface Material {
  keys: SigningKeys;
  policies: PolicySet;
  external: ExternalTrust;
  /** OIDC ID tokens are callers only when WAYBILL_OIDC_CONFIG names issuers. */
  workloads: WorkloadAuthenticator | undefined;
  retiredLogKeys: KeyObject[];
  trustedRoot: TrustedRootJson;
  /** Bundle verification under waybill's root and the external trust (it caches what it verified). */
  verifier: EvidenceVerifier;
  /** Kubernetes namespaces to environments (WAYBILL_ADMISSION_CONFIG); undefined: admission denies. */
  admission: AdmissionConfig | undefined;
  /** Webhook receivers (WAYBILL_WEBHOOKS); undefined: no webhooks. */
  webhooks: WebhooksConfig | undefined;
  /** Where signings make their key, leaf and DSSE signature (unset: in this thread). */
  signers?: CaSignerFactory;
}

/**
 * Signing off the event loop on Node (runtime/signing-pool.ts), made once the keys are known; the
 * Workers runtime and tests leave it unset and sign in-thread.
 */
export type SigningPoolFactory = (keys: SigningKeys) => { signers: CaSignerFactory; close(): Promise<void> };

/** The material from what each runtime reads: files on Node, the bundle and Worker vars on Workers. */
export function assembleMaterial(
  config: Config,
  logger: Logger,
  parts: {
    keys: SigningKeys;
    policies: PolicySet;
    external: ExternalTrust;
    oidc: OidcConfig | undefined;
    admission?: AdmissionConfig | undefined;
    webhooks?: WebhooksConfig | undefined;
  },
  opts: { jwks?: JwksSource } = {},
): Material {
  const { keys, policies, external, oidc, admission, webhooks } = parts;
  const workloads = oidc ? new WorkloadAuthenticator(oidc, opts.jwks ?? httpJwks()) : undefined;
  if (workloads) {
    const { issuers, grants } = workloads.config;
    logger.info({ issuers: issuers.map((i) => i.issuer), grants: grants.length }, 'accepting OIDC ID tokens');
  }
  const retired = retiredLogKeys(config);
  const { keyName } = logIdentity({ issuer: config.issuer, publicKey: keys.log.publicKey });
  const trustedRoot = trustedRootFor(config, keys, keyName);
  const logKeys = [keys.log.publicKey, ...retired];
  const verifier = new EvidenceVerifier({ trustedRoot, external, issuer: config.issuer, logKeys });
  return { keys, policies, external, workloads, retiredLogKeys: retired, trustedRoot, verifier, admission, webhooks };
}

/**
 * The material on Node: keys from configuration or the data directory, policies and trust from
 * files (`checked` and `keys` when start-up has read them already).
 */
export async function loadMaterial(
  config: Config,
  logger: Logger,
  opts: { jwks?: JwksSource; checked?: Preflight; keys?: SigningKeys } = {},
): Promise<Material> {
  // An invalid policy file stops here, with file:line:column and the reason.
  const { policies, external, oidc, admission, webhooks } = opts.checked ?? preflight(config);
  const keys = opts.keys ?? (await loadSigningKeys(config, logger));
  const parts = { keys, policies, external, oidc, admission, webhooks };
  return assembleMaterial(config, logger, parts, opts.jwks ? { jwks: opts.jwks } : {});
}

/**
 * The repositories, the log and the services over one database handle. Synchronous and cheap:
 * a Worker builds them for every request. `sequencer`, when given, takes the log's appends
 * (the log's Durable Object on Workers); reads stay on this database.
 */
export function buildServices(
  config: Config,
  database: Database,
  logger: Logger,
  material: Material,
  opts: { now?: () => Date; sequencer?: Sequencer } = {},
) {
  const clock = opts.now ? { now: opts.now } : {};
  const { keys, policies, external, workloads, trustedRoot, verifier, signers } = material;
  const repos = repositories(database);
  const { issuer } = config;
  const logRepo = new LogRepo(database);
  const log = new TransparencyLog({
    store: logRepo,
    privateKey: keys.log.privateKey,
    publicKey: keys.log.publicKey,
    retiredKeys: material.retiredLogKeys,
    issuer,
    treeId: config.logTreeId,
    ...(opts.sequencer ? { sequencer: opts.sequencer } : {}),
  });
  const { attestations } = repos;
  const outbox = new WebhookRepo(database);
  const webhooks = new WebhookService({ config: material.webhooks, outbox, logger, ...clock });
  const { emit } = webhooks;
  const dispatcher = material.webhooks
    ? new WebhookDispatcher({ config: material.webhooks, outbox, logger, ...clock })
    : undefined;
  const attest = new AttestService({ attestations, log, ca: keys.ca, issuer, ...(signers ? { signers } : {}) });
  const intake = new IntakeService({
    attestations,
    attest,
    issuer,
    policies,
    allowedPredicates: config.allowedPredicates,
  });
  const ingest = new IngestService({ attestations, log, external, issuer });
  const idempotency = new IdempotencyStore(repos.idempotency, { attestations, ...clock });
  const tokens = new TokenService(repos.tokens, {
    adminToken: config.adminToken,
    issuer,
    environments: policies.order,
  });
  if (workloads) tokens.useWorkloads(workloads);
  const sigstore = new SigstoreService({
    certificates: new WorkloadRepo(database),
    attestations,
    entries: logRepo,
    log,
    ca: keys.ca,
    workloads,
    issuer,
    allowedPredicates: config.allowedPredicates,
    ...clock,
  });
  const evidence = new EvidenceReader({
    attestations,
    heads: logRepo,
    verifier,
    origin: log.identity.origin,
    indexKeys: log.indexKeys,
  });
  const rebuilds = new RebuildService({ ...repos, attest, policies, issuer, emit, ...clock });
  const verdicts = new VerdictService({
    ...repos,
    policies,
    attest,
    evidence,
    rebuilds,
    issuer,
    logger,
    emit,
    ...clock,
  });
  const deployments = new DeploymentService({ ...repos, attest, evidence, policies, issuer, emit, ...clock });
  const snapshots = new SnapshotService({ attest, attestations, evidence, policies, issuer, ...clock });
  const environments = new EnvironmentService({ policies, attestations, deployments, snapshots, issuer });
  const integrity = new IntegrityAudit({
    ...repos,
    log: logRepo,
    evidence,
    issuer,
    origin: log.identity.origin,
    keyName: log.identity.keyName,
    logKeys: log.indexKeys,
  });
  const drift = new DriftService({ ...repos, snapshots, policies, evidence, integrity, issuer, emit, ...clock });
  snapshots.onRecorded(async (environment) => {
    // The snapshot is recorded; a failed check must not turn that into an error answer.
    await drift
      .checkRuntime(environment)
      .catch((err) => logger.error({ err, environment }, 'runtime drift check failed'));
  });
  const audit = new AuditService({ attestations, deployments, log, policies, trustedRoot, issuer });
  const admission = new AdmissionService({
    config: material.admission,
    verdicts: repos.verdicts,
    deployments: repos.deployments,
    admissions: new AdmissionRepo(database),
    emit,
    ...clock,
  });
  const uiSessions = new UiSessionService(new UiSessionRepo(database), tokens, clock);
  const revocations = new RevocationService({ attest, attestations, issuer, ...clock });
  const policyHistory = new PolicyHistoryService({ versions: repos.policyVersions, policies, issuer, ...clock });
  const replay = new ReplayService({ verdicts: repos.verdicts, attestations, policies, issuer });
  return {
    keys,
    log,
    attest,
    intake,
    ingest,
    idempotency,
    tokens,
    trustedRoot,
    policies,
    verdicts,
    deployments,
    environments,
    drift,
    rebuilds,
    revocations,
    policyHistory,
    replay,
    audit,
    sigstore,
    admission,
    snapshots,
    webhooks,
    dispatcher,
    uiSessions,
  };
}

/** Everything but the database, on Node: the material from files, the services, the bootstrap token. */
export async function wireServices(
  config: Config,
  database: Database,
  logger: Logger,
  opts: {
    now?: () => Date;
    jwks?: JwksSource;
    checked?: Preflight;
    keys?: SigningKeys;
    signers?: CaSignerFactory;
  } = {},
) {
  const { now, signers, ...read } = opts;
  const material = await loadMaterial(config, logger, read);
  const services = buildServices(config, database, logger, signers ? { ...material, signers } : material, {
    ...(now ? { now } : {}),
  });
  await services.tokens.syncBootstrap();
  await services.policyHistory.record();
  return services;
}
/**
 * Node start-up, one logged step at a time: checks, keys, database (opened by `open`, which
 * runtime/node.ts passes: the driver choice includes PGlite, which a Workers bundle must not
 * carry), migrations, services, sealing, bootstrap token.
 */
export async function buildDeps(
  config: Config,
  opts: { open: () => Promise<Database>; logger?: Logger; checked?: Preflight; pool?: SigningPoolFactory },
): Promise<Deps> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  let t = performance.now();
  const step = (fields: object, msg: string) => {
    const now = performance.now();
    logger.info({ ...fields, ms: Math.round(now - t) }, msg);
    t = now;
  };
  // An invalid policy or configuration file stops start-up here, before keys or a database exist.
  const checked = opts.checked ?? preflight(config);
  logger.info({ environments: checked.policies.order, policiesDir: config.policiesDir }, 'configuration checked');
  // Keys (read, or generated on a first start) and the database open side by side: PGlite compiles
  // its WebAssembly off the main thread meanwhile.
  logger.info({ database: config.database.driver }, 'opening the database');
  const started = performance.now();
  t = started;
  const keysLoaded = loadSigningKeys(config, logger).then((k) => {
    logger.info({ source: k.source, ms: Math.round(performance.now() - started) }, 'signing keys loaded');
    return k;
  });
  const opened = opts.open();
  const [keysResult, databaseResult] = await Promise.allSettled([keysLoaded, opened]);
  if (keysResult.status === 'rejected') {
    if (databaseResult.status === 'fulfilled') await databaseResult.value.close();
    throw keysResult.reason;
  }
  if (databaseResult.status === 'rejected') throw databaseResult.reason;
  const keys = keysResult.value;
  const database = databaseResult.value;
  step({ database: config.database.driver }, 'database open');
  const pool = opts.pool?.(keys);
  const close = async () => {
    await pool?.close();
    await database.close();
  };
  try {
    await database.migrate();
    step({}, 'database schema up to date');
    const services = await wireServices(config, database, logger, {
      checked,
      keys,
      ...(pool ? { signers: pool.signers } : {}),
    });
    // Data written before waybill kept SETs and subject index heads gets them once, now.
    const sealed = await services.log.seal();
    if (sealed.sets + sealed.heads > 0)
      logger.warn(sealed, 'sealed log entries and subject index heads from before they were kept');
    await ensureAdminToken({
      tokens: services.tokens,
      dataDir: config.dataDir,
      issuer: config.issuer,
      adminTokenConfigured: Boolean(config.adminToken),
      logger,
    });
    return { config, logger, database, ...services, close };
  } catch (err) {
    await close();
    throw err;
  }
}
