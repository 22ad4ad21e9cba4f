// POST /v1/bundles through HTTP: bundles from an independent Sigstore-like instance (its own CA
// and log, test/fixtures/external) ingest under its trusted root; others are refused.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/storage/database.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';

const FIX = fileURLToPath(new URL('../../fixtures/external/', import.meta.url));
const bundle = (name: string) => JSON.parse(readFileSync(FIX + name, 'utf8')) as unknown;
const manifest = JSON.parse(readFileSync(`${FIX}manifest.json`, 'utf8')) as { keyHint: string };

describe.each(backends)('POST /v1/bundles on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let tester: string;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database, {
      WAYBILL_EXTERNAL_TRUST_ROOTS: `${FIX}trusted_root.json,public-good`,
      WAYBILL_EXTERNAL_IDENTITIES: `${FIX}identities.json`,
      WAYBILL_EXTERNAL_KEYS: `${manifest.keyHint}=${FIX}signing-key.pub.pem`,
    });
    // Builders ingest provenance, testers test results: this caller brings in both.
    tester = await t.mint(['tester', 'builder'], 'https://ci.example.com/ingest');
  });
  afterAll(async () => database.close());

  it.each([
    'dsse-v0.3-certificate.json',
    'dsse-v0.2-chain-intoto.json',
    'dsse-v0.1-promise-only.json',
    'dsse-v0.3-public-key.json',
    'dsse-v0.3-statement-v0.1.json',
    'message-v0.3-hashedrekord.json',
  ])("ingests %s, logs it in waybill's log, and answers a second submission with the same record", async (name) => {
    const res = await t.call('POST', '/v1/bundles', { token: tester, body: { bundle: bundle(name) } });
    expect(res.status).toBe(201);
    const rec = (await res.json()) as {
      id: string;
      origin: string;
      logIndex: number;
      environment: string;
      signer: { subject: string };
    };
    expect(rec.origin).toBe('ingested');
    // The environment is the one the signed statement names (only the test result names one).
    expect(rec.environment).toBe(name === 'dsse-v0.2-chain-intoto.json' ? 'dev' : null);
    const entry = (await (await t.call('GET', `/v1/log/entries/${rec.logIndex}`)).json()) as { attestationId: string };
    expect(entry.attestationId).toBe(rec.id);
    const again = await t.call('POST', '/v1/bundles', { token: tester, body: { bundle: bundle(name) } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(rec.id);
  });

  it.each([
    ['dsse-v0.3-untrusted.json', 422],
    ['dsse-v0.3-other-identity.json', 422],
    ['dsse-v0.3-not-intoto.json', 400],
  ] as const)('refuses %s with %i and stores nothing', async (name, status) => {
    const before = (await t.deps.log.checkpoint()).treeSize;
    const res = await t.call('POST', '/v1/bundles', { token: tester, body: { bundle: bundle(name) } });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await t.deps.log.checkpoint()).treeSize).toBe(before);
  });

  it('refuses a waybill bundle whose signature byte changed', async () => {
    const b = bundle('dsse-v0.3-certificate.json') as { dsseEnvelope: { signatures: Array<{ sig: string }> } };
    const sig = Buffer.from(b.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[10] = sig[10]! ^ 1;
    b.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    const res = await t.call('POST', '/v1/bundles', { token: tester, body: { bundle: b } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe('VERIFICATION_FAILED');
  });
});
