// The log's stats hook, what bench/profile.ts reads: every batch and every append is reported
// while someone observes, and nothing after they stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import type { BatchStats } from '../../src/tlog/stats.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { provenanceStatement } from '../helpers/statements.ts';

describe.each(backends)('log stats on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
  });
  afterAll(async () => database.close());

  it('reports each batch (its items, path and record callbacks) and each append until stopped', async () => {
    const batches: BatchStats[] = [];
    const appends: number[] = [];
    const stop = t.deps.log.observe({ batch: (b) => batches.push(b), append: (ms) => appends.push(ms) });
    const n = 12;
    await Promise.all(
      Array.from({ length: n }, () => t.deps.attest.sign(provenanceStatement(), 'https://ci.example/x')),
    );
    stop();
    expect(appends).toHaveLength(n);
    expect(batches.reduce((sum, b) => sum + b.items, 0)).toBe(n);
    expect(batches.reduce((sum, b) => sum + b.records, 0)).toBeGreaterThanOrEqual(n);
    for (const b of batches) expect(b.flight?.outcome === 'written' || b.locked !== undefined).toBe(true);

    await t.deps.attest.sign(provenanceStatement(), 'https://ci.example/x');
    expect(appends).toHaveLength(n);
  });
});
