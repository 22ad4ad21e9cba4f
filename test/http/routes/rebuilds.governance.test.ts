// Rebuild exception governance: the policy names who may approve, an approved exception can be
// revoked (and stops counting at once), and own-tests counts only a PASSED result of the rebuild.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import {
  type Callers,
  mintCallers,
  pipeline,
  promotionStory,
  type RebuildStory,
  rebuildStory,
  type Story,
  testResultStatement,
} from '../../helpers/story.ts';

const shipped = (name: string) => readFileSync(path.join('policies', name), 'utf8');

describe.each(backends)('rebuild exception governance on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let story: Story;
  let rebuilt: RebuildStory;
  let outsider: string;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'waybill-governance-'));
    for (const f of ['dev.yaml', 'staging.yaml']) writeFileSync(path.join(dir, f), shipped(f));
    writeFileSync(
      path.join(dir, 'production.yaml'),
      shipped('production.yaml').replace(
        '  minApprovals: 2\n',
        '  minApprovals: 2\n  approvers:\n' +
          '    - { issuer: $self, subject: https://people.example.com/approver }\n' +
          '    - { issuer: $self, subject: "^https://people\\\\.example\\\\.com/second-.*$" }\n',
      ),
    );
    database = await backend.open();
    t = await testApp(database, { WAYBILL_POLICIES_DIR: dir });
    c = await mintCallers(t);
    outsider = await t.mint(['approver'], 'https://people.example.com/mallory');
    story = await promotionStory(t, c);
    rebuilt = await rebuildStory(t, c, story.promoted, { ownTests: false });
  });
  afterAll(async () => database.close());

  const p = () => pipeline(t, c);

  it('refuses an approval from an approver the policy does not name', async () => {
    const rebuild = (await p().post('/v1/rebuild-exceptions', c.deployer, {
      original: `sha256:${story.promoted}`,
      rebuild: `sha256:${rebuilt.rebuild}`,
      environment: 'production',
      reason: 'the registry lost the image again; rebuilt from the same commit',
      ticket: 'OPS-2',
    })) as { status: number; body: Json };
    expect(rebuild.status, JSON.stringify(rebuild.body)).toBe(201);
    const refused = await p().post(`/v1/rebuild-exceptions/${rebuild.body.id}/approvals`, outsider, {});
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain("https://people.example.com/mallory is not one of the production policy's");

    // Rejected by a named approver, signed, with a reason; then it cannot be approved or rejected again.
    const reject = (token: string, body: unknown) =>
      p().post(`/v1/rebuild-exceptions/${rebuild.body.id}/rejections`, token, body);
    expect((await reject(outsider, { reason: 'no' })).status).toBe(403);
    expect((await reject(c.approver, { reason: '' })).status).toBe(400);
    const rejected = await reject(c.approver, { reason: 'use the original image from the backup registry' });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body.status).toBe('rejected');
    const rejection = (await (
      await t.call('GET', `/v1/attestations/${rejected.body.rejection}`, { token: c.auditor })
    ).json()) as Json;
    expect(rejection.predicateType).toBe('https://waybill.dev/rebuild-rejection/v1');
    expect(rejection.signer.subject).toBe('https://people.example.com/approver');
    expect(rejection.statement.predicate.reason).toBe('use the original image from the backup registry');
    expect((await reject(c.approver, { reason: 'again' })).status).toBe(409);
    expect((await p().post(`/v1/rebuild-exceptions/${rebuild.body.id}/approvals`, c.approver, {})).status).toBe(409);
    // The named ones approved the story's exception (rebuildStory would have failed otherwise).
    const x = (await (
      await t.call('GET', `/v1/rebuild-exceptions/${rebuilt.exceptionId}`, { token: c.auditor })
    ).json()) as Json;
    expect(x.status).toBe('approved');
    // Each approval is its own attestation, signed by the approver, and the exception cites them.
    const signed = (await (
      await t.call('GET', `/v1/attestations/${x.attestationId}`, { token: c.auditor })
    ).json()) as Json;
    const approvals = signed.statement.predicate.approvals.map((a: Json) => a.digest.sha256);
    expect(approvals).toHaveLength(2);
    const signers = [];
    for (const id of approvals) {
      const a = (await (await t.call('GET', `/v1/attestations/${id}`, { token: c.auditor })).json()) as Json;
      expect(a.predicateType).toBe('https://waybill.dev/rebuild-approval/v1');
      expect(a.statement.predicate.exception).toBe(`https://waybill.test/v1/rebuild-exceptions/${rebuilt.exceptionId}`);
      signers.push(a.signer.subject);
    }
    expect(signers).toEqual(['https://people.example.com/approver', 'https://people.example.com/second-approver']);
  });

  it('counts only a PASSED test result of the rebuild as its own tests', async () => {
    const ownTests = async () => {
      const x = (await (
        await t.call('GET', `/v1/rebuild-exceptions/${rebuilt.exceptionId}`, { token: c.auditor })
      ).json()) as Json;
      return x.checklist.find((i: Json) => i.item === 'own-tests');
    };
    expect((await ownTests()).ok).toBe(false);
    const failed = await p().post('/v1/attestations', c.tester, {
      environment: 'staging',
      statement: testResultStatement(rebuilt.rebuild, 'FAILED'),
    });
    expect(failed.status).toBe(201);
    expect(await ownTests()).toEqual({
      item: 'own-tests',
      ok: false,
      detail: 'the rebuild has no PASSED test result of its own',
    });
    await p().tested(rebuilt.rebuild, 'dev', 'PASSED');
    expect((await ownTests()).ok).toBe(true);
  });

  it('a revoked exception stops counting at once', async () => {
    const before = await p().verdict(rebuilt.rebuild, 'production');
    // (The FAILED staging result above keeps it out on its own: revoke that first.)
    const failedId = before.body.rules.find((r: Json) => r.name === 'no-failed-staging-tests').rejected?.[0];
    if (failedId) {
      const admin = await t.mint(['admin'], 'https://people.example.com/admin');
      expect((await p().post(`/v1/attestations/${failedId}/revocations`, admin, { reason: 'flaky' })).status).toBe(201);
    }
    const allow = await p().verdict(rebuilt.rebuild, 'production');
    expect(allow.body.decision, JSON.stringify(allow.body.reasons)).toBe('allow');
    expect(allow.body.exception.id).toBe(rebuilt.exceptionId);

    const route = `/v1/rebuild-exceptions/${rebuilt.exceptionId}/revocations`;
    expect((await p().post(route, outsider, { reason: 'no' })).status).toBe(403);
    expect((await p().post(route, c.deployer, { reason: 'no' })).status).toBe(403);
    expect((await p().post(route, c.approver, { reason: '' })).status).toBe(400);
    const revoked = await p().post(route, c.approver, { reason: 'the original image was found again' });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(201);
    expect(revoked.body.statement.predicate.revokedBy).toBe('https://people.example.com/approver');
    expect((await p().post(route, c.approver, { reason: 'again' })).status).toBe(409);

    const deny = await p().verdict(rebuilt.rebuild, 'production');
    expect(deny.body.decision).toBe('deny');
    expect(deny.body.exception).toBeNull();
  });
});
