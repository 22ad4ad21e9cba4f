// Newest-first pages over a table with (created_at, id): the cursor is the previous page's last
// row, so a page never repeats or skips a row that was there when paging began.
import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';

export interface Cursor {
  createdAt: Date;
  id: string;
}

/** The condition for rows older than `cursor` (all rows without one). */
export function olderThan(cols: { createdAt: PgColumn; id: PgColumn }, cursor: Cursor | undefined): SQL | undefined {
  if (!cursor) return undefined;
  return or(lt(cols.createdAt, cursor.createdAt), and(eq(cols.createdAt, cursor.createdAt), lt(cols.id, cursor.id)));
}

/** A page of `limit` from `rows` read with `limit + 1`, and the cursor of the next page if there is one. */
export function pageOf<T extends Cursor>(rows: T[], limit: number): { rows: T[]; next: Cursor | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}
