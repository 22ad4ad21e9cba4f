// Admission decisions: one row per AdmissionReview answered.
import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { admissionEvents } from './schema.ts';

export type AdmissionEventRow = typeof admissionEvents.$inferSelect;

export class AdmissionRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  /**
   * Record a decision without waiting for the WAL flush (synchronous_commit off for this
   * transaction only): the API server is waiting on the answer, and a crash loses at most the
   * last few hundred milliseconds of decision records, never a signed record or a verdict.
   */
  async insert(row: typeof admissionEvents.$inferInsert): Promise<AdmissionEventRow> {
    return this.#database.db.transaction(async (tx) => {
      await tx.execute(sql`set local synchronous_commit = off`);
      const [stored] = await tx.insert(admissionEvents).values(row).returning();
      return stored!;
    });
  }

  /**
   * Newest first; `before` is the (createdAt, id) of the last row of the previous page (rows are
   * written with a millisecond createdAt from the service's clock, so the cursor is exact).
   */
  async page(
    before: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<{ rows: AdmissionEventRow[]; next: { createdAt: Date; id: string } | null }> {
    const { createdAt, id } = admissionEvents;
    const rows = await this.#database.db
      .select()
      .from(admissionEvents)
      .where(
        before
          ? or(lt(createdAt, before.createdAt), and(eq(createdAt, before.createdAt), lt(id, before.id)))
          : undefined,
      )
      .orderBy(desc(createdAt), desc(id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { rows: page, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }
}
