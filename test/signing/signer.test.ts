import {
  createHash,
  verify as cryptoVerify,
  generateKeyPairSync,
  X509Certificate as NodeX509Certificate,
} from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { caSigner, keySigner } from '../../src/signing/signer.ts';
import { buildTrustedRoot } from '../../src/signing/trusted-root.ts';
import type { VerifyBundleOptions, VerifyErrorCode } from '../../src/signing/verify.ts';
import { VerifyError, verifyBundle } from '../../src/signing/verify.ts';
import type { SigningSetup } from '../fixtures/make-signing-fixtures.ts';
import {
  exampleStatement,
  INTOTO_PAYLOAD_TYPE,
  ISSUER,
  LOG_BASE_URL,
  makeSigningSetup,
  SUBJECT_URI,
  singleEntryWitness,
} from '../fixtures/make-signing-fixtures.ts';
import type { Json } from '../helpers/json.ts';

const clone = <T>(v: T): T => structuredClone(v);
const ARTIFACT = new TextEncoder().encode('an artifact\n');
const ARTIFACT_SHA256 = createHash('sha256').update(ARTIFACT).digest('hex');

/** Flips one bit of byte `i` of a base64 field. */
function flipB64(b64: string, i: number): string {
  const b = Buffer.from(b64, 'base64');
  b[i] = b[i]! ^ 0x01;
  return b.toString('base64');
}

