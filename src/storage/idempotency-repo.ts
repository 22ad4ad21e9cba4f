// Idempotency keys: per caller, the request a key was first used with and the answer it got.
import { and, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { idempotencyKeys } from './schema.ts';

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;

export class IdempotencyRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async get(callerSubject: string, key: string): Promise<IdempotencyRow | undefined> {
    const [row] = await this.#database.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.callerSubject, callerSubject), eq(idempotencyKeys.key, key)));
    return row;
  }

  /** Store the key's first use; a concurrent first use of the same key keeps its own row. */
  async insert(row: typeof idempotencyKeys.$inferInsert): Promise<void> {
    await this.#database.db.insert(idempotencyKeys).values(row).onConflictDoNothing();
  }
}
