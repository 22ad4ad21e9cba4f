// Caller tokens, by id and by the SHA-256 of their secret (the secret itself is never stored).
import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { tokens } from './schema.ts';

export type TokenRow = typeof tokens.$inferSelect;

export interface ActiveToken {
  id: string;
  subject: string;
  roles: string[];
  environments: string[] | null;
  builderIds: string[] | null;
}

// Every authenticated request runs this: a prepared statement, without the query builder.
const ACTIVE_BY_HASH = `select id, subject, roles, environments, builder_ids from tokens
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

  async get(id: string): Promise<TokenRow | undefined> {
    const [row] = await this.#database.db.select().from(tokens).where(eq(tokens.id, id));
    return row;
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
  async active(sha256: string, now: Date): Promise<ActiveToken | undefined> {
    const [row] = await this.#database.sql.query<{
      id: string;
      subject: string;
      roles: string[];
      environments: string[] | null;
      builder_ids: string[] | null;
    }>(ACTIVE_BY_HASH, [sha256, now.toISOString()]);
    return row && { ...row, builderIds: row.builder_ids };
  }

  /** Revoke every token whose id starts with `prefix`, except `keep`; returns how many. */
  async revokeFamily(prefix: string, keep: string | undefined, now: Date): Promise<number> {
    const rows = await this.#database.sql.query(
      `update tokens set revoked_at = $3::timestamptz
       where starts_with(id, $1) and id <> coalesce($2, '') and revoked_at is null returning id`,
      [prefix, keep ?? null, now.toISOString()],
    );
    return rows.length;
  }

  /** Insert unless a token with this id exists (whatever its state). */
  async insertOnce(row: typeof tokens.$inferInsert): Promise<void> {
    await this.#database.db.insert(tokens).values(row).onConflictDoNothing();
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
