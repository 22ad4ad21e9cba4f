// The private CA: generating a root and intermediate, and loading them back with every check.
import 'reflect-metadata';
import { generateKeyPairSync, X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaMaterial } from '../../src/signing/ca.ts';
import { generateCa, loadCa } from '../../src/signing/ca.ts';
import { pemCertificatesToDer } from '../../src/signing/der.ts';
import { issueLeaf } from '../../src/signing/leaf.ts';

const hex = (b: ArrayBuffer | Uint8Array): string =>
  Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');

const NOW = new Date('2026-03-01T12:00:00.750Z');

describe('generateCa', () => {
  let ca: CaMaterial;
  beforeAll(async () => {
    ca = await generateCa({ commonName: 'waybill-test', organization: 'Example, Inc.', now: NOW });
  });

  it('makes a self-signed P-256 root: CA, keyCertSign|cRLSign, SKI, ~10 years', async () => {
    const root = ca.root.certificate;
    expect(root.subject).toBe(root.issuer);
    expect(root.subjectName.getField('CN')).toEqual(['waybill-test']);
    expect(root.subjectName.getField('O')).toEqual(['Example, Inc.']);
    expect(await root.isSelfSigned(webcrypto as never)).toBe(true);
    expect((root.publicKey.algorithm as { namedCurve?: string }).namedCurve).toBe('P-256');
    const bc = root.getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.ca).toBe(true);
    expect(bc.critical).toBe(true);
    const ku = root.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.critical).toBe(true);
    expect(ku.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const ski = root.getExtension(x509.SubjectKeyIdentifierExtension)!;
    const expected = await x509.SubjectKeyIdentifierExtension.create(root.publicKey, false, webcrypto as never);
    expect(ski.keyId).toBe(expected.keyId);
    expect(root.notBefore.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(root.notAfter.toISOString()).toBe('2036-03-01T12:00:00.000Z');
    expect(root.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
  });

  it('makes an intermediate: CA pathLen 0, EKU codeSigning, SKI/AKI, signed by the root', async () => {
    const inter = ca.intermediate.certificate;
    const root = ca.root.certificate;
    expect(inter.issuer).toBe(root.subject);
    expect(inter.subjectName.getField('CN')).toEqual(['waybill-test-intermediate']);
    expect(await inter.verify({ publicKey: root.publicKey, date: NOW }, webcrypto as never)).toBe(true);
    const bc = inter.getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.ca).toBe(true);
    expect(bc.pathLength).toBe(0);
    expect(bc.critical).toBe(true);
    expect(inter.getExtension(x509.KeyUsagesExtension)!.usages).toBe(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    expect(inter.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.codeSigning]);
    const aki = inter.getExtension(x509.AuthorityKeyIdentifierExtension)!;
    expect(aki.keyId).toBe(root.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    expect(hex(ca.authorityKeyId)).toBe(inter.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    // serials: positive, 16 bytes
    expect(inter.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
  });

  it('exports PEM (PKCS#8 keys, chain intermediate then root) that loadCa reloads identically', async () => {
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(ca.rootKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const ders = pemCertificatesToDer(ca.chainPem);
    expect(ders.map(hex)).toEqual([hex(ca.intermediate.der), hex(ca.root.der)]);

    const again = await loadCa({ keyPem: ca.keyPem, chainPem: ca.chainPem });
    expect(hex(again.root.der)).toBe(hex(ca.root.der));
    expect(hex(again.intermediate.der)).toBe(hex(ca.intermediate.der));
    expect(again.chainPem).toBe(ca.chainPem);
    expect(again.keyPem).toBe(ca.keyPem);
    expect(hex(again.issuerNameDer)).toBe(hex(ca.issuerNameDer));
    expect(hex(again.authorityKeyId)).toBe(hex(ca.authorityKeyId));
    expect(again.rootKeyPem).toBeUndefined();

    // A leaf from the reloaded CA verifies under the original intermediate.
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const leaf = await issueLeaf(again, {
      subjectUri: 'https://ci.example.com/p',
      issuer: 'https://waybill.example',
      publicKey,
      now: NOW,
    });
    const node = new NodeX509Certificate(leaf.certificate);
    expect(node.verify(new NodeX509Certificate(ca.intermediate.der).publicKey)).toBe(true);
    expect(node.checkIssued(new NodeX509Certificate(ca.intermediate.der))).toBe(true);
  });

  it('loadCa rejects a key that does not match, a reversed or short chain', async () => {
    const other = await generateCa({ now: NOW });
    await expect(loadCa({ keyPem: other.keyPem, chainPem: ca.chainPem })).rejects.toThrow(/does not match/);
    await expect(loadCa({ keyPem: ca.keyPem, chainPem: ca.root.pem + ca.intermediate.pem })).rejects.toThrow(
      /not signed by|not a CA/,
    );
    await expect(loadCa({ keyPem: ca.keyPem, chainPem: ca.intermediate.pem })).rejects.toThrow(
      /intermediate then the root/,
    );
    await expect(loadCa({ keyPem: ca.keyPem, chainPem: other.intermediate.pem + ca.root.pem })).rejects.toThrow(
      /not signed by/,
    );
    await expect(loadCa({ keyPem: 'nope', chainPem: ca.chainPem })).rejects.toThrow(/does not parse/);
  });
});
