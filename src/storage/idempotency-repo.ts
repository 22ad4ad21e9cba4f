// Idempotency keys: per caller, the request a key was first used with and what it created. A key
// is reserved (status null) before the request's work starts and completed after it.
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { idempotencyKeys } from './schema.ts';

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;

export class IdempotencyRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async get(callerSubject: string, key: string): Promise<IdempotencyRow | undefined> {
    const [row] = await this.#database.db.select().from(idempotencyKeys).where(this.#key(callerSubject, key));
    return row;
  }

  /** Reserve the key for a request; false when a row for it exists already. */
  async reserve(row: { callerSubject: string; key: string; route: string; requestSha256: string; now: Date }) {
    const inserted = await this.#database.db
      .insert(idempotencyKeys)
      .values({ ...row, createdAt: row.now })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    return inserted.length === 1;
  }

  /** Take over a reservation left unfinished since before `staleBefore` (its request died). */
  async takeOver(callerSubject: string, key: string, staleBefore: Date, now: Date): Promise<boolean> {
    const rows = await this.#database.db
      .update(idempotencyKeys)
      .set({ createdAt: now })
      .where(
        and(this.#key(callerSubject, key), isNull(idempotencyKeys.status), lt(idempotencyKeys.createdAt, staleBefore)),
      )
      .returning({ key: idempotencyKeys.key });
    return rows.length === 1;
  }

  async complete(callerSubject: string, key: string, status: number, resource: string): Promise<void> {
    await this.#database.db
      .update(idempotencyKeys)
      .set({ status, resource })
      .where(and(this.#key(callerSubject, key), isNull(idempotencyKeys.status)));
  }

  /** Give a reservation back (its request failed, having stored nothing). */
  async release(callerSubject: string, key: string): Promise<void> {
    await this.#database.db
      .delete(idempotencyKeys)
      .where(and(this.#key(callerSubject, key), isNull(idempotencyKeys.status)));
  }

  #key(callerSubject: string, key: string) {
    return and(eq(idempotencyKeys.callerSubject, callerSubject), eq(idempotencyKeys.key, key));
  }
}
