// Caller tokens: 256-bit random secrets of which only the SHA-256 is stored. A token is shown
// once, at creation. Lookups go by hash, so the secret never reaches the database or a log.
import { randomBytes } from 'node:crypto';
import { AppError, type FieldError } from '../errors.ts';
import type { WorkloadAuthenticator } from '../identity/authenticate.ts';
import { looksLikeJwt } from '../identity/token.ts';
import type { RoleScope, Workload } from '../identity/types.ts';
import type { TokenRepo, TokenRow } from '../storage/token-repo.ts';
import { sha256hex } from '../util/encoding.ts';
import { newId } from '../util/ids.ts';

export const ROLES = [
  'builder',
  'tester',
  'deployer',
  'approver',
  'auditor',
  'admission',
  'reporter',
  'admin',
] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  tokenId: string;
  subject: string;
  roles: Role[];
  /** The certificate issuer to sign with; null = waybill's own issuer (bearer tokens). */
  issuer: string | null;
  /** The environments the caller may act for; null: any (identity/grants.ts assertMayActFor). */
  environments: readonly string[] | null;
  /** The builder.id values its provenance may claim (exact, or anchored ^...$ patterns); null: any. */
  builderIds: readonly string[] | null;
  /** Per-grant roles and environments of a workload (identity/grants.ts environmentsFor). */
  scopes?: readonly RoleScope[];
  /** A caller authenticated by a CI's OIDC ID token: its verified claims and what they imply. */
  workload?: Workload;
}

