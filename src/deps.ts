// The one composition root: config in, concrete implementations out. Nothing else picks a
// driver, a key or a clock.
import type { Config } from './config.ts';
import { WorkloadAuthenticator } from './identity/authenticate.ts';
import { loadOidcConfig } from './identity/config.ts';
import { httpJwks, type JwksSource } from './identity/jwks.ts';
import { createLogger, type Logger } from './logger.ts';
import { loadPolicies } from './policy/load.ts';
import type { PolicySet } from './policy/types.ts';
import { AttestService } from './services/attest.ts';
import { AuditService } from './services/audit.ts';
import { ensureAdminToken } from './services/bootstrap.ts';
import { EvidenceVerifier } from './services/evidence.ts';
import { IdempotencyStore } from './services/idempotency.ts';
import { IngestService } from './services/ingest.ts';
import { IntakeService } from './services/intake.ts';
import { PromotionService } from './services/promotion.ts';
import { RebuildService } from './services/rebuilds.ts';
import { SigstoreService } from './services/sigstore.ts';
import { ROLES, TokenService } from './services/tokens.ts';
import { loadExternalTrust } from './signing/external.ts';
import { loadSigningKeys, type SigningKeys } from './signing/keys.ts';
import { buildTrustedRoot, type TrustedRootJson } from './signing/trusted-root.ts';
import { type Database, openDatabase } from './storage/database.ts';
import { LogRepo } from './storage/log-repo.ts';
import { TransparencyLog } from './tlog/log.ts';

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
  promotion: PromotionService;
  rebuilds: RebuildService;
  audit: AuditService;
  sigstore: SigstoreService;
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

/** Everything but the database: signing keys, log, services. */
export async function wireServices(
  config: Config,
  database: Database,
  logger: Logger,
  opts: { now?: () => Date; jwks?: JwksSource } = {},
) {
  const keys = await loadSigningKeys(config, logger);
  const log = new TransparencyLog({
    repo: new LogRepo(database),
    privateKey: keys.log.privateKey,
    publicKey: keys.log.publicKey,
    issuer: config.issuer,
    treeId: config.logTreeId,
  });
  // An invalid policy file stops start-up here, with file:line:column and the reason.
  const policies = loadPolicies(config.policiesDir, { issuer: config.issuer });
  const attest = new AttestService({ database, log, ca: keys.ca, issuer: config.issuer });
  const intake = new IntakeService({
    database,
    attest,
    issuer: config.issuer,
    environments: policies.order,
    allowedPredicates: config.allowedPredicates,
  });
  const external = loadExternalTrust(config.external);
  const ingest = new IngestService({ database, log, external, issuer: config.issuer });
  const idempotency = new IdempotencyStore(database, attest);
  const tokens = new TokenService(database, { adminToken: config.adminToken, issuer: config.issuer });
  // Workload identity: OIDC ID tokens from CI are callers when WAYBILL_OIDC_CONFIG names issuers.
  const workloads = config.oidcConfigFile
    ? new WorkloadAuthenticator(
        loadOidcConfig(config.oidcConfigFile, { roles: ROLES, environments: policies.order }),
        opts.jwks ?? httpJwks(),
      )
    : undefined;
  if (workloads) {
    tokens.useWorkloads(workloads);
    const { issuers, grants } = workloads.config;
    logger.info({ issuers: issuers.map((i) => i.issuer), grants: grants.length }, 'accepting OIDC ID tokens');
  }
  const sigstore = new SigstoreService({
    database,
    log,
    ca: keys.ca,
    workloads,
    intake,
    allowedPredicates: config.allowedPredicates,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const trustedRoot = trustedRootFor(config, keys, log.identity.keyName);
  const evidence = new EvidenceVerifier({ trustedRoot, external });
  const promotion = new PromotionService({
    database,
    policies,
    attest,
    intake,
    evidence,
    issuer: config.issuer,
    logger,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const rebuilds = new RebuildService({
    database,
    attest,
    intake,
    policies,
    issuer: config.issuer,
    ...(opts.now ? { now: opts.now } : {}),
  });
  promotion.useRebuilds(rebuilds);
  const audit = new AuditService({ attest, intake, promotion, log, policies, trustedRoot, issuer: config.issuer });
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
    promotion,
    rebuilds,
    audit,
    sigstore,
  };
}

export async function buildDeps(config: Config, opts: { logger?: Logger } = {}): Promise<Deps> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database = await openDatabase(config.database);
  try {
    await database.migrate();
    const services = await wireServices(config, database, logger);
    await ensureAdminToken({
      tokens: services.tokens,
      dataDir: config.dataDir,
      issuer: config.issuer,
      adminTokenConfigured: Boolean(config.adminToken),
      logger,
    });
    return { config, logger, database, ...services, close: () => database.close() };
  } catch (err) {
    await database.close();
    throw err;
  }
}
