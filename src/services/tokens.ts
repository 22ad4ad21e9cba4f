// Caller tokens: 256-bit random secrets of which only the SHA-256 is stored. A token is shown
// once, at creation. Lookups go by hash, so the secret never reaches the database or a log.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { TokenRepo, TokenRow } from '../storage/token-repo.ts';
import { sha256hex } from '../util/encoding.ts';
import { newId } from '../util/ids.ts';

export const ROLES = ['builder', 'tester', 'deployer', 'approver', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  tokenId: string;
  subject: string;
  roles: Role[];
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

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function toInfo(row: TokenRow): TokenInfo {
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
  readonly #tokens: TokenRepo;
  readonly #bootstrapHash: Buffer | undefined;
  readonly #bootstrapSubject: string;

  constructor(tokens: TokenRepo, opts: { adminToken?: string | undefined; issuer: string }) {
    this.#tokens = tokens;
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
    const row = await this.#tokens.insert({
      id: newId('tok', 9),
      sha256: sha256hex(token),
      subject: input.subject,
      roles: [...new Set(input.roles)].sort(),
      createdAt: now,
      expiresAt: input.expiresInMs ? new Date(now.getTime() + input.expiresInMs) : null,
    });
    return { ...toInfo(row), token };
  }

  async list(opts: {
    cursor?: string | undefined;
    limit: number;
  }): Promise<{ items: TokenInfo[]; nextCursor: string | null }> {
    const page = await this.#tokens.page(opts.cursor, opts.limit);
    return { items: page.rows.map(toInfo), nextCursor: page.next };
  }

  /** Revoke; idempotent for a token already revoked, NOT_FOUND for an unknown id. */
  async revoke(id: string, now = new Date()): Promise<void> {
    if (!(await this.#tokens.revoke(id, now))) throw new AppError('NOT_FOUND', `no token with id ${id}`);
  }

  /** The caller a bearer secret stands for, or undefined for unknown, expired or revoked. */
  async authenticate(secret: string, now = new Date()): Promise<Caller | undefined> {
    if (this.#bootstrapHash) {
      const h = createHash('sha256').update(secret).digest();
      if (timingSafeEqual(h, this.#bootstrapHash)) {
        return { tokenId: BOOTSTRAP_TOKEN_ID, subject: this.#bootstrapSubject, roles: ['admin'] };
      }
    }
    if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 128) return undefined;
    const row = await this.#tokens.active(sha256hex(secret), now);
    if (!row) return undefined;
    return { tokenId: row.id, subject: row.subject, roles: row.roles as Role[] };
  }

  /** Whether a usable admin token exists in storage. */
  async hasAdmin(now = new Date()): Promise<boolean> {
    return this.#tokens.hasActiveAdmin(now);
  }

  get bootstrapSubject(): string {
    return this.#bootstrapSubject;
  }
}
