// The environments board: what runs where, since when, who deployed it, its verdict and whether
// its chain verifies; what waits for the next stage; an empty installation says what to do first.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { sha256 } from '../helpers/statements.ts';
import { type Callers, mintCallers, pipeline, promotionStory, type Story } from '../helpers/story.ts';
import { uiClient } from '../helpers/ui.ts';

describe.each(backends)('the environments board ($name)', (backend) => {
  let db: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let story: Story;
  let ui: ReturnType<typeof uiClient>;

  beforeAll(async () => {
    db = await backend.open();
    t = await testApp(db);
    c = await mintCallers(t);
    ui = uiClient(t);
  });
  afterAll(async () => db.close());

  it('tells a new installation the first command to run', async () => {
    const { res, html } = await ui.page('/ui', await ui.signIn(c.auditor));
    expect(res.status).toBe(200);
    expect(html).toContain('waybill attest provenance');
    expect(html).toContain('Nothing deployed yet');
  });

  it('shows each environment in promotion order with what runs there and whether its chain verifies', async () => {
    story = await promotionStory(t, c);
    // allowed for production, not deployed: waiting in the staging column
    const p = pipeline(t, c);
    const waiting = sha256(randomBytes(8));
    await p.build(waiting, { commit: sha256(waiting).slice(0, 40) });
    await p.promote(waiting, 'dev');
    await p.tested(waiting, 'dev', 'PASSED');
    await p.promote(waiting, 'staging');
    await p.tested(waiting, 'staging', 'PASSED');
    const v = await p.verdict(waiting, 'production');
    expect(v.body.decision).toBe('allow');
    const { html } = await ui.page('/ui', await ui.signIn(c.auditor));
    const dev = html.indexOf('id="env-dev"');
    const staging = html.indexOf('id="env-staging"');
    const production = html.indexOf('id="env-production"');
    expect(dev).toBeGreaterThan(0);
    expect(staging).toBeGreaterThan(dev);
    expect(production).toBeGreaterThan(staging);
    const prod = html.slice(production);
    expect(prod).toContain(`sha256:${story.promoted.slice(0, 12)}`);
    expect(prod).toContain('https://cd.example.com/deployer');
    expect(prod).toContain('✓ verified');
    expect(prod).toContain('ghcr.io/example/app');
    const stagingColumn = html.slice(staging, production);
    expect(stagingColumn).toContain(`sha256:${waiting.slice(0, 12)}`);
    expect(stagingColumn.slice(stagingColumn.indexOf('Waiting for production'))).toContain(
      `sha256:${waiting.slice(0, 12)}</code></a> allowed`,
    );
    expect(html).toContain('As of');
    expect(html).not.toContain('waybill attest provenance');
  });
});
