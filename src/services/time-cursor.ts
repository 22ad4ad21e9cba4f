// The cursor of a newest-first list over (created_at, id) (storage/paging.ts): `<created at
// ms>.<id>` of the page's last row. Ids carry their kind's prefix, so one list's cursor is not
// another's.
import { AppError } from '../errors.ts';
import type { Cursor } from '../storage/paging.ts';

export const encodeTimeCursor = (c: Cursor | null): string | null => (c ? `${c.createdAt.getTime()}.${c.id}` : null);

/** The position `cursor` names, for ids with `idPrefix`; no cursor: the first page. */
export function decodeTimeCursor(cursor: string | undefined, idPrefix: string): Cursor | undefined {
  if (!cursor) return undefined;
  const m = new RegExp(`^([0-9]{1,15})\\.(${idPrefix}_[A-Za-z0-9_-]{1,40})$`).exec(cursor);
  if (!m) {
    throw new AppError('VALIDATION_FAILED', 'the query parameter cursor is not a cursor this list gave', {
      errors: [{ path: '/query/cursor', message: 'use the nextCursor of the previous page' }],
    });
  }
  return { createdAt: new Date(Number(m[1])), id: m[2]! };
}
