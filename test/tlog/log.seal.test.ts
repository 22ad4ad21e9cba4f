// Data logged before waybill kept SETs and subject index heads (an upgrade) is sealed once at
// start-up; after that verdicts and the drift report treat it like any other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import type { Json } from '../helpers/json.ts';
import { mintCallers, pipeline, promotionStory } from '../helpers/story.ts';

describe.each(backends)('sealing older data on $name', (backend) => {
  let database: Database;
  beforeAll(async () => {
    database = await backend.open();
  });
  afterAll(async () => database.close());

  it('signs the SETs and index heads an older version did not keep, once', async () => {
    const t = await testApp(database);
    const c = await mintCallers(t);
    const story = await promotionStory(t, c);
    // As an older waybill left it: no SETs, no heads.
    await database.sql.query('update log_entries set set = null');
    await database.sql.query('delete from subject_heads');
    const size = (await t.deps.log.checkpoint()).treeSize;
    const [{ n }] = (await database.sql.query('select count(distinct digest)::int as n from attestation_subjects')) as [
      { n: number },
    ];
    // Restarted on that data: sealed before anything else is logged.
    const restarted = await testApp(database, { WAYBILL_DATA_DIR: t.config.dataDir });
    expect(await restarted.deps.log.seal()).toEqual({ sets: size, heads: n });
    expect(await restarted.deps.log.seal()).toEqual({ sets: 0, heads: 0 });
    const again = await pipeline(restarted, c).verdict(story.promoted, 'production');
    expect(again.body.decision, JSON.stringify(again.body.reasons)).toBe('allow');
    const drift = (await (await restarted.call('GET', '/v1/reports/drift', { token: c.auditor })).json()) as Json;
    expect(drift.integrity.findings).toEqual([]);
  });
});