async function expectCode(p: Promise<unknown>, code: VerifyErrorCode, message?: RegExp): Promise<VerifyError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected VerifyError ${code}, got success`).toBeInstanceOf(VerifyError);
  const ve = err as VerifyError;
  expect(ve.code, ve.message).toBe(code);
  if (message) expect(ve.message).toMatch(message);
  return ve;
}

describe('DSSE bundles signed with the private CA and a single-entry log', () => {
  let setup: SigningSetup;
  let bundle: Json;
  let opts: VerifyBundleOptions;

  beforeAll(async () => {
    setup = await makeSigningSetup();
    bundle = await setup.sign(exampleStatement(ARTIFACT_SHA256));
    opts = { trustedRoot: setup.trustedRoot, identity: { subjectAlternativeName: SUBJECT_URI, issuer: ISSUER } };
  });

  const entry = (b: Json): Json => b.verificationMaterial.tlogEntries[0];

  it('builds a v0.3 bundle: single certificate, DSSE in-toto envelope, one tlog entry with SET and proof', () => {
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.certificate.rawBytes).toBeTypeOf('string');
    expect(bundle.verificationMaterial.x509CertificateChain).toBeUndefined();
    expect(bundle.dsseEnvelope.payloadType).toBe(INTOTO_PAYLOAD_TYPE);
    expect(bundle.dsseEnvelope.signatures).toHaveLength(1);
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    const e = entry(bundle);
    expect(e.kindVersion).toEqual({ kind: 'dsse', version: '0.0.1' });
    expect(Number(e.integratedTime)).toBeGreaterThan(0);
    expect(e.inclusionPromise.signedEntryTimestamp).toBeTypeOf('string');
    expect(e.inclusionProof.treeSize).toBe('1');
    expect(e.inclusionProof.checkpoint.envelope).toMatch(
      /^localhost - 1\n1\n[A-Za-z0-9+/=]+\n\n\u2014 localhost [A-Za-z0-9+/=]+\n$/,
    );
    // The signed bytes are the DSSE PAE, and the signature is ASN.1 DER ECDSA under the leaf key.
    const cert = new NodeX509Certificate(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    const pae = Buffer.concat([
      Buffer.from(`DSSEv1 ${INTOTO_PAYLOAD_TYPE.length} ${INTOTO_PAYLOAD_TYPE} ${payload.length} `),
      payload,
    ]);
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    expect(sig[0]).toBe(0x30);
    expect(cryptoVerify('sha256', pae, cert.publicKey, sig)).toBe(true);
  });

  it('verifies with the right identity and reports the signer', async () => {
    const result = await verifyBundle(bundle, opts);
    expect(result.signer).toEqual({ subject: SUBJECT_URI, issuer: ISSUER });
    expect(result.bundle.content.$case).toBe('dsseEnvelope');
    // JSON text, no identity, a regexp identity, the artifact: all fine too.
    await verifyBundle(JSON.stringify(bundle), { trustedRoot: JSON.stringify(setup.trustedRoot) });
    await verifyBundle(bundle, {
      trustedRoot: setup.trustedRoot,
      identity: { subjectAlternativeNameRegexp: '^https://ci\\.example\\.com/' },
    });
    await verifyBundle(bundle, { ...opts, artifact: ARTIFACT });
  });

  it('verifies with stock @sigstore/verify alone (what an outside auditor runs)', () => {
    const trust = toTrustMaterial(TrustedRoot.fromJSON(setup.trustedRoot));
    const signer = new Verifier(trust, { ctlogThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: `^${SUBJECT_URI.replace(/[.]/g, '\\.')}$`,
      extensions: { issuer: ISSUER },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(SUBJECT_URI);
  });

  it('fails UNTRUSTED_SIGNER when the identity names someone else', async () => {
    const v = (identity: VerifyBundleOptions['identity']) =>
      verifyBundle(bundle, { trustedRoot: setup.trustedRoot, identity });
    await expectCode(v({ subjectAlternativeName: 'https://ci.example.com/pipelines/web' }), 'UNTRUSTED_SIGNER');
    // exact match is anchored: a prefix, a suffix or a superstring do not match
    await expectCode(v({ subjectAlternativeName: 'https://ci.example.com/pipelines' }), 'UNTRUSTED_SIGNER');
    await expectCode(v({ subjectAlternativeName: 'ci.example.com/pipelines/api' }), 'UNTRUSTED_SIGNER');
    await expectCode(v({ subjectAlternativeName: `${SUBJECT_URI}/x` }), 'UNTRUSTED_SIGNER');
    await expectCode(
      v({ subjectAlternativeName: SUBJECT_URI, issuer: 'https://evil.example.com' }),
      'UNTRUSTED_SIGNER',
    );
    await expectCode(v({ subjectAlternativeNameRegexp: '^https://other\\.' }), 'UNTRUSTED_SIGNER');
    await expectCode(
      v({ subjectAlternativeName: SUBJECT_URI, subjectAlternativeNameRegexp: 'nope$' }),
      'UNTRUSTED_SIGNER',
    );
  });

  it('treats the exact SAN literally (a "." is not a wildcard)', async () => {
    const other = await setup.sign(exampleStatement(ARTIFACT_SHA256), { subjectUri: 'https://ciXexample.com/p' });
    await verifyBundle(other, {
      trustedRoot: setup.trustedRoot,
      identity: { subjectAlternativeName: 'https://ciXexample.com/p' },
    });
    await expectCode(
      verifyBundle(other, {
        trustedRoot: setup.trustedRoot,
        identity: { subjectAlternativeName: 'https://ci.example.com/p' },
      }),
      'UNTRUSTED_SIGNER',
    );
  });

  it('fails SIGNATURE_INVALID when any byte of the payload changes', async () => {
    const len = Buffer.from(bundle.dsseEnvelope.payload, 'base64').length;
    for (let i = 0; i < len; i++) {
      const b = clone(bundle);
      b.dsseEnvelope.payload = flipB64(b.dsseEnvelope.payload, i);
      await expectCode(verifyBundle(b, opts), 'SIGNATURE_INVALID');
    }
  });

  it('fails SIGNATURE_INVALID when any byte of the signature or the payload type changes', async () => {
    const len = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64').length;
    for (let i = 0; i < len; i++) {
      const b = clone(bundle);
      b.dsseEnvelope.signatures[0].sig = flipB64(b.dsseEnvelope.signatures[0].sig, i);
      await expectCode(verifyBundle(b, opts), 'SIGNATURE_INVALID');
    }
    const b = clone(bundle);
    b.dsseEnvelope.payloadType = 'application/vnd.in-toto+jsoN';
    await expectCode(verifyBundle(b, opts), 'SIGNATURE_INVALID', /signature verification failed/);
  });

  it('fails CERTIFICATE_INVALID when any byte of the certificate changes', async () => {
    const len = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64').length;
    for (let i = 0; i < len; i++) {
      const b = clone(bundle);
      b.verificationMaterial.certificate.rawBytes = flipB64(b.verificationMaterial.certificate.rawBytes, i);
      await expectCode(verifyBundle(b, opts), 'CERTIFICATE_INVALID');
    }
  });

  it('fails TLOG_INVALID when any byte of the SET changes', async () => {
    const len = Buffer.from(entry(bundle).inclusionPromise.signedEntryTimestamp, 'base64').length;
    for (let i = 0; i < len; i++) {
      const b = clone(bundle);
      entry(b).inclusionPromise.signedEntryTimestamp = flipB64(entry(b).inclusionPromise.signedEntryTimestamp, i);
      await expectCode(verifyBundle(b, opts), 'TLOG_INVALID');
    }
  });

  it('fails TLOG_INVALID when the logged body, time, index, log id or kind changes', async () => {
    const len = Buffer.from(entry(bundle).canonicalizedBody, 'base64').length;
    for (let i = 0; i < len; i += 5) {
      const b = clone(bundle);
      entry(b).canonicalizedBody = flipB64(entry(b).canonicalizedBody, i);
      await expectCode(verifyBundle(b, opts), 'TLOG_INVALID');
    }
    const mutations: Array<(e: Json) => void> = [
      (e) => (e.integratedTime = String(Number(e.integratedTime) + 1)),
      (e) => (e.logIndex = '1'),
      (e) => (e.logId.keyId = flipB64(e.logId.keyId, 0)),
      (e) => (e.logId.keyId = flipB64(e.logId.keyId, 31)),
      (e) => (e.kindVersion = { kind: 'hashedrekord', version: '0.0.1' }),
      (e) => (e.kindVersion = { kind: 'dsse', version: '0.0.2' }),
    ];
    for (const m of mutations) {
      const b = clone(bundle);
      m(entry(b));
      await expectCode(verifyBundle(b, opts), 'TLOG_INVALID');
    }
  });

  it('fails TLOG_INVALID when any character of the checkpoint or any byte of the proof changes', async () => {
    const envelope: string = entry(bundle).inclusionProof.checkpoint.envelope;
    for (let i = 0; i < envelope.length; i++) {
      const b = clone(bundle);
      const c = envelope[i] === 'A' ? 'B' : 'A';
      entry(b).inclusionProof.checkpoint.envelope = envelope.slice(0, i) + c + envelope.slice(i + 1);
      await expectCode(verifyBundle(b, opts), 'TLOG_INVALID');
    }
    // sigstore-js ignores rootHash and treeSize; verifyBundle checks them against the checkpoint as Go verifiers do.
    for (let i = 0; i < 32; i++) {
      const b = clone(bundle);
      entry(b).inclusionProof.rootHash = flipB64(entry(b).inclusionProof.rootHash, i);
      await expectCode(verifyBundle(b, opts), 'TLOG_INVALID', /rootHash/);
    }
    const mutations: Array<(p: Json) => void> = [
      (p) => (p.treeSize = '2'),
      (p) => (p.logIndex = '1'),
      (p) => (p.hashes = [Buffer.alloc(32).toString('base64')]),
    ];
    for (const m of mutations) {
      const b = clone(bundle);
      m(entry(b).inclusionProof);
      await expectCode(verifyBundle(b, opts), 'TLOG_INVALID');
    }
  });

  it('fails TLOG_INVALID when the unused bits of the checkpoint signature base64 change', async () => {
    // sigstore-js decodes base64 leniently: without verifyBundle's canonical-base64 check, this passes.
    let b = bundle;
    while (!/=\n$/.test(entry(b).inclusionProof.checkpoint.envelope))
      b = await setup.sign(exampleStatement(ARTIFACT_SHA256));
    b = clone(b);
    const env: string = entry(b).inclusionProof.checkpoint.envelope;
    const at = env.search(/=+\n$/) - 1;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const swapped = alphabet[alphabet.indexOf(env[at]!) ^ 1]!;
    const tampered = env.slice(0, at) + swapped + env.slice(at + 1);
    const sig = (e: string) => Buffer.from(e.split(' ').pop()!.trim(), 'base64').toString('hex');
    expect(sig(tampered)).toBe(sig(env)); // same bytes, different text
    entry(b).inclusionProof.checkpoint.envelope = tampered;
    await expectCode(verifyBundle(b, opts), 'TLOG_INVALID', /malformed checkpoint signature/);
  });

  it('fails TLOG_INVALID on a Rekor-v1 checkpoint with more than one signature line', async () => {
    const b = clone(bundle);
    const env: string = entry(b).inclusionProof.checkpoint.envelope;
    const sigLine = env.slice(env.indexOf('\n\n') + 2);
    entry(b).inclusionProof.checkpoint.envelope = env + sigLine;
    await expectCode(verifyBundle(b, opts), 'TLOG_INVALID', /exactly one signature/);
  });

  it('fails TLOG_INVALID when the checkpoint key name is not part of the log baseUrl', async () => {
    const now = () => new Date();
    const builder = new DSSEBundleBuilder({
      signer: caSigner(setup.ca, { subjectUri: SUBJECT_URI, issuer: ISSUER, now }),
      witnesses: [
        singleEntryWitness({ logKey: setup.logKey, now, name: 'rekor.example.com', origin: 'rekor.example.com - 1' }),
      ],
    });
    const { bundleToJSON } = await import('@sigstore/bundle');
    const b = bundleToJSON(
      await builder.create({ data: Buffer.from(exampleStatement(ARTIFACT_SHA256)), type: INTOTO_PAYLOAD_TYPE }),
    );
    await expectCode(verifyBundle(b, opts), 'TLOG_INVALID', /checkpoint/);
  });

  it('needs a verified time: TIMESTAMP_INVALID without SET or with integratedTime 0, never a TypeError', async () => {
    const noSet = clone(bundle);
    delete entry(noSet).inclusionPromise;
    await expectCode(verifyBundle(noSet, opts), 'TIMESTAMP_INVALID', /verified time/);
    const zero = clone(bundle);
    entry(zero).integratedTime = '0';
    await expectCode(verifyBundle(zero, opts), 'TIMESTAMP_INVALID');
    const none = clone(bundle);
    none.verificationMaterial.tlogEntries = [];
    await expectCode(verifyBundle(none, opts), 'TIMESTAMP_INVALID');
  });

  it('fails CERTIFICATE_INVALID when the log time is outside the 10-minute leaf', async () => {
    const t0 = Date.now();
    const builder = new DSSEBundleBuilder({
      signer: caSigner(setup.ca, { subjectUri: SUBJECT_URI, issuer: ISSUER, now: () => new Date(t0) }),
      witnesses: [singleEntryWitness({ logKey: setup.logKey, now: () => new Date(t0 + 11 * 60_000) })],
    });
    const { bundleToJSON } = await import('@sigstore/bundle');
    const late = bundleToJSON(
      await builder.create({ data: Buffer.from(exampleStatement(ARTIFACT_SHA256)), type: INTOTO_PAYLOAD_TYPE }),
    );
    await expectCode(verifyBundle(late, opts), 'CERTIFICATE_INVALID', /not valid or expired/);
  });

  it('fails against a trusted root of another CA or another log', async () => {
    const other = await makeSigningSetup();
    await expectCode(verifyBundle(bundle, { ...opts, trustedRoot: other.trustedRoot }), 'CERTIFICATE_INVALID');
    const mixed = buildTrustedRoot({
      cas: [{ chainPem: setup.ca.chainPem, validFrom: new Date(0) }],
      tlogs: [{ baseUrl: LOG_BASE_URL, publicKey: other.logKey, validFrom: new Date(0) }],
    });
    await expectCode(verifyBundle(bundle, { ...opts, trustedRoot: mixed }), 'TLOG_INVALID');
    // the CA is trusted only inside its validFor window
    const expired = buildTrustedRoot({
      cas: [{ chainPem: setup.ca.chainPem, validFrom: new Date(0), validTo: new Date(1000) }],
      tlogs: [{ baseUrl: LOG_BASE_URL, publicKey: setup.logKey, validFrom: new Date(0) }],
    });
    await expectCode(verifyBundle(bundle, { ...opts, trustedRoot: expired }), 'CERTIFICATE_INVALID');
  });

  it('uses the stock SCT threshold when the trusted root lists a CT log', async () => {
    const withCt = clone(setup.trustedRoot) as unknown as Json;
    withCt.ctlogs = [clone(withCt.tlogs[0])];
    await expectCode(verifyBundle(bundle, { ...opts, trustedRoot: withCt }), 'CERTIFICATE_INVALID', /SCT/);
  });

  it('fails ARTIFACT_MISMATCH when the statement is about another artifact', async () => {
    await expectCode(
      verifyBundle(bundle, { ...opts, artifact: new TextEncoder().encode('other') }),
      'ARTIFACT_MISMATCH',
    );
  });

  it('maps malformed input to INVALID_BUNDLE / TRUST_ROOT_INVALID', async () => {
    await expectCode(verifyBundle('{not json', opts), 'INVALID_BUNDLE');
    await expectCode(verifyBundle(null, opts), 'INVALID_BUNDLE');
    await expectCode(verifyBundle({ mediaType: 'application/json' }, opts), 'INVALID_BUNDLE');
    const twoSigs = clone(bundle);
    twoSigs.dsseEnvelope.signatures.push(twoSigs.dsseEnvelope.signatures[0]);
    await expectCode(verifyBundle(twoSigs, opts), 'INVALID_BUNDLE', /signatures/);
    await expectCode(verifyBundle(bundle, { ...opts, trustedRoot: 'nope' }), 'TRUST_ROOT_INVALID');
    await expectCode(verifyBundle(bundle, { ...opts, trustedRoot: { mediaType: 'x' } }), 'TRUST_ROOT_INVALID');
    const badKey = clone(setup.trustedRoot) as unknown as Json;
    badKey.tlogs[0].publicKey.rawBytes = 'AAAA';
    await expectCode(verifyBundle(bundle, { ...opts, trustedRoot: badKey }), 'TRUST_ROOT_INVALID');
  });

  it('keeps the library error as the cause', async () => {
    const b = clone(bundle);
    entry(b).inclusionPromise.signedEntryTimestamp = flipB64(entry(b).inclusionPromise.signedEntryTimestamp, 10);
    const err = await expectCode(verifyBundle(b, opts), 'TLOG_INVALID');
    expect((err.cause as Error).name).toBe('VerificationError');
    expect(err.message).toMatch(/inclusion promise/);
  });

  it('caSigner makes a fresh key and certificate per signature', async () => {
    const signer = caSigner(setup.ca, { subjectUri: SUBJECT_URI, issuer: ISSUER });
    const data = Buffer.from('hello');
    const [a, b] = await Promise.all([signer.sign(data), signer.sign(data)]);
    if (a.key.$case !== 'x509Certificate' || b.key.$case !== 'x509Certificate')
      throw new Error('expected certificates');
    expect(a.key.certificate).not.toBe(b.key.certificate);
    const ca = new NodeX509Certificate(a.key.certificate);
    const cb = new NodeX509Certificate(b.key.certificate);
    expect(ca.publicKey.export({ format: 'jwk' })).not.toEqual(cb.publicKey.export({ format: 'jwk' }));
    expect(cryptoVerify('sha256', data, ca.publicKey, a.signature)).toBe(true);
    expect(ca.subjectAltName).toBe(`URI:${SUBJECT_URI}`);
  });
});

describe('public-key bundles', () => {
  let setup: SigningSetup;
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let bundle: Json;

  beforeAll(async () => {
    setup = await makeSigningSetup();
    bundle = await setup.sign(exampleStatement(ARTIFACT_SHA256), {
      signer: keySigner(key.privateKey, { hint: 'waybill-key-1' }),
    });
  });

  it('carries the hint instead of a certificate', () => {
    expect(bundle.verificationMaterial.publicKey).toEqual({ hint: 'waybill-key-1' });
    expect(bundle.verificationMaterial.certificate).toBeUndefined();
  });

  it('verifies with the key given to verifyBundle', async () => {
    const r = await verifyBundle(bundle, { trustedRoot: setup.trustedRoot, publicKey: { pem, hint: 'waybill-key-1' } });
    expect(r.signer).toEqual({});
    await verifyBundle(bundle, { trustedRoot: setup.trustedRoot, publicKey: { pem } });
  });

  it('fails without the key, with another hint or key, or with an identity policy', async () => {
    await expectCode(verifyBundle(bundle, { trustedRoot: setup.trustedRoot }), 'UNTRUSTED_SIGNER', /waybill-key-1/);
    await expectCode(
      verifyBundle(bundle, { trustedRoot: setup.trustedRoot, publicKey: { pem, hint: 'other' } }),
      'UNTRUSTED_SIGNER',
    );
    const otherPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    await expectCode(
      verifyBundle(bundle, { trustedRoot: setup.trustedRoot, publicKey: { pem: otherPem } }),
      'SIGNATURE_INVALID',
    );
    await expectCode(
      verifyBundle(bundle, {
        trustedRoot: setup.trustedRoot,
        publicKey: { pem },
        identity: { subjectAlternativeName: SUBJECT_URI },
      }),
      'UNTRUSTED_SIGNER',
    );
    const b = clone(bundle);
    b.dsseEnvelope.payload = flipB64(b.dsseEnvelope.payload, 3);
    await expectCode(verifyBundle(b, { trustedRoot: setup.trustedRoot, publicKey: { pem } }), 'SIGNATURE_INVALID');
  });
});

describe('cost', () => {
  it('signs and verifies a bundle in a few milliseconds', async () => {
    const setup = await makeSigningSetup();
    const statement = exampleStatement(ARTIFACT_SHA256);
    const opts = { trustedRoot: setup.trustedRoot, identity: { subjectAlternativeName: SUBJECT_URI, issuer: ISSUER } };
    for (let i = 0; i < 20; i++) await verifyBundle(await setup.sign(statement), opts); // warm-up
    const n = 200;
    let t = performance.now();
    const bundles: Json[] = [];
    for (let i = 0; i < n; i++) bundles.push(await setup.sign(statement));
    const signMs = (performance.now() - t) / n;
    t = performance.now();
    for (const b of bundles) await verifyBundle(b, opts);
    const verifyMs = (performance.now() - t) / n;
    console.log(`per bundle: sign+log+serialise ${signMs.toFixed(3)} ms, verify ${verifyMs.toFixed(3)} ms`);
    expect(signMs).toBeLessThan(20);
    expect(verifyMs).toBeLessThan(20);
  });
});
