import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statementV1 } from '../../src/services/attest.ts';
import { VerifyError, verifyBundle } from '../../src/signing/verify.ts';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { checkLogIntegrity } from '../helpers/log-integrity.ts';
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
    expect(record.subjects).toEqual([
      { digest: `sha256:${statement.subject[0]!.digest.sha256}`, name: 'ghcr.io/example/app' },
    ]);

    const root = await (await t.call('GET', '/v1/trust/root')).json();
    const verified = await verifyBundle(record.bundle, {
      trustedRoot: root,
      identity: { subjectAlternativeName: CI, issuer: 'https://waybill.test' },
    });
    expect(verified.signer).toEqual({ subject: CI, issuer: 'https://waybill.test' });

    await expect(
      verifyBundle(record.bundle, {
        trustedRoot: root,
        identity: { subjectAlternativeName: 'https://evil.example/', issuer: 'https://waybill.test' },
      }),
    ).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
    await expect(
      verifyBundle(record.bundle, {
        trustedRoot: root,
        identity: { subjectAlternativeName: CI, issuer: 'https://other.example' },
      }),
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
    const reordered = JSON.parse(
      JSON.stringify({
        predicate: statement.predicate,
        predicateType: statement.predicateType,
        subject: statement.subject,
        _type: statement._type,
      }),
    );
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
    // sign() takes a validated statement; statementV1 is the validation for anything else.
    const err = await Promise.resolve()
      .then(() =>
        t.deps.attest.sign(
          statementV1({
            _type: 'https://in-toto.io/Statement/v0.1',
            subject: [{ digest: { sha256: 'XYZ' } }],
            predicateType: 'not a uri',
          }),
          CI,
        ),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
    const paths = (err as { errors: Array<{ path: string }> }).errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/_type', '/subject/0/digest/sha256', '/predicateType']));
    expect((await t.deps.log.checkpoint()).treeSize).toBe(before.treeSize);
  });

  it(
    'stores N concurrent identical submissions once: one row, one log entry, every answer the same ' + 'record',
    async () => {
      const statement = provenanceStatement();
      const before = (await t.deps.log.checkpoint()).treeSize;
      // Alongside other callers' statements, so the copies share batches with entries that are logged.
      const [copies, others] = await Promise.all([
        Promise.all(Array.from({ length: 12 }, () => t.deps.attest.sign(structuredClone(statement), CI))),
        Promise.all(Array.from({ length: 5 }, () => t.deps.attest.sign(provenanceStatement(), CI))),
      ]);
      expect(copies.filter((r) => r.created)).toHaveLength(1);
      const first = copies.find((r) => r.created)!.record;
      for (const r of copies) expect(r.record).toEqual(first);
      expect(others.every((r) => r.created)).toBe(true);
      const after = (await t.deps.log.checkpoint()).treeSize;
      expect(after).toBe(before + 1 + others.length);
      const sha = copies[0]!.record.id;
      const [{ n: rows }] = (await database.execute<{ n: number }>(
        sql`select count(*)::int as n from attestations a join log_entries e on e.attestation_id = a.id
          where a.signer_subject = ${CI}
            and a.statement_sha256 = (select statement_sha256 from attestations where id = ${sha})`,
      )) as [{ n: number }];
      expect(rows).toBe(1);
      // and again, sequentially, once the first is stored
      const again = await t.deps.attest.sign(statement, CI);
      expect(again).toEqual({ record: first, created: false });
      expect((await t.deps.log.checkpoint()).treeSize).toBe(after);
    },
  );

  it('keeps one consistent log when another log instance on the same database appends in between', async () => {
    // A second TransparencyLog with the same keys (another process, in effect): each append from
    // one invalidates the head the other cached, which must notice and read the tree again.
    const other = await testApp(database, { WAYBILL_DATA_DIR: t.config.dataDir });
    const before = (await t.deps.log.checkpoint()).treeSize;
    const signed: number[] = [];
    for (let round = 0; round < 4; round++) {
      const [a, b] = await Promise.all([
        Promise.all(Array.from({ length: 3 }, () => t.deps.attest.sign(provenanceStatement(), CI))),
        Promise.all(Array.from({ length: 2 }, () => other.deps.attest.sign(provenanceStatement(), CI))),
      ]);
      signed.push(...[...a, ...b].map((r) => r.record.logIndex));
    }
    expect(signed.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => before + i));
    const report = await checkLogIntegrity(database, {
      name: new URL('https://waybill.test').host,
      publicKey: t.deps.keys.log.publicKey,
    });
    expect(report.size).toBe(before + 20);
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
