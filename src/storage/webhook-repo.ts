// The webhook outbox: deliveries waiting, claimed, delivered or given up.
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { type Cursor, olderThan, pageOf } from './paging.ts';
import { webhookOutbox } from './schema.ts';

export type DeliveryRow = typeof webhookOutbox.$inferSelect;

export class WebhookRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async enqueue(rows: Array<typeof webhookOutbox.$inferInsert>): Promise<void> {
    if (rows.length > 0) await this.#database.db.insert(webhookOutbox).values(rows);
  }

  /**
   * Up to `limit` due pending deliveries, each leased until `leaseUntil` (pushed out of "due"), so
   * another dispatcher skips them now and retries them if this one dies before it says how the
   * delivery went. Rows another transaction holds are skipped, not waited for.
   */
  async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<DeliveryRow[]> {
    return this.#database.db.transaction(async (tx) => {
      const due = await tx
        .select({ id: webhookOutbox.id })
        .from(webhookOutbox)
        .where(and(eq(webhookOutbox.status, 'pending'), sql`${webhookOutbox.nextAttemptAt} <= ${now}`))
        .orderBy(webhookOutbox.nextAttemptAt)
        .limit(limit)
        .for('update', { skipLocked: true });
      if (due.length === 0) return [];
      return tx
        .update(webhookOutbox)
        .set({ nextAttemptAt: leaseUntil })
        .where(
          inArray(
            webhookOutbox.id,
            due.map((d) => d.id),
          ),
        )
        .returning();
    });
  }

  async delivered(id: string, attempts: number, at: Date): Promise<void> {
    await this.#database.db
      .update(webhookOutbox)
      .set({ status: 'delivered', attempts, deliveredAt: at, lastError: null })
      .where(eq(webhookOutbox.id, id));
  }

  /** A failed attempt: retried at `nextAttemptAt`, or given up (status failed) when null. */
  async attemptFailed(id: string, attempts: number, error: string, nextAttemptAt: Date | null): Promise<void> {
    await this.#database.db
      .update(webhookOutbox)
      .set({
        attempts,
        lastError: error,
        ...(nextAttemptAt ? { nextAttemptAt } : { status: 'failed' as const }),
      })
      .where(eq(webhookOutbox.id, id));
  }

  /** Newest first; `before` is the (createdAt, id) of the previous page's last row. */
  async page(before: Cursor | undefined, limit: number): Promise<{ rows: DeliveryRow[]; next: Cursor | null }> {
    const rows = await this.#database.db
      .select()
      .from(webhookOutbox)
      .where(olderThan(webhookOutbox, before))
      .orderBy(desc(webhookOutbox.createdAt), desc(webhookOutbox.id))
      .limit(limit + 1);
    return pageOf(rows, limit);
  }
}
