// Caller tokens, by id and by the SHA-256 of their secret (the secret itself is never stored).
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Database } from './database.ts';
import { tokens } from './schema.ts';

export type TokenRow = typeof tokens.$inferSelect;

// Every authenticated request runs this: a prepared statement, without the query builder.
const ACTIVE_BY_HASH = `select id, subject, roles from tokens
  where sha256 = $1::text and revoked_at is null and (expires_at is null or expires_at > $2::timestamptz)
  limit 1`;

export class TokenRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async insert(row: typeof tokens.$inferInsert): Promise<TokenRow> {
    const [stored] = await this.#database.db.insert(tokens).values(row).returning();
    return stored!;
  }

  /** Tokens in id order after `after`; `next` is the cursor of the following page. */
  async page(after: string | undefined, limit: number): Promise<{ rows: TokenRow[]; next: string | null }> {
    const rows = await this.#database.db
      .select()
      .from(tokens)
      .where(after ? gt(tokens.id, after) : undefined)
      .orderBy(asc(tokens.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return { rows: page, next: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  /** Revoke (keeping the first revocation time); false for an unknown id. */
  async revoke(id: string, now: Date): Promise<boolean> {
    const rows = await this.#database.db
      .update(tokens)
      .set({ revokedAt: sql`coalesce(${tokens.revokedAt}, ${now.toISOString()}::timestamptz)` })
      .where(eq(tokens.id, id))
      .returning({ id: tokens.id });
    return rows.length > 0;
  }

  /** The unexpired, unrevoked token with this secret hash. */
  async active(sha256: string, now: Date): Promise<{ id: string; subject: string; roles: string[] } | undefined> {
    const [row] = await this.#database.sql.query<{ id: string; subject: string; roles: string[] }>(ACTIVE_BY_HASH, [
      sha256,
      now.toISOString(),
    ]);
    return row;
  }

  async hasActiveAdmin(now: Date): Promise<boolean> {
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
}
