// Revocation through HTTP: a revoked FAILED test no longer keeps a digest out, a revoked PASSED
// test no longer lets it in, every decision cites what it was made on (the FAILED test of a deny,
// the revocations it honoured), and the artifact view and the evidence pack show the revocation.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPack } from '../../../src/audit/verify.ts';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { sha256 } from '../../helpers/statements.ts';
import { type Callers, mintCallers, pipeline } from '../../helpers/story.ts';

const ISSUER = 'https://waybill.test';
const vsaInputs = (verdict: Json): string[] => {
  const payload = JSON.parse(Buffer.from(verdict.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  return payload.predicate.inputAttestations.map((i: Json) => i.digest.sha256);
};

describe.each(backends)('revocation on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let admin: string;
  let otherTester: string;
  let p: ReturnType<typeof pipeline>;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    c = await mintCallers(t);
    admin = await t.mint(['admin'], 'https://people.example.com/admin');
    otherTester = await t.mint(['tester'], 'https://ci.example.com/pipelines/other-tests');
    p = pipeline(t, c);
  });
  afterAll(async () => database.close());

  const revoke = (id: string, token: string, body: unknown = { reason: 'the e2e suite ran against a stale db' }) =>
    p.post(`/v1/attestations/${id}/revocations`, token, body);

  it('a deny cites the FAILED test; once revoked the digest is allowed, and every view shows it', async () => {
    const d = sha256(randomBytes(16));
    await p.build(d, { commit: sha256(d).slice(0, 40) });
    await p.promote(d, 'dev');
    await p.tested(d, 'dev', 'PASSED');
    await p.promote(d, 'staging');
    const passed = await p.tested(d, 'staging', 'PASSED');
    const failed = await p.tested(d, 'staging', 'FAILED');

    const deny = await p.verdict(d, 'production');
    expect(deny.body.decision).toBe('deny');
    const failing = deny.body.rules.find((r: Json) => r.name === 'no-failed-staging-tests');
    expect(failing.rejected).toEqual([failed.id]);
    expect(vsaInputs(deny.body)).toContain(failed.id);
    expect(vsaInputs(deny.body)[0]).toBe(failed.id);

    // Neither another tester nor an approver may revoke the tester's result.
    expect((await revoke(failed.id, otherTester)).status).toBe(403);
    expect((await revoke(failed.id, c.approver)).status).toBe(403);
    expect((await revoke(failed.id, c.tester, { reason: '' })).status).toBe(400);
    expect((await revoke(failed.id, c.tester, { reason: 'x', extra: 1 })).status).toBe(400);
    expect((await revoke('0'.repeat(64), admin)).status).toBe(404);
    expect((await revoke('nothex', admin)).status).toBe(400);

    const r = await revoke(failed.id, c.tester);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.predicateType).toBe('https://waybill.dev/revocation/v1');
    expect(r.body.signer).toEqual({ subject: `${ISSUER}/verifier`, issuer: ISSUER });
    expect(r.body.statement.predicate).toMatchObject({
      revoked: { id: failed.id, predicateType: 'https://in-toto.io/attestation/test-result/v0.1' },
      reason: 'the e2e suite ran against a stale db',
      revokedBy: 'https://ci.example.com/pipelines/test',
    });
    expect(r.body.subjects.map((s: Json) => s.digest)).toEqual([`sha256:${d}`]);
    const again = await revoke(failed.id, admin);
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('already revoked');
    expect((await revoke(r.body.id, admin)).status).toBe(400);

    const allow = await p.verdict(d, 'production');
    expect(allow.body.decision, JSON.stringify(allow.body.reasons)).toBe('allow');
    expect(vsaInputs(allow.body)).toEqual(expect.arrayContaining([passed.id, r.body.id]));
    expect(vsaInputs(allow.body)).not.toContain(failed.id);
    const deployed = await p.deploy(d, 'production', allow.body.id);
    expect(deployed.status).toBe(201);

    const artifact = (await (await t.call('GET', `/v1/artifacts/sha256:${d}`, { token: c.auditor })).json()) as Json;
    expect(artifact.revocations).toEqual([
      {
        id: r.body.id,
        attestationId: failed.id,
        reason: 'the e2e suite ran against a stale db',
        revokedBy: 'https://ci.example.com/pipelines/test',
        revokedAt: r.body.createdAt,
      },
    ]);

    // The admin revokes the PASSED result the production verdict used: the next verdict denies.
    const r2 = await revoke(passed.id, admin, { reason: 'the staging run was not on this digest' });
    expect(r2.status).toBe(201);
    expect(r2.body.statement.predicate.revokedBy).toBe('https://people.example.com/admin');
    const denied = await p.verdict(d, 'production');
    expect(denied.body.decision).toBe('deny');
    const rule = denied.body.rules.find((x: Json) => x.name === 'passed-staging-tests');
    expect(rule.reason).toContain(`evidence ${passed.id} was revoked by https://people.example.com/admin`);
    // Both staging results are revoked now: the rule cites both revocations.
    expect([...rule.revoked].sort()).toEqual([r.body.id, r2.body.id].sort());

    // The pack shows both revocations; the production verdict was made before the PASSED result
    // was revoked, so it still verifies as of its time.
    const packRes = await t.call('GET', `/v1/artifacts/sha256:${d}/evidence`, { token: c.auditor });
    expect(packRes.status).toBe(200);
    const pack = (await packRes.json()) as Json;
    const roles = new Map(pack.attestations.map((a: Json) => [a.id, a.role]));
    expect(roles.get(r.body.id)).toBe('revocation');
    expect(roles.get(r2.body.id)).toBe('revocation');
    const report = await verifyPack(pack);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.revocations.map((x) => [x.attestationId, x.role])).toEqual(
      expect.arrayContaining([
        [failed.id, 'test-result'],
        [passed.id, 'test-result'],
      ]),
    );
    const production = report.attestations.find((a) => a.id === allow.body.attestationId)!;
    expect(production.notes.join('\n')).toContain(`revoked after the verdict`);
    const passedReport = report.attestations.find((a) => a.id === passed.id)!;
    expect(passedReport.notes.join('\n')).toContain('revoked at');
  });

  it('a verdict citing evidence revoked before it was made fails audit verify', async () => {
    const d = sha256(randomBytes(16));
    await p.build(d, { commit: sha256(d).slice(0, 40) });
    const { verdict } = await p.promote(d, 'dev');
    const pack = (await (
      await t.call('GET', `/v1/artifacts/sha256:${d}/evidence`, { token: c.auditor })
    ).json()) as Json;
    const provenance = pack.manifest.provenance[0];
    const r = await revoke(provenance, admin, { reason: 'built on a compromised runner' });
    expect(r.status).toBe(201);
    expect((await p.verdict(d, 'staging')).body.decision).toBe('deny');
    const after = (await (
      await t.call('GET', `/v1/artifacts/sha256:${d}/evidence`, { token: c.auditor })
    ).json()) as Json;
    const ok = await verifyPack(after);
    expect(ok.ok, ok.problems.join('\n')).toBe(true);
    // Move the revocation's log time before the verdict: the verifier must refuse the chain.
    // (Tampering breaks the bundle too; what matters is that the time rule is checked.)
    const rev = after.attestations.find((a: Json) => a.id === r.body.id);
    const early = String(Math.floor(Date.parse(verdict.createdAt) / 1000) - 5);
    rev.logEntry.integratedTime = early;
    const bad = await verifyPack(after);
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toContain('before the verdict');
  });
});
