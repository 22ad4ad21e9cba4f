import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerifyError, verifyBundle } from '../../src/signing/verify.ts';
import type { Database } from '../../src/storage/database.ts';
import { backends } from '../helpers/db.ts';
import { testApp } from '../helpers/app.ts';
import { provenanceStatement } from '../helpers/statements.ts';

const CI = 'https://ci.example.com/pipelines/api';

describe.each(backends)('signing service on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
  });
  afterAll(async () => database.close());

  it('signs, logs and stores a statement whose bundle verifies offline with the served trusted root', async () => {
    const statement = provenanceStatement();
    const { record, created } = await t.deps.attest.sign(statement, CI);
    expect(created).toBe(true);
    expect(record.bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(record.bundle.dsseEnvelope?.payloadType).toBe('application/vnd.in-toto+json');
    expect(record.bundle.dsseEnvelope?.signatures).toHaveLength(1);
    expect(record.signer).toEqual({ subject: CI, issuer: 'https://waybill.test' });
    expect(record.subjects).toEqual([{ digest: `sha256:${statement.subject[0]!.digest.sha256}`, name: 'ghcr.io/example/app' }]);

    const root = await (await t.call('GET', '/v1/trust/root')).json();
    const verified = await verifyBundle(record.bundle, {
      trustedRoot: root,
      identity: { subjectAlternativeName: CI, issuer: 'https://waybill.test' },
    });
    expect(verified.signer).toEqual({ subject: CI, issuer: 'https://waybill.test' });

    await expect(
      verifyBundle(record.bundle, { trustedRoot: root, identity: { subjectAlternativeName: 'https://evil.example/', issuer: 'https://waybill.test' } }),
    ).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
    await expect(
      verifyBundle(record.bundle, { trustedRoot: root, identity: { subjectAlternativeName: CI, issuer: 'https://other.example' } }),
    ).rejects.toBeInstanceOf(VerifyError);

    // the stored record is what GET returns, and the log entry points back at it
    expect(await t.deps.attest.get(record.id)).toEqual(record);
    const entry = await t.call('GET', `/v1/log/entries/${record.logIndex}`);
    expect(entry.status).toBe(200);
    const body = (await entry.json()) as { attestationId: string; body: { kind: string } };
    expect(body.attestationId).toBe(record.id);
    expect(body.body.kind).toBe('dsse');
  });

  it('returns the existing record when the same caller submits the same statement again', async () => {
    const statement = provenanceStatement();
    const first = await t.deps.attest.sign(statement, CI);
    // same content, different key order
    const reordered = JSON.parse(JSON.stringify({ predicate: statement.predicate, predicateType: statement.predicateType, subject: statement.subject, _type: statement._type }));
    const again = await t.deps.attest.sign(reordered, CI);
    expect(again.created).toBe(false);
    expect(again.record.id).toBe(first.record.id);
    // another caller signing the same content gets its own attestation
    const other = await t.deps.attest.sign(statement, 'https://ci.example.com/other');
    expect(other.created).toBe(true);
    expect(other.record.id).not.toBe(first.record.id);
  });

  it('refuses a malformed statement, listing every bad field, and stores nothing', async () => {
    const before = await t.deps.log.checkpoint();
    const err = await t.deps.attest
      .sign({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ digest: { sha256: 'XYZ' } }], predicateType: 'not a uri' }, CI)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
    const paths = (err as { errors: Array<{ path: string }> }).errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/_type', '/subject/0/digest/sha256', '/predicateType']));
    expect((await t.deps.log.checkpoint()).treeSize).toBe(before.treeSize);
  });

  it('batches concurrent signings into one consistent log with no gap and no duplicate', async () => {
    const before = (await t.deps.log.checkpoint()).treeSize;
    const results = await Promise.all(Array.from({ length: 40 }, () => t.deps.attest.sign(provenanceStatement(), CI)));
    const indices = results.map((r) => r.record.logIndex).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 40 }, (_, i) => before + i));
    const after = await t.deps.log.checkpoint();
    expect(after.treeSize).toBe(before + 40);
    const res = await t.call('GET', `/v1/log/proof/consistency?from=${before}&to=${after.treeSize}`);
    expect(res.status).toBe(200);
  });
});
