// Web UI sessions in storage: found only while unexpired and unrevoked, gone once deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { UiSessionRepo } from '../../src/storage/ui-session-repo.ts';
import { backends } from '../helpers/db.ts';

describe.each(backends)('UiSessionRepo ($name)', (backend) => {
  let db: Database;
  let repo: UiSessionRepo;
  const now = new Date('2026-12-03T12:00:00Z');
  const row = (id: string, expiresAt: Date, revokedAt: Date | null = null) => ({
    id,
    tokenId: 'tok_x',
    caller: { subject: 'https://people.example.com/a', roles: ['auditor'] },
    csrf: `csrf-${id}`,
    createdAt: now,
    expiresAt,
    revokedAt,
  });

  beforeAll(async () => {
    db = await backend.open();
    repo = new UiSessionRepo(db);
  });
  afterAll(async () => db.close());

  it('finds an unexpired session by id with its caller and CSRF secret', async () => {
    await repo.insert(row('s-live', new Date(now.getTime() + 60_000)));
    const found = await repo.active('s-live', now);
    expect(found?.csrf).toBe('csrf-s-live');
    expect(found?.caller).toEqual({ subject: 'https://people.example.com/a', roles: ['auditor'] });
  });

  it('does not find an expired or revoked session, nor an unknown id', async () => {
    await repo.insert(row('s-old', new Date(now.getTime() - 1)));
    await repo.insert(row('s-revoked', new Date(now.getTime() + 60_000), now));
    expect(await repo.active('s-old', now)).toBeUndefined();
    expect(await repo.active('s-revoked', now)).toBeUndefined();
    expect(await repo.active('nope', now)).toBeUndefined();
  });

  it('deletes one session, and every expired one', async () => {
    await repo.insert(row('s-gone', new Date(now.getTime() + 60_000)));
    await repo.delete('s-gone');
    expect(await repo.active('s-gone', now)).toBeUndefined();
    expect(await repo.deleteExpired(now)).toBe(1); // s-old
    expect(await repo.active('s-live', now)).toBeDefined();
  });
});
