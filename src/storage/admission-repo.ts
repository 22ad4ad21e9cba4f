// Admission decisions: one row per AdmissionReview answered.
import { desc } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { type Cursor, olderThan, pageOf } from './paging.ts';
import { admissionEvents } from './schema.ts';

export type AdmissionEventRow = typeof admissionEvents.$inferSelect;

export class AdmissionRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  /**
   * Record a decision without waiting for the WAL flush: one statement, whose own transaction sets
   * synchronous_commit off (set_config local to it). The API server is waiting on the answer; a
   * crash loses at most the last few hundred milliseconds of decision records, never a signed
   * record or a verdict.
   */
  async insert(row: AdmissionEventRow): Promise<AdmissionEventRow> {
    await this.#database.sql.query(
      'insert into admission_events (id, uid, namespace, environment, enforcement, operation, kind, name, ' +
        'decision, allowed, images, message, caller, created_at) ' +
        'select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::boolean, $11::jsonb, $12, $13, $14::timestamptz ' +
        "from (select set_config('synchronous_commit', 'off', true)) s",
      [
        row.id,
        row.uid,
        row.namespace,
        row.environment,
        row.enforcement,
        row.operation,
        row.kind,
        row.name,
        row.decision,
        row.allowed,
        JSON.stringify(row.images),
        row.message,
        row.caller,
        row.createdAt.toISOString(),
      ],
    );
    return row;
  }

  /**
   * Newest first; `before` is the (createdAt, id) of the last row of the previous page (rows are
   * written with a millisecond createdAt from the service's clock, so the cursor is exact).
   */
  async page(before: Cursor | undefined, limit: number): Promise<{ rows: AdmissionEventRow[]; next: Cursor | null }> {
    const rows = await this.#database.db
      .select()
      .from(admissionEvents)
      .where(olderThan(admissionEvents, before))
      .orderBy(desc(admissionEvents.createdAt), desc(admissionEvents.id))
      .limit(limit + 1);
    return pageOf(rows, limit);
  }
}
