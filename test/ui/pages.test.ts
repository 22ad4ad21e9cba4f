// The pages after a promotion story and a rebuild: the passport's timeline with verified bundles,
// the diff, the exception inbox (approve as two approvers, never as the requester or a builder),
// the log and the policies.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { sha256 } from '../helpers/statements.ts';
import { type Callers, mintCallers, pipeline, type Story } from '../helpers/story.ts';
import { changedRebuild, pendingRebuild, uiClient } from '../helpers/ui.ts';

describe.each(backends)('web UI pages ($name)', (backend) => {
  let db: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let story: Story;
  let ui: ReturnType<typeof uiClient>;
  let rebuild: string;
  let exceptionId: string;
  let second: string;

  beforeAll(async () => {
    db = await backend.open();
    t = await testApp(db);
    c = await mintCallers(t);
    ui = uiClient(t);
    ({ story, rebuild, exceptionId, second } = await pendingRebuild(t, c));
  }, 60_000);
  afterAll(async () => db.close());

  it("shows a digest's passport: provenance, tests, verdicts with rules, deployments, bundles verified", async () => {
    const { res, html } = await ui.page(`/ui/artifacts/sha256:${story.promoted}`, await ui.signIn(c.auditor));
    expect(res.status).toBe(200);
    expect(html).toContain('https://ci.example.com/builder/v1'); // builder
    expect(html).toContain('git+https://github.com/example/app');
    expect(html).toContain(`<code>${sha256(story.promoted).slice(0, 12)}</code>`); // source commit
    expect(html).toContain('PASSED</span> in <strong>dev</strong>');
    expect(html).toContain('PASSED</span> in <strong>staging</strong>');
    expect(html).toContain('<code>has-provenance</code>');
    expect(html).toContain('Deployed to <strong>production</strong> by https://cd.example.com/deployer');
    expect(html).toContain('signed by <strong>https://ci.example.com/pipelines/build</strong>');
    expect(html).toMatch(/log index <a href="\/v1\/log\/entries\/0">#0<\/a>/);
    expect(html).toContain('Evidence chain: <span class="badge ok">✓ verified</span>');
    const verifiedItems = html.match(/✓ bundle and inclusion proof verified/g) ?? [];
    expect(verifiedItems.length).toBeGreaterThanOrEqual(9); // provenance, 2 tests, 3 verdicts, 3 deployments
    expect(html).not.toContain('✗');
    expect(html).toContain(`href="/ui/artifacts/sha256:${story.promoted}/evidence"`);
    expect(html).toContain('Rebuilt as');
  });

  it('offers bundle downloads to anyone signed in and the evidence pack to auditors only', async () => {
    const auditor = await ui.signIn(c.auditor);
    const { html } = await ui.page(`/ui/artifacts/sha256:${story.promoted}`, auditor);
    const bundle = /href="(\/ui\/attestations\/[0-9a-f]{64}\/bundle)"/.exec(html)![1]!;
    const tester = await ui.signIn(c.tester);
    const b = await ui.get(bundle, tester);
    expect(b.status).toBe(200);
    expect(((await b.json()) as { mediaType: string }).mediaType).toMatch(/sigstore\.bundle/);
    const pack = await ui.get(`/ui/artifacts/sha256:${story.promoted}/evidence`, auditor);
    expect(pack.status).toBe(200);
    expect(((await pack.json()) as { manifest: { digest: string } }).manifest.digest).toBe(`sha256:${story.promoted}`);
    expect((await ui.get(`/ui/artifacts/sha256:${story.promoted}/evidence`, tester)).status).toBe(403);
    const { html: testerView } = await ui.page(`/ui/artifacts/sha256:${story.promoted}`, tester);
    expect(testerView).not.toContain('/evidence"');
  });

  it('says when nothing is known about a digest, and what to run first', async () => {
    const { res, html } = await ui.page(`/ui/artifacts/sha256:${'0'.repeat(64)}`, await ui.signIn(c.auditor));
    expect(res.status).toBe(404);
    expect(html).toContain('waybill attest provenance');
    expect((await ui.get('/ui/artifacts/not-a-digest', await ui.signIn(c.auditor))).status).toBe(400);
  });

  it('shows the rebuild diff grouped by kind with its summary and checklist', async () => {
    const { res, html } = await ui.page(
      `/ui/artifacts/sha256:${story.promoted}/diff/sha256:${rebuild}`,
      await ui.signIn(c.approver),
    );
    expect(res.status).toBe(200);
    for (const group of ['Dependencies', 'Base images', 'Builder', 'Parameters', 'Metadata'])
      expect(html).toContain(`<h2>${group} <span class="muted">`);
    expect(html).toContain('rebuild: same source');
    expect(html).toContain('<strong>same-builder</strong>');
    // the changes, highlighted: an added dependency, a changed parameter
    expect(html).toMatch(/<span class="badge ok">added<\/span><\/td>\s*<th scope="row">lodash<\/th>/);
    expect(html).toContain('<ins>4.17.21</ins>');
    expect(html).toContain('<del>refs/heads/main</del>');
    expect(html).toContain('<ins>refs/heads/hotfix</ins>');
    const summary = (await t.deps.rebuilds.diff(`sha256:${story.promoted}`, `sha256:${rebuild}`)).diff.summary;
    expect(html).toContain(summary.replaceAll('>', '&gt;'));
    expect(html).toContain(exceptionId);
  });

  it('shows a builder the pending exception but no approve button', async () => {
    const { html } = await ui.page('/ui/exceptions', await ui.signIn(c.builder));
    expect(html).toContain(exceptionId);
    expect(html).toContain('the registry lost the original image');
    expect(html).not.toContain('Approve exception');
    expect(html).toContain('only approvers may approve');
  });

  it('refuses an approval posted by a builder even with a valid CSRF token', async () => {
    const session = await ui.signIn(c.builder);
    const { csrf } = await ui.page('/ui/exceptions', session);
    const res = await ui.post(`/ui/exceptions/${exceptionId}/approve`, { csrf: csrf! }, { cookie: session });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('only approvers');
  });

  it('approves as two approvers through the page: the exception is signed and the rebuild allowed', async () => {
    const first = await ui.signIn(c.approver);
    const page1 = await ui.page('/ui/exceptions', first);
    expect(page1.html).toContain(`Approve exception ${exceptionId}`);
    const noToken = await ui.post(`/ui/exceptions/${exceptionId}/approve`, {}, { cookie: first });
    expect(noToken.status).toBe(403);
    const r1 = await ui.post(`/ui/exceptions/${exceptionId}/approve`, { csrf: page1.csrf! }, { cookie: first });
    expect(r1.status).toBe(200);
    const after1 = await r1.text();
    expect(after1).toContain('Your approval of');
    expect(after1).toContain('you approved it already');
    const twice = await ui.post(`/ui/exceptions/${exceptionId}/approve`, { csrf: page1.csrf! }, { cookie: first });
    expect(twice.status).toBe(409);

    const next = await ui.signIn(second);
    const page2 = await ui.page('/ui/exceptions', next);
    const r2 = await ui.post(`/ui/exceptions/${exceptionId}/approve`, { csrf: page2.csrf! }, { cookie: next });
    expect(r2.status).toBe(200);
    const after2 = await r2.text();
    expect(after2).toContain(`Exception ${exceptionId} is approved and signed`);
    expect(after2).toContain('No pending exceptions');
    expect(after2.slice(after2.indexOf('<h2>Decided'))).toContain(exceptionId);

    const verdict = await pipeline(t, c).verdict(rebuild, 'production');
    expect(verdict.body.decision, JSON.stringify(verdict.body.reasons)).toBe('allow');
  });

  it('does not let the requester approve', async () => {
    const p = pipeline(t, c);
    const again = sha256(randomBytes(16));
    await p.build(again, { commit: sha256(story.promoted).slice(0, 40) });
    const requester = await t.mint(['deployer', 'approver'], 'https://people.example.com/both');
    const req = await p.post('/v1/rebuild-exceptions', requester, {
      original: `sha256:${story.promoted}`,
      rebuild: `sha256:${again}`,
      environment: 'production',
      reason: 'rebuilt again from the same commit for the record',
    });
    expect(req.status).toBe(201);
    const session = await ui.signIn(requester);
    const { html, csrf } = await ui.page('/ui/exceptions', session);
    expect(html).toContain('you requested it');
    expect(html).not.toContain(`Approve exception ${req.body.id}`);
    const res = await ui.post(`/ui/exceptions/${req.body.id}/approve`, { csrf: csrf! }, { cookie: session });
    expect(res.status).toBe(403);
  });

  it('rejects through the page with a reason: signed, shown as decided, and the rebuild stays denied', async () => {
    const p = pipeline(t, c);
    const other = sha256(randomBytes(16));
    await changedRebuild(p, c.builder, other, story.promoted);
    const req = await p.post('/v1/rebuild-exceptions', c.deployer, {
      original: `sha256:${story.promoted}`,
      rebuild: `sha256:${other}`,
      environment: 'production',
      reason: 'rebuilt on a runner nobody recognises',
    });
    expect(req.status).toBe(201);
    const id: string = req.body.id;

    const builder = await ui.signIn(c.builder);
    const builderView = await ui.page('/ui/exceptions', builder);
    expect(builderView.html).toContain(id);
    expect(builderView.html).not.toContain(`Reject exception ${id}`);
    const byBuilder = await ui.post(
      `/ui/exceptions/${id}/reject`,
      { csrf: builderView.csrf!, reason: 'not mine to say' },
      { cookie: builder },
    );
    expect(byBuilder.status).toBe(403);
    expect(await byBuilder.text()).toContain('only approvers');

    const session = await ui.signIn(c.approver);
    const { html, csrf } = await ui.page('/ui/exceptions', session);
    expect(html).toContain(`Reject exception ${id}`);
    expect(html).toContain(`<label for="reason-${id}">`);
    const noToken = await ui.post(`/ui/exceptions/${id}/reject`, { reason: 'unknown runner' }, { cookie: session });
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain('no valid CSRF token');
    const empty = await ui.post(`/ui/exceptions/${id}/reject`, { csrf: csrf!, reason: '   ' }, { cookie: session });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain(`Say why exception ${id} is rejected: the reason is required.`);
    expect((await t.deps.rebuilds.get(id)).status).toBe('pending');

    const res = await ui.post(
      `/ui/exceptions/${id}/reject`,
      { csrf: csrf!, reason: 'the runner is not one of ours' },
      { cookie: session },
    );
    expect(res.status).toBe(200);
    const after = await res.text();
    expect(after).toContain(`Exception ${id} is rejected`);
    expect(after).not.toContain(`Reject exception ${id}`);
    const row = after
      .slice(after.indexOf('<h2>Decided'))
      .split('<tr>')
      .find((r) => r.includes(id))!;
    expect(row).toContain('<span class="badge bad">rejected</span>');
    expect(row).toContain('rejected by https://people.example.com/approver');
    expect(row).toContain('the runner is not one of ours');
    expect((await t.deps.rebuilds.get(id)).status).toBe('rejected');

    // Rejected for good: neither approvals nor a second rejection count, and production denies the rebuild.
    const approve = await ui.post(`/ui/exceptions/${id}/approve`, { csrf: csrf! }, { cookie: session });
    expect(approve.status).toBe(409);
    const again = await ui.post(`/ui/exceptions/${id}/reject`, { csrf: csrf!, reason: 'again' }, { cookie: session });
    expect(again.status).toBe(409);
    const verdict = await p.verdict(other, 'production');
    expect(verdict.body.decision).toBe('deny');
  });

  it('marks a revoked test result on the passport, struck, with who, why and the log index', async () => {
    const tests = (await t.deps.intake.list({ digest: `sha256:${story.notInDev}`, limit: 100 })).items.filter(
      (a) => a.predicateType === 'https://in-toto.io/attestation/test-result/v0.1',
    );
    expect(tests).toHaveLength(1);
    const admin = await t.mint(['admin'], 'https://people.example.com/admin');
    const revoked = await pipeline(t, c).post(`/v1/attestations/${tests[0]!.id}/revocations`, admin, {
      reason: 'the dev test run used a stale fixture',
    });
    expect(revoked.status).toBe(201);
    const { html } = await ui.page(`/ui/artifacts/sha256:${story.notInDev}`, await ui.signIn(c.tester));
    const at = html.indexOf(`<li id="a-${tests[0]!.id}"`);
    expect(at).toBeGreaterThan(0);
    const item = html.slice(at, html.indexOf('</li>', at));
    expect(item).toContain('class="revoked"');
    expect(item).toContain('<s>Test result</s>');
    expect(item).toContain(
      '<span class="badge bad">revoked</span> by <strong>https://people.example.com/admin</strong>',
    );
    expect(item).toContain('the dev test run used a stale fixture');
    const index = String(revoked.body.logIndex);
    expect(item).toContain(`log index <a href="/v1/log/entries/${index}">#${index}</a>`);
    expect(item).toContain('<div class="struck">');
    const own = html.slice(html.indexOf(`<li id="a-${revoked.body.id}"`));
    expect(own.slice(0, own.indexOf('</li>'))).toContain(`Revokes <a href="#a-${tests[0]!.id}">the test result</a>`);
  });

  it('shows the log: checkpoint signed, consistent with the previous one, recent entries', async () => {
    const { html } = await ui.page('/ui/log', await ui.signIn(c.tester));
    expect(html).toContain('✓ signed by the log key');
    expect(html).toContain('✓ consistent (RFC 6962 proof)');
    expect(html).toContain('waybill.test - ');
    expect(html).toMatch(/<td>Verdict <span class="muted">\(production\)<\/span><\/td>/);
  });

  it("shows each environment's rules, the policy file's digest and recent verdicts", async () => {
    const denied = await pipeline(t, c).verdict(story.failedStaging, 'production');
    expect(denied.body.decision).toBe('deny');
    const { html } = await ui.page('/ui/policies', await ui.signIn(c.tester));
    const production = t.deps.policies.policies.get('production')!;
    expect(html).toContain(production.digest.sha256);
    expect(html).toContain('<code>passed-staging-tests</code>');
    expect(html).toContain('where <code>predicate.result == &quot;PASSED&quot;</code>');
    expect(html).toContain('deployed to <strong>staging</strong> first');
    const prod = html.slice(html.indexOf('id="p-production"'));
    expect(prod).toContain(`sha256:${story.promoted.slice(0, 12)}`);
    expect(prod).toContain(`sha256:${story.failedStaging.slice(0, 12)}`);
    expect(prod).toContain('<span class="badge bad">deny</span>');
    expect(prod).toContain('no-failed-staging-tests');
  });

  // Last: it tampers with storage.
  it("marks a bundle altered in storage as not verified, and the digest's chain with it", async () => {
    const [provenance] = (
      await t.deps.intake.list({ digest: `sha256:${story.failedStaging}`, limit: 100 })
    ).items.filter((a) => a.predicateType === 'https://slsa.dev/provenance/v1');
    await t.deps.database.sql.query(
      `update attestations set bundle = jsonb_set(bundle, '{dsseEnvelope,signatures,0,sig}', '"AAAA"') where id = $1`,
      [provenance!.id],
    );
    const { html } = await ui.page(`/ui/artifacts/sha256:${story.failedStaging}`, await ui.signIn(c.auditor));
    expect(html).toContain('Evidence chain: <span class="badge bad">✗ not verified</span>');
    const item = html.slice(html.indexOf(`id="a-${provenance!.id}"`));
    expect(item.slice(0, item.indexOf('</li>'))).toContain('✗ not bundle and inclusion proof verified');
  });
});
