// Verdicts: one row per decision, pointing at the VSA that was signed for it.
import { and, asc, desc, eq, gt, gte, inArray, lte } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { verdicts } from './schema.ts';

export type VerdictRow = typeof verdicts.$inferSelect;

export class VerdictRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async insert(row: typeof verdicts.$inferInsert): Promise<VerdictRow> {
    const [stored] = await this.#database.db.insert(verdicts).values(row).returning();
    return stored!;
  }

  async get(id: string): Promise<VerdictRow | undefined> {
    const [row] = await this.#database.db.select().from(verdicts).where(eq(verdicts.id, id));
    return row;
  }

  /** Every verdict, oldest first. */
  async all(): Promise<VerdictRow[]> {
    return this.#database.db.select().from(verdicts).orderBy(asc(verdicts.createdAt), asc(verdicts.id));
  }

  /** A digest's verdicts, oldest first. */
  /** (At most the latest `limit`, when given.) */
  async ofDigest(digest: string, limit?: number): Promise<VerdictRow[]> {
    return this.#database.db
      .select()
      .from(verdicts)
      .where(eq(verdicts.digest, digest))
      .orderBy(desc(verdicts.createdAt), desc(verdicts.id))
      .limit(limit ?? Number.MAX_SAFE_INTEGER)
      .then((rows) => rows.reverse());
  }

  /** Which of `digests` hold an allow verdict for `environment` that has not expired at `now` (null: ever). */
  async allowedAmong(digests: readonly string[], environment: string, now: Date | null): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const rows = await this.#database.db
      .selectDistinct({ digest: verdicts.digest })
      .from(verdicts)
      .where(
        and(
          inArray(verdicts.digest, [...digests]),
          eq(verdicts.environment, environment),
          eq(verdicts.decision, 'allow'),
          now ? gt(verdicts.expiresAt, now) : undefined,
        ),
      );
    return new Set(rows.map((r) => r.digest));
  }

  /** The environments where `digest` holds an allow verdict that has not expired at `now`. */
  async allowedEnvironments(digest: string, now: Date): Promise<string[]> {
    const rows = await this.#database.db
      .selectDistinct({ environment: verdicts.environment })
      .from(verdicts)
      .where(and(eq(verdicts.digest, digest), eq(verdicts.decision, 'allow'), gt(verdicts.expiresAt, now)));
    return rows.map((r) => r.environment).sort();
  }

  /** The verdicts for `environments` made in [since, until], oldest first. */
  async between(since: Date, until: Date, environments: readonly string[]): Promise<VerdictRow[]> {
    if (environments.length === 0) return [];
    return this.#database.db
      .select()
      .from(verdicts)
      .where(
        and(
          gte(verdicts.createdAt, since),
          lte(verdicts.createdAt, until),
          inArray(verdicts.environment, [...environments]),
        ),
      )
      .orderBy(asc(verdicts.createdAt), asc(verdicts.id));
  }
}
