// Caller tokens: 256-bit random secrets of which only the SHA-256 is stored. A token is shown
// once, at creation. Lookups go by hash, so the secret never reaches the database or a log.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { AppError } from '../errors.ts';
import type { WorkloadAuthenticator } from '../identity/authenticate.ts';
import { looksLikeJwt } from '../identity/token.ts';
import type { RoleScope, Workload } from '../identity/types.ts';
import type { Database } from '../storage/database.ts';
import { tokens } from '../storage/schema.ts';

export const ROLES = ['builder', 'tester', 'deployer', 'approver', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  tokenId: string;
  subject: string;
  roles: Role[];
  /** The certificate issuer to sign with; null = waybill's own issuer (bearer tokens). */
  issuer: string | null;
  /** The environments the caller may act for; null = unrestricted (see identity/grants.ts assertMayActFor). */
  environments: readonly string[] | null;
  /** Per-grant roles and environments of a workload (identity/grants.ts environmentsFor). */
  scopes?: readonly RoleScope[];
  /** A caller authenticated by a CI's OIDC ID token: its verified claims and what they imply. */
  workload?: Workload;
}

export interface TokenInfo {
  id: string;
  subject: string;
  roles: Role[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export const TOKEN_PREFIX = 'wb_';
export const BOOTSTRAP_TOKEN_ID = 'bootstrap';

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function toInfo(row: typeof tokens.$inferSelect): TokenInfo {
  return {
    id: row.id,
    subject: row.subject,
    roles: row.roles as Role[],
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export class TokenService {
  readonly #database: Database;
  readonly #bootstrapHash: Buffer | undefined;
  readonly #bootstrapSubject: string;
  #workloads: WorkloadAuthenticator | undefined;

  constructor(database: Database, opts: { adminToken?: string | undefined; issuer: string }) {
    this.#database = database;
    this.#bootstrapHash = opts.adminToken ? createHash('sha256').update(opts.adminToken).digest() : undefined;
    this.#bootstrapSubject = `${opts.issuer}/callers/bootstrap-admin`;
  }

  async create(input: {
    subject: string;
    roles: Role[];
    expiresInMs?: number | undefined;
    now?: Date;
  }): Promise<TokenInfo & { token: string }> {
    const now = input.now ?? new Date();
    const token = newTokenSecret();
    const [row] = await this.#database.db
      .insert(tokens)
      .values({
        id: `tok_${randomBytes(9).toString('base64url')}`,
        sha256: sha256hex(token),
        subject: input.subject,
        roles: [...new Set(input.roles)].sort(),
        createdAt: now,
        expiresAt: input.expiresInMs ? new Date(now.getTime() + input.expiresInMs) : null,
      })
      .returning();
    return { ...toInfo(row!), token };
  }

  async list(opts: {
    cursor?: string | undefined;
    limit: number;
  }): Promise<{ items: TokenInfo[]; nextCursor: string | null }> {
    const rows = await this.#database.db
      .select()
      .from(tokens)
      .where(opts.cursor ? gt(tokens.id, opts.cursor) : undefined)
      .orderBy(asc(tokens.id))
      .limit(opts.limit + 1);
    const items = rows.slice(0, opts.limit).map(toInfo);
    return { items, nextCursor: rows.length > opts.limit ? items[items.length - 1]!.id : null };
  }

  /** Revoke; idempotent for a token already revoked, NOT_FOUND for an unknown id. */
  async revoke(id: string, now = new Date()): Promise<void> {
    const rows = await this.#database.db
      .update(tokens)
      .set({ revokedAt: sql`coalesce(${tokens.revokedAt}, ${now.toISOString()}::timestamptz)` })
      .where(eq(tokens.id, id))
      .returning({ id: tokens.id });
    if (rows.length === 0) throw new AppError('NOT_FOUND', `no token with id ${id}`);
  }

  /** The caller a bearer secret stands for, or undefined for unknown, expired or revoked. */
  async authenticate(secret: string, now = new Date()): Promise<Caller | undefined> {
    if (this.#bootstrapHash) {
      const h = createHash('sha256').update(secret).digest();
      if (timingSafeEqual(h, this.#bootstrapHash)) {
        return {
          tokenId: BOOTSTRAP_TOKEN_ID,
          subject: this.#bootstrapSubject,
          roles: ['admin'],
          issuer: null,
          environments: null,
        };
      }
    }
    // Hook (workload identity): an OIDC ID token is verified against WAYBILL_OIDC_CONFIG; it
    // throws 401/403 with the reason instead of answering undefined.
    if (looksLikeJwt(secret)) {
      if (!this.#workloads) throw new AppError('UNAUTHENTICATED', 'this waybill accepts no OIDC ID tokens');
      const caller = await this.#workloads.authenticate(secret, now);
      return { ...caller, roles: caller.roles as Role[] };
    }
    if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 128) return undefined;
    // Every authenticated request runs this: a prepared statement, without the query builder.
    const [row] = await this.#database.sql.query<{ id: string; subject: string; roles: string[] }>(
      `select id, subject, roles from tokens
       where sha256 = $1::text and revoked_at is null and (expires_at is null or expires_at > $2::timestamptz)
       limit 1`,
      [sha256hex(secret), now.toISOString()],
    );
    if (!row) return undefined;
    return { tokenId: row.id, subject: row.subject, roles: row.roles as Role[], issuer: null, environments: null };
  }

  /** Accept OIDC ID tokens from CI as callers (set once at wiring, when WAYBILL_OIDC_CONFIG is). */
  useWorkloads(workloads: WorkloadAuthenticator): void {
    this.#workloads = workloads;
  }

  /** Whether a usable admin token exists in storage. */
  async hasAdmin(now = new Date()): Promise<boolean> {
    const rows = await this.#database.db
      .select({ id: tokens.id })
      .from(tokens)
      .where(
        and(
          sql`'admin' = any(${tokens.roles})`,
          isNull(tokens.revokedAt),
          or(isNull(tokens.expiresAt), gt(tokens.expiresAt, now)),
        ),
      )
      .limit(1);
    return rows.length > 0;
  }

  get bootstrapSubject(): string {
    return this.#bootstrapSubject;
  }
}
