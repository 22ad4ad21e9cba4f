import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireServices } from '../../src/deps.ts';
import { SigningPool } from '../../src/runtime/signing-pool.ts';
import { loadSigningKeys } from '../../src/signing/keys.ts';
import { verifyBundle } from '../../src/signing/verify.ts';
import { openDatabase } from '../../src/storage/database.ts';
import type { Database } from '../../src/storage/driver.ts';
import { memoryLogger, testConfig } from '../helpers/app.ts';
import { provenanceStatement } from '../helpers/statements.ts';

const CI = 'https://ci.example.com/pipelines/pool';

describe('signing on the worker-thread pool', () => {
  let database: Database;
  let pool: SigningPool;
  let services: Awaited<ReturnType<typeof wireServices>>;
  beforeAll(async () => {
    database = await openDatabase({ driver: 'pglite', memory: true });
    await database.migrate();
    const config = testConfig();
    const { logger } = memoryLogger();
    const keys = await loadSigningKeys(config, logger);
    pool = new SigningPool(keys.ca, 2);
    services = await wireServices(config, database, logger, { keys, signers: pool.signers });
  });
  afterAll(async () => {
    await pool.close();
    await database.close();
  });

  it('signs, logs and stores statements whose bundles verify offline as the caller', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => services.attest.sign(provenanceStatement(), CI)));
    expect(results.every((r) => r.created)).toBe(true);
    expect(new Set(results.map((r) => r.record.id)).size).toBe(8);
    for (const { record } of results.slice(0, 2)) {
      const verified = await verifyBundle(record.bundle, {
        trustedRoot: services.trustedRoot,
        identity: { subjectAlternativeName: CI, issuer: 'https://waybill.test' },
      });
      expect(verified.signer).toEqual({ subject: CI, issuer: 'https://waybill.test' });
    }
  });

  it('makes a new key and leaf for every signing, valid from the caller clock', async () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const signer = pool.signers({ subjectUri: CI, issuer: 'https://waybill.test', now: () => now });
    const [a, b] = await Promise.all([signer.sign(Buffer.from('a')), signer.sign(Buffer.from('b'))]);
    const pem = (s: typeof a) => (s.key.$case === 'x509Certificate' ? s.key.certificate : '');
    expect(pem(a)).not.toBe(pem(b));
    const leaf = new X509Certificate(pem(a));
    expect(new Date(leaf.validFrom).toISOString()).toBe(now.toISOString());
    expect(leaf.subjectAltName).toBe(`URI:${CI}`);
    expect(leaf.verify(new X509Certificate(services.keys.ca.intermediate.pem).publicKey)).toBe(true);
  });

  it('refuses what the in-thread signer refuses, with its reason', async () => {
    const signer = pool.signers({ subjectUri: 'not a uri', issuer: 'https://waybill.test' });
    await expect(signer.sign(Buffer.from('x'))).rejects.toThrow(/subjectUri must be an absolute URI/);
  });

  it('refuses to sign once closed', async () => {
    const other = new SigningPool(services.keys.ca, 1);
    await other.close();
    await expect(
      other.signers({ subjectUri: CI, issuer: 'https://waybill.test' }).sign(Buffer.from('x')),
    ).rejects.toThrow(/closed/);
  });
});
