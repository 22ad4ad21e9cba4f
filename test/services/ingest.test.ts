// Ingesting bundles signed elsewhere: each format is verified against the external trust,
// recorded in waybill's own log and stored (origin 'ingested') in one transaction; everything
// refused leaves the log and the attestations untouched.

import { readFileSync } from 'node:fs';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { SIGNATURE_V1 as SIGNATURE_PREDICATE_TYPE } from '../../src/intoto/waybill.ts';
import { IngestService } from '../../src/services/ingest.ts';
import type { Role } from '../../src/services/tokens.ts';
import { verifyBundle } from '../../src/signing/verify.ts';
import { AttestationRepo } from '../../src/storage/attestation-repo.ts';
import type { Database } from '../../src/storage/database.ts';
import { attestations } from '../../src/storage/schema.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import type { BundleName } from '../helpers/external.ts';
import { bundle, externalTrust, fixturePath, flipBase64, manifest } from '../helpers/external.ts';
import type { Json } from '../helpers/json.ts';

const CALLER = {
  subject: 'https://ci.example.com/ingester',
  roles: ['builder', 'tester'] as Role[],
  environments: null,
};
const externalRoot = JSON.parse(readFileSync(fixturePath('trusted_root.json'), 'utf8'));

describe.each(backends)('ingesting external bundles on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let ingest: IngestService;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    ingest = new IngestService({
      attestations: new AttestationRepo(database),
      log: t.deps.log,
      external: externalTrust({ publicGood: true }),
      issuer: t.config.issuer,
    });
  });
  afterAll(async () => database.close());

  async function logEntry(index: number) {
    const res = await t.call('GET', `/v1/log/entries/${index}`);
    expect(res.status).toBe(200);
    return (await res.json()) as {
      attestationId: string;
      kindVersion: { kind: string };
      body: { kind: string; apiVersion: string; spec: Json };
    };
  }

  const acme = { subject: manifest.subject, issuer: manifest.issuer };
  const cases: Array<{
    name: BundleName;
    predicateType: string;
    signer: { subject: string; issuer: string };
    statementType: string;
    subject: string;
  }> = [
    {
      name: 'dsse-v0.3-certificate',
      predicateType: 'https://slsa.dev/provenance/v1',
      signer: acme,
      statementType: 'https://in-toto.io/Statement/v1',
      subject: manifest.digests.provenance,
    },
    {
      name: 'dsse-v0.2-chain-intoto',
      predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
      signer: acme,
      statementType: 'https://in-toto.io/Statement/v1',
      subject: manifest.digests.testResult,
    },
    {
      name: 'dsse-v0.1-promise-only',
      predicateType: 'https://in-toto.io/attestation/vulns/v0.2',
      signer: acme,
      statementType: 'https://in-toto.io/Statement/v1',
      subject: manifest.digests.provenance,
    },
    {
      name: 'dsse-v0.3-public-key',
      predicateType: 'https://cosign.sigstore.dev/attestation/v1',
      signer: { subject: `key:${manifest.keyHint}`, issuer: 'key' },
      statementType: 'https://in-toto.io/Statement/v1',
      subject: manifest.digests.provenance,
    },
    {
      name: 'dsse-v0.3-statement-v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      signer: acme,
      statementType: 'https://in-toto.io/Statement/v0.1',
      subject: manifest.digests.legacy,
    },
  ];

  it.each(cases)('ingests $name: verified, logged as a dsse entry, stored as ingested', async (c) => {
    const before = (await t.deps.log.checkpoint()).treeSize;
    const original = bundle(c.name);
    const environment = c.predicateType === 'https://in-toto.io/attestation/test-result/v0.1' ? 'dev' : null;
    const { record, created } = await ingest.ingest(original, CALLER, { environment });
    expect(created).toBe(true);
    expect(record).toMatchObject({
      origin: 'ingested',
      predicateType: c.predicateType,
      signer: c.signer,
      environment,
    });
    expect(record.statement._type).toBe(c.statementType);
    expect(record.subjects.map((s) => s.digest)).toContain(`sha256:${c.subject}`);
    // the stored bundle is the one submitted (normalised), and still verifies under its own root
    expect(record.bundle).toEqual(bundleToJSON(bundleFromJSON(original)));
    expect(record.bundle.mediaType).toBe(original.mediaType);
    await expect(
      verifyBundle(record.bundle, {
        trustedRoot: externalRoot,
        ...(c.name === 'dsse-v0.3-public-key'
          ? { publicKey: { pem: readFileSync(fixturePath('signing-key.pub.pem'), 'utf8') } }
          : {}),
      }),
    ).resolves.toBeDefined();
    // the statement stored is the payload as signed
    expect(record.statement).toEqual(JSON.parse(Buffer.from(original.dsseEnvelope.payload, 'base64').toString('utf8')));

    expect((await t.deps.log.checkpoint()).treeSize).toBe(before + 1);
    const entry = await logEntry(record.logIndex);
    expect(entry.attestationId).toBe(record.id);
    expect(entry.kindVersion.kind).toBe('dsse');
    expect(entry.body).toMatchObject({ kind: 'dsse', apiVersion: '0.0.1' });
    expect(entry.body.spec.signatures[0].signature).toBe(original.dsseEnvelope.signatures[0].sig);
    const verifier = Buffer.from(entry.body.spec.signatures[0].verifier, 'base64').toString('utf8');
    expect(verifier).toMatch(
      c.signer.issuer === 'key' ? /^-----BEGIN PUBLIC KEY-----/ : /^-----BEGIN CERTIFICATE-----/,
    );
  });

  it('ingests a message signature as a statement about the signed digest, logged as hashedrekord', async () => {
    const original = bundle('message-v0.3-hashedrekord');
    const { record, created } = await ingest.ingest(original, CALLER, {});
    expect(created).toBe(true);
    expect(record).toMatchObject({
      origin: 'ingested',
      predicateType: SIGNATURE_PREDICATE_TYPE,
      signer: acme,
      environment: null,
    });
    expect(record.statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: manifest.artifactSha256 } }],
      predicateType: 'https://waybill.dev/signature/v1',
      predicate: {},
    });
    expect(record.subjects).toEqual([{ digest: `sha256:${manifest.artifactSha256}`, name: null }]);
    expect(record.bundle.messageSignature).toEqual(original.messageSignature);
    const entry = await logEntry(record.logIndex);
    expect(entry.attestationId).toBe(record.id);
    expect(entry.body).toMatchObject({
      kind: 'hashedrekord',
      apiVersion: '0.0.1',
      spec: {
        data: { hash: { algorithm: 'sha256', value: manifest.artifactSha256 } },
        signature: { content: original.messageSignature.signature },
      },
    });
    expect(Buffer.from(entry.body.spec.signature.publicKey.content, 'base64').toString('utf8')).toMatch(
      /^-----BEGIN CERTIFICATE-----/,
    );
  });

  it('returns the existing record when the same bundle is ingested again', async () => {
    const first = await ingest.ingest(bundle('dsse-v0.2-chain-intoto'), CALLER, {});
    expect(first.created).toBe(false); // ingested above
    const size = (await t.deps.log.checkpoint()).treeSize;
    // as JSON text, by another caller: still the same attestation
    const again = await ingest.ingest(
      JSON.stringify(bundle('dsse-v0.2-chain-intoto')),
      { subject: 'https://someone.else', roles: ['tester'], environments: null },
      {},
    );
    expect(again).toEqual({ record: first.record, created: false });
    const message = await ingest.ingest(bundle('message-v0.3-hashedrekord'), CALLER, {});
    expect(message.created).toBe(false);
    expect((await t.deps.log.checkpoint()).treeSize).toBe(size);
  });

  it('stores concurrent first submissions of one bundle once', async () => {
    // A database of its own, so the bundle is new here.
    const db2 = await backend.open();
    try {
      const t2 = await testApp(db2);
      const svc = new IngestService({
        attestations: new AttestationRepo(db2),
        log: t2.deps.log,
        external: externalTrust(),
        issuer: t2.config.issuer,
      });
      const results = await Promise.all(
        Array.from({ length: 6 }, () => svc.ingest(bundle('dsse-v0.3-certificate'), CALLER, {})),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.record.id)).size).toBe(1);
      expect((await t2.deps.log.checkpoint()).treeSize).toBe(1);
      expect((await db2.db.select({ n: count() }).from(attestations))[0]!.n).toBe(1);
    } finally {
      await db2.close();
    }
  });

  describe('refusals store and log nothing', () => {
    async function refused(
      input: unknown,
      opts: { allowedPredicates?: string[] } = {},
      svc = ingest,
    ): Promise<AppError> {
      const size = (await t.deps.log.checkpoint()).treeSize;
      const rows = (await database.db.select({ n: count() }).from(attestations))[0]!.n;
      const err = await svc.ingest(input, CALLER, opts).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect((await t.deps.log.checkpoint()).treeSize).toBe(size);
      expect((await database.db.select({ n: count() }).from(attestations))[0]!.n).toBe(rows);
      return err as AppError;
    }

    it('a CA and log no configured root trusts -> 422', async () => {
      const err = await refused(bundle('dsse-v0.3-untrusted'));
      expect(err).toMatchObject({ code: 'VERIFICATION_FAILED', status: 422 });
      expect(err.message).toContain('CERTIFICATE_INVALID');
    });

    it('a bad signature (one bit flipped) -> 422', async () => {
      for (const name of ['dsse-v0.3-certificate', 'dsse-v0.3-public-key', 'dsse-v0.1-promise-only'] as const) {
        const b = bundle(name);
        b.dsseEnvelope.signatures[0].sig = flipBase64(b.dsseEnvelope.signatures[0].sig);
        const err = await refused(b);
        expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
        expect(err.message).toContain('SIGNATURE_INVALID');
      }
      const m = bundle('message-v0.3-hashedrekord');
      m.messageSignature.signature = flipBase64(m.messageSignature.signature);
      expect(await refused(m)).toMatchObject({
        code: 'VERIFICATION_FAILED',
        message: expect.stringContaining('SIGNATURE_INVALID'),
      });
    });

    it('a SAN no identity rule accepts -> 422 naming the SAN and issuer', async () => {
      const err = await refused(bundle('dsse-v0.3-other-identity'));
      expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
      expect(err.message).toContain('UNTRUSTED_SIGNER');
      expect(err.message).toContain(manifest.otherSubject);
      expect(err.message).toContain(manifest.issuer);
    });

    it('a DSSE envelope with two signatures -> 400', async () => {
      const b = bundle('dsse-v0.3-certificate');
      b.dsseEnvelope.signatures.push({ ...b.dsseEnvelope.signatures[0] });
      const err = await refused(b);
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(err.message).toMatch(/exactly one signature, this one has 2/);
      expect(err.errors).toEqual([{ path: '/dsseEnvelope/signatures', message: 'must hold exactly one signature' }]);
    });

    it('a payload type other than in-toto -> 400', async () => {
      const err = await refused(bundle('dsse-v0.3-not-intoto'));
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: '/dsseEnvelope/payloadType' }] });
      expect(err.message).toContain('application/vnd.acme+json');
    });

    it('a payload that is not an in-toto statement -> 400 listing the fields', async () => {
      // Signed correctly does not matter: the content is checked first.
      const b = bundle('dsse-v0.3-certificate');
      b.dsseEnvelope.payload = Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ digest: { sha256: 'XYZ' } }],
          predicateType: 'not a uri',
        }),
      ).toString('base64');
      const err = await refused(b);
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.errors!.map((e) => e.path)).toEqual(
        expect.arrayContaining(['/subject/0/digest/sha256', '/predicateType']),
      );
      const c = bundle('dsse-v0.3-certificate');
      c.dsseEnvelope.payload = Buffer.from('not json').toString('base64');
      expect(await refused(c)).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ path: '/dsseEnvelope/payload' }],
      });
    });

    it('a predicate type not allowed -> 400', async () => {
      const err = await refused(bundle('dsse-v0.3-certificate'), {
        allowedPredicates: ['https://in-toto.io/attestation/test-result/v0.1'],
      });
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: '/predicateType' }] });
      expect(err.message).toContain('https://slsa.dev/provenance/v1');
      const m = await refused(bundle('message-v0.3-hashedrekord'), {
        allowedPredicates: ['https://slsa.dev/provenance/v1'],
      });
      expect(m).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: '/predicateType' }] });
    });

    it('a message signature over another digest than SHA-256 -> 400', async () => {
      const err = await refused(bundle('message-v0.3-sha512'));
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: '/messageSignature/messageDigest' }] });
    });

    it('malformed bundle JSON -> 400', async () => {
      for (const input of ['{not json', [], 42, null, { mediaType: 'application/json' }]) {
        expect(await refused(input)).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      }
      const noMaterial = bundle('dsse-v0.3-certificate');
      delete noMaterial.verificationMaterial;
      const err = await refused(noMaterial);
      expect(err.errors!.map((e) => e.path)).toContain('/verificationMaterial');
      const v03Chain = bundle('dsse-v0.2-chain-intoto');
      v03Chain.mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json'; // v0.3 forbids a chain
      expect(await refused(v03Chain)).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it("an external certificate claiming waybill's own issuer -> 422", async () => {
      // waybill's issuer set to the external OIDC issuer: the external certificate now "claims" it
      const svc = new IngestService({
        attestations: new AttestationRepo(database),
        log: t.deps.log,
        external: externalTrust(),
        issuer: manifest.issuer,
      });
      const err = await refused(bundle('message-v0.3-p384-sha384'), {}, svc);
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED' }); // P-384/SHA-384: not ingestible, checked first
      const b = bundle('dsse-v0.1-promise-only');
      b.dsseEnvelope.signatures[0].keyid = 'another-keyid'; // a different envelope id, same valid signature
      expect(await refused(b, {}, svc)).toMatchObject({
        code: 'VERIFICATION_FAILED',
        message: expect.stringContaining("waybill's own issuer"),
      });
    });
  });
});
