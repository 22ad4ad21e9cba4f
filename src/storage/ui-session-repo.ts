// Web UI sessions by the SHA-256 of their cookie value (the value itself is never stored).
import { and, eq, gt, isNull, lte } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { uiSessions } from './schema.ts';

export type UiSessionRow = typeof uiSessions.$inferSelect;

export class UiSessionRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async insert(row: typeof uiSessions.$inferInsert): Promise<void> {
    await this.#database.db.insert(uiSessions).values(row);
  }

  /** The unexpired, unrevoked session with this id. */
  async active(id: string, now: Date): Promise<UiSessionRow | undefined> {
    const [row] = await this.#database.db
      .select()
      .from(uiSessions)
      .where(and(eq(uiSessions.id, id), isNull(uiSessions.revokedAt), gt(uiSessions.expiresAt, now)));
    return row;
  }

  /** Sign-out: the row is gone, so the cookie is worth nothing even if it was copied. */
  async delete(id: string): Promise<void> {
    await this.#database.db.delete(uiSessions).where(eq(uiSessions.id, id));
  }

  /** Remove sessions that expired before `now`; returns how many. */
  async deleteExpired(now: Date): Promise<number> {
    const rows = await this.#database.db
      .delete(uiSessions)
      .where(lte(uiSessions.expiresAt, now))
      .returning({ id: uiSessions.id });
    return rows.length;
  }
}