export interface TokenInfo {
  id: string;
  subject: string;
  roles: Role[];
  environments: string[] | null;
  builderIds: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export const TOKEN_PREFIX = 'wb_';
/** The bootstrap admin token's rows: `tok_bootstrap_<12 hex of its hash>`, one per configured value. */
export const BOOTSTRAP_PREFIX = 'tok_bootstrap_';

/** Refuse provenance claiming a builder.id the caller may not claim (403, naming it). */
export function assertBuilderId(caller: Pick<Caller, 'builderIds' | 'subject'>, builderId: unknown): void {
  if (caller.builderIds === null) return;
  const id = typeof builderId === 'string' ? builderId : '';
  if (caller.builderIds.some((allowed) => builderIdMatches(allowed, id))) return;
  throw new AppError(
    'FORBIDDEN',
    `${caller.subject} may not sign provenance for builder.id ${JSON.stringify(builderId)}`,
  );
}

function builderIdMatches(allowed: string, id: string): boolean {
  return allowed.startsWith('^') ? new RegExp(allowed, 'u').test(id) : allowed === id;
}

/** Why a builder.id limit is not usable, or undefined: an exact absolute URI, or an anchored pattern. */
function builderIdProblem(allowed: string): string | undefined {
  if (allowed.startsWith('^')) {
    if (!allowed.endsWith('$')) return 'a pattern must be anchored: ^...$';
    try {
      new RegExp(allowed, 'u');
      return undefined;
    } catch (err) {
      return `not a regular expression: ${(err as Error).message}`;
    }
  }
  return /^[a-z][a-z0-9+.-]*:\S+$/i.test(allowed) ? undefined : 'an exact builder.id must be an absolute URI';
}

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function toInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    subject: row.subject,
    roles: row.roles as Role[],
    environments: row.environments,
    builderIds: row.builderIds,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export class TokenService {
  readonly #tokens: TokenRepo;
  readonly #adminToken: string | undefined;
  readonly #issuer: string;
  readonly #environments: ReadonlySet<string>;
  #workloads: WorkloadAuthenticator | undefined;

  constructor(
    tokens: TokenRepo,
    opts: { adminToken?: string | undefined; issuer: string; environments: Iterable<string> },
  ) {
    this.#tokens = tokens;
    this.#adminToken = opts.adminToken;
    this.#issuer = opts.issuer;
    this.#environments = new Set(opts.environments);
  }

  /**
   * Mint a token. Its subject may not be one of waybill's own identities (the issuer URL or
   * anything under it: the verifier that signs VSAs, the admin callers); `environments` must be
   * configured ones and `builderIds` exact URIs or anchored patterns.
   */
  async create(input: {
    subject: string;
    roles: Role[];
    expiresInMs?: number | undefined;
    environments?: readonly string[] | undefined;
    builderIds?: readonly string[] | undefined;
    now?: Date;
  }): Promise<TokenInfo & { token: string }> {
    const problems: FieldError[] = [];
    if (input.subject === this.#issuer || input.subject.startsWith(`${this.#issuer}/`)) {
      problems.push({
        path: '/subject',
        message: `reserved: ${this.#issuer} and everything under it are waybill's own`,
      });
    }
    for (const [i, e] of (input.environments ?? []).entries()) {
      if (!this.#environments.has(e))
        problems.push({ path: `/environments/${i}`, message: `unknown environment ${e}` });
    }
    for (const [i, b] of (input.builderIds ?? []).entries()) {
      const why = builderIdProblem(b);
      if (why) problems.push({ path: `/builderIds/${i}`, message: why });
    }
    if (problems.length > 0) {
      throw new AppError('VALIDATION_FAILED', `cannot mint this token: ${problems[0]!.message}`, { errors: problems });
    }
    return this.#mint({ ...input, id: newId('tok', 9), secret: newTokenSecret() });
  }

  async #mint(input: {
    id: string;
    secret: string;
    subject: string;
    roles: Role[];
    expiresInMs?: number | undefined;
    environments?: readonly string[] | undefined;
    builderIds?: readonly string[] | undefined;
    now?: Date;
  }): Promise<TokenInfo & { token: string }> {
    const now = input.now ?? new Date();
    const row = await this.#tokens.insert({
      id: input.id,
      sha256: sha256hex(input.secret),
      subject: input.subject,
      roles: [...new Set(input.roles)].sort(),
      createdAt: now,
      expiresAt: input.expiresInMs ? new Date(now.getTime() + input.expiresInMs) : null,
      environments: input.environments ? [...new Set(input.environments)].sort() : null,
      builderIds: input.builderIds ? [...new Set(input.builderIds)] : null,
    });
    return { ...toInfo(row), token: input.secret };
  }

  /** The first admin token of a fresh installation (the subject under the issuer is waybill's own). */
  async createFirstAdmin(): Promise<TokenInfo & { token: string }> {
    return this.#mint({
      id: newId('tok', 9),
      secret: newTokenSecret(),
      subject: `${this.#issuer}/callers/admin`,
      roles: ['admin'],
    });
  }

  /**
   * The configured bootstrap admin token (WAYBILL_ADMIN_TOKEN) is a stored token like any other,
   * so it is listed and can be revoked (a revoked one stays revoked while it is still configured).
   * Rows of a value no longer configured are revoked.
   */
  async syncBootstrap(now = new Date()): Promise<void> {
    const secret = this.#adminToken;
    const id = secret ? `${BOOTSTRAP_PREFIX}${sha256hex(secret).slice(0, 12)}` : undefined;
    if (secret && id) {
      await this.#tokens.insertOnce({
        id,
        sha256: sha256hex(secret),
        subject: `${this.#issuer}/callers/bootstrap-admin`,
        roles: ['admin'],
        createdAt: now,
      });
    }
    await this.#tokens.revokeFamily(BOOTSTRAP_PREFIX, id, now);
  }

  async list(opts: {
    cursor?: string | undefined;
    limit: number;
  }): Promise<{ items: TokenInfo[]; nextCursor: string | null }> {
    const page = await this.#tokens.page(opts.cursor, opts.limit);
    return { items: page.rows.map(toInfo), nextCursor: page.next };
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    const row = await this.#tokens.get(id);
    return row && toInfo(row);
  }

  /** Revoke; idempotent for a token already revoked, NOT_FOUND for an unknown id. */
  async revoke(id: string, now = new Date()): Promise<void> {
    if (!(await this.#tokens.revoke(id, now))) throw new AppError('NOT_FOUND', `no token with id ${id}`);
  }

  /** The caller a bearer secret stands for, or undefined for unknown, expired or revoked. */
  async authenticate(secret: string, now = new Date()): Promise<Caller | undefined> {
    // Hook (workload identity): an OIDC ID token is verified against WAYBILL_OIDC_CONFIG; it
    // throws 401/403 with the reason instead of answering undefined.
    if (looksLikeJwt(secret)) {
      if (!this.#workloads) throw new AppError('UNAUTHENTICATED', 'this waybill accepts no OIDC ID tokens');
      const caller = await this.#workloads.authenticate(secret, now);
      // A workload's provenance is bound to its verified claims (identity/provenance.ts) instead.
      return { ...caller, roles: caller.roles as Role[], builderIds: null };
    }
    if (secret.length > 512) return undefined;
    const row = await this.#tokens.active(sha256hex(secret), now);
    if (!row) return undefined;
    return {
      tokenId: row.id,
      subject: row.subject,
      roles: row.roles as Role[],
      issuer: null,
      environments: row.environments,
      builderIds: row.builderIds,
    };
  }

  /** Accept OIDC ID tokens from CI as callers (set once at wiring, when WAYBILL_OIDC_CONFIG is). */
  useWorkloads(workloads: WorkloadAuthenticator): void {
    this.#workloads = workloads;
  }

  /** Whether a usable admin token exists in storage. */
  async hasAdmin(now = new Date()): Promise<boolean> {
    return this.#tokens.hasActiveAdmin(now);
  }
}
