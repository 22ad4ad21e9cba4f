// Invariant 3: every bundle waybill returns verifies offline with the served trusted root, and
// fails when any byte of payload, signature, certificate, SET, inclusion proof or checkpoint changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../src/signing/verify.ts';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import type { Json } from '../helpers/json.ts';
import { provenanceStatement } from '../helpers/statements.ts';

const CI = 'https://ci.example.com/pipelines/api';
const identity = { subjectAlternativeName: CI, issuer: 'https://waybill.test' };

function flipB64(b64: string, at = 10): string {
  const bytes = Buffer.from(b64, 'base64');
  const i = Math.min(at, bytes.length - 1);
  bytes[i] = bytes[i]! ^ 0x01;
  return bytes.toString('base64');
}

const mutations: Array<[string, (b: Json) => void]> = [
  ['payload', (b) => (b.dsseEnvelope.payload = flipB64(b.dsseEnvelope.payload, 40))],
  ['payload type', (b) => (b.dsseEnvelope.payloadType = 'application/vnd.in-toto+jsonx')],
  ['signature', (b) => (b.dsseEnvelope.signatures[0].sig = flipB64(b.dsseEnvelope.signatures[0].sig, 20))],
  [
    'certificate',
    (b) => (b.verificationMaterial.certificate.rawBytes = flipB64(b.verificationMaterial.certificate.rawBytes, 200)),
  ],
  [
    'SET',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = flipB64(
        b.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp,
        20,
      )),
  ],
  [
    'integrated time',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].integratedTime = String(
        Number(b.verificationMaterial.tlogEntries[0].integratedTime) + 1,
      )),
  ],
  [
    'log index',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].logIndex = String(
        Number(b.verificationMaterial.tlogEntries[0].logIndex) + 1,
      )),
  ],
  [
    'canonicalized body',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].canonicalizedBody = flipB64(
        b.verificationMaterial.tlogEntries[0].canonicalizedBody,
        30,
      )),
  ],
  [
    'inclusion proof hash',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].inclusionProof.hashes[0] = flipB64(
        b.verificationMaterial.tlogEntries[0].inclusionProof.hashes[0],
        5,
      )),
  ],
  [
    'inclusion proof root',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].inclusionProof.rootHash = flipB64(
        b.verificationMaterial.tlogEntries[0].inclusionProof.rootHash,
        5,
      )),
  ],
  [
    'inclusion proof tree size',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].inclusionProof.treeSize = String(
        Number(b.verificationMaterial.tlogEntries[0].inclusionProof.treeSize) + 1,
      )),
  ],
  [
    'checkpoint body',
    (b) => {
      const cp = b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
      const lines = cp.envelope.split('\n');
      lines[1] = String(Number(lines[1]) + 1);
      cp.envelope = lines.join('\n');
    },
  ],
  [
    'checkpoint signature',
    (b) => {
      const cp = b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
      cp.envelope = cp.envelope.replace(
        /(— \S+ )(\S+)\n$/,
        (_: string, p: string, sig: string) => `${p}${flipB64(sig, 12)}\n`,
      );
    },
  ],
  [
    'log id',
    (b) =>
      (b.verificationMaterial.tlogEntries[0].logId.keyId = flipB64(
        b.verificationMaterial.tlogEntries[0].logId.keyId,
        3,
      )),
  ],
];

describe.each(backends.filter((b) => b.name === 'pglite'))('tampered bundles ($name)', (backend) => {
  let database: Database;
  let bundle: Json;
  let root: unknown;
  beforeAll(async () => {
    database = await backend.open();
    const t = await testApp(database);
    // a few entries first, so the proof has hashes
    for (let i = 0; i < 5; i++) await t.deps.attest.sign(provenanceStatement(), CI);
    bundle = (await t.deps.attest.sign(provenanceStatement(), CI)).record.bundle as unknown as Json;
    root = await (await t.call('GET', '/v1/trust/root')).json();
    expect(bundle.verificationMaterial.tlogEntries[0].inclusionProof.hashes.length).toBeGreaterThan(0);
  });
  afterAll(async () => database.close());

  it('the untouched bundle verifies', async () => {
    await expect(verifyBundle(structuredClone(bundle), { trustedRoot: root, identity })).resolves.toBeDefined();
  });

  it.each(mutations)('fails when the %s changes', async (_name, mutate) => {
    const copy = structuredClone(bundle);
    mutate(copy);
    expect(JSON.stringify(copy)).not.toBe(JSON.stringify(bundle));
    await expect(verifyBundle(copy, { trustedRoot: root, identity })).rejects.toMatchObject({ name: 'VerifyError' });
  });
});
