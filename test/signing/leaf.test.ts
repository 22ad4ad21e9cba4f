// Fulcio-shaped leaf certificates, parsed back with @peculiar/x509, @sigstore/core and node:crypto.
import 'reflect-metadata';
import { createHash, generateKeyPairSync, X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { X509Certificate as CoreX509Certificate } from '@sigstore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaMaterial } from '../../src/signing/ca.ts';
import { generateCa } from '../../src/signing/ca.ts';
import { pemCertificatesToDer, subjectKeyIdentifier } from '../../src/signing/der.ts';
import {
  issueLeaf,
  issueLeafSync,
  LEAF_VALIDITY_MS,
  OID_FULCIO_BUILD_SIGNER_URI,
  OID_FULCIO_ISSUER_V1,
  OID_FULCIO_ISSUER_V2,
  OID_FULCIO_SOURCE_REPOSITORY_DIGEST,
  OID_FULCIO_SOURCE_REPOSITORY_REF,
  OID_FULCIO_SOURCE_REPOSITORY_URI,
} from '../../src/signing/leaf.ts';

const hex = (b: ArrayBuffer | Uint8Array): string =>
  Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');

/** DER UTF8String, written independently of the implementation (short and long forms). */
function utf8String(s: string): Buffer {
  const v = Buffer.from(s, 'utf8');
  const len =
    v.length < 0x80 ? [v.length] : v.length < 0x100 ? [0x81, v.length] : [0x82, v.length >> 8, v.length & 0xff];
  return Buffer.concat([Buffer.from([0x0c, ...len]), v]);
}

function ext(cert: x509.X509Certificate, oid: string): x509.Extension {
  const e = cert.extensions.find((x) => x.type === oid);
  if (!e) throw new Error(`missing extension ${oid}`);
  return e;
}

const NOW = new Date('2026-03-01T12:00:00.750Z');

describe('issueLeaf', () => {
  let ca: CaMaterial;
  beforeAll(async () => {
    ca = await generateCa({ now: new Date('2026-01-01T00:00:00Z') });
  });

  const issuer = 'https://waybill.example.com';
  const subjectUri = 'https://ci.example.com/pipelines/api';

  it('issues a Fulcio-shaped leaf with every extension, correctly DER-encoded', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const extensions = {
      sourceRepositoryUri: 'https://git.example.com/acme/api',
      sourceRepositoryDigest: '0123456789abcdef0123456789abcdef01234567',
      sourceRepositoryRef: 'refs/heads/main',
      buildSignerUri: 'https://ci.example.com/builders/linux@v1',
    };
    const leaf = await issueLeaf(ca, { subjectUri, issuer, publicKey, now: NOW, extensions });
    expect(leaf.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(hex(pemCertificatesToDer(leaf.pem)[0]!)).toBe(hex(leaf.certificate));

    const cert = new x509.X509Certificate(leaf.certificate);
    // subject empty, issuer = intermediate subject, validity 10 minutes from now (second precision)
    expect(cert.subject).toBe('');
    expect(cert.issuer).toBe(ca.intermediate.certificate.subject);
    expect(cert.notBefore.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(LEAF_VALIDITY_MS);
    // serial: 16 bytes, positive
    expect(cert.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(cert.serialNumber).not.toMatch(/^00/);
    expect(await cert.verify({ publicKey: ca.intermediate.certificate.publicKey, date: NOW }, webcrypto as never)).toBe(
      true,
    );
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    expect(hex(cert.publicKey.rawData)).toBe(hex(publicKey.export({ type: 'spki', format: 'der' })));

    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.critical).toBe(true);
    expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)!;
    expect(eku.critical).toBe(false);
    expect(eku.usages).toEqual([x509.ExtendedKeyUsage.codeSigning]);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)!;
    expect(ski.keyId).toBe(
      (await x509.SubjectKeyIdentifierExtension.create(cert.publicKey, false, webcrypto as never)).keyId,
    );
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!;
    expect(aki.keyId).toBe(ca.intermediate.certificate.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.critical).toBe(true);
    expect(san.names.toJSON()).toEqual([{ type: 'url', value: subjectUri }]);
    expect(cert.getExtension(x509.BasicConstraintsExtension)).toBeNull();

    // Fulcio extensions: 1.1 raw bytes, the others DER UTF8String; none critical.
    expect(hex(ext(cert, OID_FULCIO_ISSUER_V1).value)).toBe(hex(Buffer.from(issuer)));
    expect(hex(ext(cert, OID_FULCIO_ISSUER_V2).value)).toBe(hex(utf8String(issuer)));
    expect(hex(ext(cert, OID_FULCIO_SOURCE_REPOSITORY_URI).value)).toBe(
      hex(utf8String(extensions.sourceRepositoryUri)),
    );
    expect(hex(ext(cert, OID_FULCIO_SOURCE_REPOSITORY_DIGEST).value)).toBe(
      hex(utf8String(extensions.sourceRepositoryDigest)),
    );
    expect(hex(ext(cert, OID_FULCIO_SOURCE_REPOSITORY_REF).value)).toBe(
      hex(utf8String(extensions.sourceRepositoryRef)),
    );
    expect(hex(ext(cert, OID_FULCIO_BUILD_SIGNER_URI).value)).toBe(hex(utf8String(extensions.buildSignerUri)));
    for (const oid of [
      OID_FULCIO_ISSUER_V1,
      OID_FULCIO_ISSUER_V2,
      OID_FULCIO_SOURCE_REPOSITORY_URI,
      OID_FULCIO_BUILD_SIGNER_URI,
    ]) {
      expect(ext(cert, oid).critical).toBe(false);
    }
    expect(cert.extensions.map((e) => e.type)).toEqual([
      '2.5.29.15',
      '2.5.29.37',
      '2.5.29.14',
      '2.5.29.35',
      '2.5.29.17',
      OID_FULCIO_ISSUER_V1,
      OID_FULCIO_ISSUER_V2,
      OID_FULCIO_BUILD_SIGNER_URI,
      OID_FULCIO_SOURCE_REPOSITORY_URI,
      OID_FULCIO_SOURCE_REPOSITORY_DIGEST,
      OID_FULCIO_SOURCE_REPOSITORY_REF,
    ]);

    // What sigstore-js reads out of it.
    const core = CoreX509Certificate.parse(Buffer.from(leaf.certificate));
    expect(core.subjectAltName).toBe(subjectUri);
    expect(core.extension(OID_FULCIO_ISSUER_V2)!.valueObj.subs[0]!.value.toString('ascii')).toBe(issuer);
    expect(core.verify(CoreX509Certificate.parse(Buffer.from(ca.intermediate.der)))).toBe(true);
    expect(core.issuer.equals(CoreX509Certificate.parse(Buffer.from(ca.intermediate.der)).subject)).toBe(true);

    // And OpenSSL (through node:crypto).
    const node = new NodeX509Certificate(leaf.certificate);
    expect(node.subjectAltName).toBe(`URI:${subjectUri}`);
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.3']);
    expect(node.ca).toBe(false);
  });

  it('omits optional extensions that are not given', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const leaf = await issueLeaf(ca, {
      subjectUri,
      issuer,
      publicKey,
      now: NOW,
      extensions: { sourceRepositoryRef: 'refs/tags/v1' },
    });
    const cert = new x509.X509Certificate(leaf.certificate);
    expect(cert.extensions.map((e) => e.type).slice(5)).toEqual([
      OID_FULCIO_ISSUER_V1,
      OID_FULCIO_ISSUER_V2,
      OID_FULCIO_SOURCE_REPOSITORY_REF,
    ]);
  });

  it('encodes long values with multi-byte DER lengths', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const longUri = `https://ci.example.com/${'p'.repeat(300)}`;
    const longIssuer = `https://issuer.example.com/${'i'.repeat(140)}`;
    const leaf = await issueLeaf(ca, {
      subjectUri: longUri,
      issuer: longIssuer,
      publicKey,
      now: NOW,
      extensions: { sourceRepositoryRef: 'é'.repeat(100) },
    });
    const cert = new x509.X509Certificate(leaf.certificate);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON()).toEqual([
      { type: 'url', value: longUri },
    ]);
    expect(hex(ext(cert, OID_FULCIO_ISSUER_V2).value)).toBe(hex(utf8String(longIssuer)));
    expect(hex(ext(cert, OID_FULCIO_SOURCE_REPOSITORY_REF).value)).toBe(hex(utf8String('é'.repeat(100))));
    expect(
      new NodeX509Certificate(leaf.certificate).verify(new NodeX509Certificate(ca.intermediate.der).publicKey),
    ).toBe(true);
  });

  it('accepts the public key as KeyObject (public or private), CryptoKey or SPKI DER alike', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const cryptoKey = await webcrypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'verify',
    ]);
    const expectedSki = createHash('sha1').update(spki.subarray(26)).digest('hex');
    expect(hex(subjectKeyIdentifier(spki))).toBe(expectedSki);
    for (const key of [publicKey, privateKey, cryptoKey, new Uint8Array(spki)]) {
      const cert = new x509.X509Certificate(
        issueLeafSync(ca, { subjectUri, issuer, publicKey: key, now: NOW }).certificate,
      );
      expect(hex(cert.publicKey.rawData)).toBe(hex(spki));
      expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId).toBe(expectedSki);
    }
    // Other key types go through the generic SPKI path.
    const ed = generateKeyPairSync('ed25519').publicKey;
    const edCert = new x509.X509Certificate(
      issueLeafSync(ca, { subjectUri, issuer, publicKey: ed, now: NOW }).certificate,
    );
    expect(hex(edCert.publicKey.rawData)).toBe(hex(ed.export({ type: 'spki', format: 'der' })));
    expect(edCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId).toBe(
      createHash('sha1')
        .update(ed.export({ type: 'spki', format: 'der' }).subarray(12))
        .digest('hex'),
    );
  });

  it('rejects bad input', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(() => issueLeafSync(ca, { subjectUri: 'https://ci.example.com/é', issuer, publicKey, now: NOW })).toThrow(
      /ASCII/,
    );
    expect(() => issueLeafSync(ca, { subjectUri: 'not a uri', issuer, publicKey, now: NOW })).toThrow(/absolute URI/);
    expect(() => issueLeafSync(ca, { subjectUri, issuer: '', publicKey, now: NOW })).toThrow(/issuer/);
    expect(() => issueLeafSync(ca, { subjectUri, issuer, publicKey, now: new Date(NaN) })).toThrow(/now/);
    expect(() => issueLeafSync(ca, { subjectUri, issuer, publicKey: new Uint8Array([1, 2, 3]), now: NOW })).toThrow();
  });

  it('uses a fresh random serial each time and costs well under a millisecond', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const serials = new Set<string>();
    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      serials.add(
        CoreX509Certificate.parse(
          Buffer.from(issueLeafSync(ca, { subjectUri, issuer, publicKey, now: NOW }).certificate),
        ).serialNumber.toString('hex'),
      );
    }
    const perLeaf = (performance.now() - t0) / n;
    expect(serials.size).toBe(n);
    // Generous bound (measured ~0.1-0.15 ms per leaf, parse included); catches an accidental slow path.
    expect(perLeaf).toBeLessThan(5);
  });
});
