/**
 * waybill's private certificate authority (Fulcio-like).
 *
 * - `generateCa` makes an ECDSA P-256 root and intermediate with @peculiar/x509 (once, at set-up).
 * - `loadCa` reloads them from PEM (intermediate private key + "intermediate then root" chain)
 *   and checks that the chain and the key hang together.
 * - `issueLeaf` / `issueLeafSync` issue the short-lived, Fulcio-shaped leaf certificates.
 *
 * Leaf issuance runs once per signed statement, so it does not go through @peculiar/x509:
 * its ASN.1 object model (asn1js + asn1-schema) costs ~2.5 ms per certificate, while the leaf
 * has a fixed shape. The leaf's TBSCertificate is written directly as DER below (byte layouts
 * commented), with the issuer name and authority key id copied byte for byte from the
 * intermediate, and signed synchronously with a node:crypto KeyObject (~0.1 ms per leaf).
 * The tests parse the result with @peculiar/x509, @sigstore/core and node:crypto.
 */
import 'reflect-metadata';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  KeyObject,
  X509Certificate as NodeX509Certificate,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { types as utilTypes } from 'node:util';
import * as x509 from '@peculiar/x509';
import { ASN1Obj, X509Certificate as CoreX509Certificate } from '@sigstore/core';

// ---------------------------------------------------------------------------------------------
// Public types

/** One CA certificate in its three useful forms. */
export interface CaCertificate {
  /** DER bytes. */
  readonly der: Uint8Array;
  /** PEM (one block, trailing newline). */
  readonly pem: string;
  /** Parsed form, for inspection (subject, validity, extensions). */
  readonly certificate: x509.X509Certificate;
}

export interface CaMaterial {
  /** The self-signed root (last certificate of the chain). */
  readonly root: CaCertificate;
  /** The issuing CA (first certificate of the chain); signs the leaves. */
  readonly intermediate: CaCertificate;
  /** Intermediate then root, PEM; what `loadCa` and `buildTrustedRoot` take. */
  readonly chainPem: string;
  /** The intermediate's private key, PKCS#8 PEM; what `loadCa` takes. */
  readonly keyPem: string;
  /** The intermediate's private key. */
  readonly privateKey: KeyObject;
  /**
   * The root's private key, PKCS#8 PEM. Only present right after `generateCa`: keep it offline,
   * it is needed only to make a new intermediate.
   */
  readonly rootKeyPem?: string;
  /** DER of the intermediate's subject Name, copied verbatim into each leaf's issuer. */
  readonly issuerNameDer: Uint8Array;
  /** The intermediate's subject key identifier, copied into each leaf's AKI. */
  readonly authorityKeyId: Uint8Array;
}

export interface GenerateCaOptions {
  /** Root CN (the intermediate gets `<commonName>-intermediate`). Default `waybill`. */
  commonName?: string;
  /** O of both CA certificates. Default `waybill`. */
  organization?: string;
  /** notBefore of both certificates. Default: now. */
  now?: Date;
  /** Validity of both CA certificates, in years. Default 10. */
  validityYears?: number;
}

export interface LoadCaOptions {
  /** The intermediate (issuing) CA's private key, PKCS#8 (or SEC1) PEM. */
  keyPem: string;
  /** PEM certificates: the intermediate first, then the root (any CA in between, in order). */
  chainPem: string;
}

/** Fulcio certificate extensions carried by a leaf, besides the issuer. */
export interface LeafExtensions {
  /** 1.3.6.1.4.1.57264.1.12 Source Repository URI. */
  sourceRepositoryUri?: string;
  /** 1.3.6.1.4.1.57264.1.13 Source Repository Digest (e.g. the git commit). */
  sourceRepositoryDigest?: string;
  /** 1.3.6.1.4.1.57264.1.14 Source Repository Ref. */
  sourceRepositoryRef?: string;
  /** 1.3.6.1.4.1.57264.1.9 Build Signer URI. */
  buildSignerUri?: string;
}

/** The leaf's subject public key: a KeyObject (public, or private whose public half is used),
 * a WebCrypto CryptoKey, or SubjectPublicKeyInfo DER. */
export type LeafPublicKey = KeyObject | webcrypto.CryptoKey | Uint8Array;

/** A certificate extension given as its DER value (what goes inside extnValue's OCTET STRING). */
export interface ExtraExtension {
  /** Dotted OID, e.g. `1.3.6.1.4.1.57264.1.9`. */
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

export interface IssueLeafOptions {
  /** URI SAN: the caller's identity. ASCII (IA5String), with a scheme. */
  subjectUri: string;
  /** OIDC-style issuer URL (Fulcio extensions 1.1 and 1.8). */
  issuer: string;
  publicKey: LeafPublicKey;
  /** notBefore; notAfter = notBefore + 10 minutes. Second precision (sub-second part dropped). */
  now: Date;
  extensions?: LeafExtensions;
  /**
   * Hook (workload identity, src/identity/fulcio.ts): further extensions, written after the
   * issuer ones in the order given. An OID the leaf already carries is refused.
   */
  extraExtensions?: readonly ExtraExtension[];
}

export interface IssuedLeaf {
  /** DER. */
  certificate: Uint8Array;
  pem: string;
}

// ---------------------------------------------------------------------------------------------
// OIDs

export const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
export const OID_FULCIO_BUILD_SIGNER_URI = '1.3.6.1.4.1.57264.1.9';
export const OID_FULCIO_SOURCE_REPOSITORY_URI = '1.3.6.1.4.1.57264.1.12';
export const OID_FULCIO_SOURCE_REPOSITORY_DIGEST = '1.3.6.1.4.1.57264.1.13';
export const OID_FULCIO_SOURCE_REPOSITORY_REF = '1.3.6.1.4.1.57264.1.14';
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

/** Leaf validity (Fulcio's): 10 minutes. */
export const LEAF_VALIDITY_MS = 10 * 60 * 1000;

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

// ---------------------------------------------------------------------------------------------
// Minimal DER writer (only what the leaf needs)

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  if (n < 0x1000000) return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  throw new RangeError('DER value too long');
}

/** tag || length || concat(parts) */
function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const l = derLength(len);
  const out = Buffer.allocUnsafe(1 + l.length + len);
  out[0] = tag;
  out.set(l, 1);
  let off = 1 + l.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new Error(`invalid OID ${oid}`);
    return Number(a);
  });
  if (arcs.length < 2) throw new Error(`invalid OID ${oid}`);
  const bytes: number[] = [];
  const pushArc = (v: number): void => {
    const tmp = [v & 0x7f];
    v = Math.floor(v / 128);
    while (v > 0) {
      tmp.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(...tmp);
  };
  pushArc(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) pushArc(a);
  return tlv(0x06, Uint8Array.from(bytes));
}

const DER_TRUE = Uint8Array.of(0x01, 0x01, 0xff);

/** Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function extension(oidDer: Uint8Array, critical: boolean, value: Uint8Array): Buffer {
  return critical ? tlv(0x30, oidDer, DER_TRUE, tlv(0x04, value)) : tlv(0x30, oidDer, tlv(0x04, value));
}

/** DER UTF8String. */
export function derUtf8String(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

/** UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5), second precision. */
function derTime(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const y = d.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

/** 16 random bytes as a positive, minimally encoded DER INTEGER (127 bits of entropy). */
function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  if (b[0] === 0) b[0] = 0x01;
  return b;
}

function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

// Constant DER pieces of the leaf.
const DER_VERSION_V3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02);
// AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2), parameters absent
const DER_ALG_ECDSA_SHA256 = tlv(0x30, encodeOid('1.2.840.10045.4.3.2'));
const DER_EMPTY_NAME = Uint8Array.of(0x30, 0x00);
// KeyUsage (critical): BIT STRING, 7 unused bits, digitalSignature (bit 0)
const DER_EXT_KEY_USAGE = extension(encodeOid('2.5.29.15'), true, Uint8Array.of(0x03, 0x02, 0x07, 0x80));
// ExtendedKeyUsage: SEQUENCE { codeSigning }
const DER_EXT_EKU = extension(encodeOid('2.5.29.37'), false, tlv(0x30, encodeOid(OID_CODE_SIGNING)));
const DER_OID_SKI = encodeOid('2.5.29.14');
const DER_OID_AKI = encodeOid('2.5.29.35');
const DER_OID_SAN = encodeOid('2.5.29.17');
const DER_OID_ISSUER_V1 = encodeOid(OID_FULCIO_ISSUER_V1);
const DER_OID_ISSUER_V2 = encodeOid(OID_FULCIO_ISSUER_V2);
const DER_OID_BUILD_SIGNER_URI = encodeOid(OID_FULCIO_BUILD_SIGNER_URI);
const DER_OID_SOURCE_REPOSITORY_URI = encodeOid(OID_FULCIO_SOURCE_REPOSITORY_URI);
const DER_OID_SOURCE_REPOSITORY_DIGEST = encodeOid(OID_FULCIO_SOURCE_REPOSITORY_DIGEST);
const DER_OID_SOURCE_REPOSITORY_REF = encodeOid(OID_FULCIO_SOURCE_REPOSITORY_REF);

// ---------------------------------------------------------------------------------------------
// Keys

// SubjectPublicKeyInfo header of every uncompressed P-256 key (26 bytes; the 65-byte point follows).
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

function spkiDer(key: LeafPublicKey): Buffer {
  if (utilTypes.isKeyObject(key)) {
    const pub = key.type === 'public' ? key : key.type === 'private' ? createPublicKey(key) : undefined;
    if (!pub) throw new TypeError('publicKey: a secret key cannot be certified');
    if (pub.asymmetricKeyType === 'ec') {
      // JWK export is ~3x cheaper than SPKI DER export for EC keys (OpenSSL's encoder is slow;
      // generating the key with `publicKeyEncoding: spki/der` costs the same), and the P-256
      // SPKI is fixed-layout. The JWK names the curve, so the key needs no asymmetricKeyDetails
      // look-up, which on a fresh key costs as much as the export.
      const { crv, x, y } = pub.export({ format: 'jwk' });
      if (crv === 'P-256') {
        const xb = Buffer.from(x ?? '', 'base64url');
        const yb = Buffer.from(y ?? '', 'base64url');
        if (xb.length === 32 && yb.length === 32) return Buffer.concat([P256_SPKI_PREFIX, Uint8Array.of(0x04), xb, yb]);
      }
    }
    return pub.export({ type: 'spki', format: 'der' });
  }
  if (utilTypes.isCryptoKey(key)) {
    const k = key as webcrypto.CryptoKey;
    if (k.type !== 'public') throw new TypeError('publicKey: expected a public CryptoKey');
    return KeyObject.from(k).export({ type: 'spki', format: 'der' });
  }
  if (key instanceof Uint8Array) {
    const der = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    createPublicKey({ key: der, format: 'der', type: 'spki' }); // throws when it is not a key
    return der;
  }
  throw new TypeError('publicKey: expected a KeyObject, a CryptoKey or SPKI DER bytes');
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bytes (as Fulcio does). */
export function subjectKeyIdentifier(spki: Uint8Array): Buffer {
  const buf = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  if (buf.length === 91 && buf.subarray(0, 26).equals(P256_SPKI_PREFIX)) {
    return createHash('sha1').update(buf.subarray(26)).digest();
  }
  const obj = ASN1Obj.parseBuffer(Buffer.from(buf) as Buffer<ArrayBuffer>);
  const bits = obj.subs[1];
  if (!bits || bits.value.length < 1) throw new Error('invalid SubjectPublicKeyInfo');
  return createHash('sha1').update(bits.value.subarray(1)).digest();
}

// ---------------------------------------------------------------------------------------------
// Leaf issuance

function checkText(name: string, s: unknown, { ascii = false } = {}): string {
  if (typeof s !== 'string' || s.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new TypeError(`${name} contains control characters`);
  if (ascii && !/^[\u0020-\u007e]+$/.test(s)) throw new TypeError(`${name} must be ASCII (IA5String)`);
  return s;
}

/**
 * Issues a Fulcio-shaped leaf certificate, synchronously. See `issueLeaf`.
 */
export function issueLeafSync(ca: CaMaterial, opts: IssueLeafOptions): IssuedLeaf {
  const subjectUri = checkText('subjectUri', opts.subjectUri, { ascii: true });
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(subjectUri)) {
    throw new TypeError(`subjectUri must be an absolute URI: ${subjectUri}`);
  }
  const issuer = checkText('issuer', opts.issuer);
  if (!(opts.now instanceof Date) || Number.isNaN(opts.now.getTime())) throw new TypeError('now must be a valid Date');
  const notBeforeMs = Math.floor(opts.now.getTime() / 1000) * 1000;
  const spki = spkiDer(opts.publicKey);

  const exts: Uint8Array[] = [
    DER_EXT_KEY_USAGE,
    DER_EXT_EKU,
    extension(DER_OID_SKI, false, tlv(0x04, subjectKeyIdentifier(spki))),
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    extension(DER_OID_AKI, false, tlv(0x30, tlv(0x80, ca.authorityKeyId))),
    // SubjectAltName ::= GeneralNames { uniformResourceIdentifier [6] IMPLICIT IA5String };
    // critical because the subject is empty (RFC 5280 4.2.1.6)
    extension(DER_OID_SAN, true, tlv(0x30, tlv(0x86, Buffer.from(subjectUri, 'ascii')))),
    // Fulcio v1 issuer: the raw string bytes (not DER)
    extension(DER_OID_ISSUER_V1, false, Buffer.from(issuer, 'utf8')),
    // Fulcio v2 issuer: DER UTF8String
    extension(DER_OID_ISSUER_V2, false, derUtf8String(issuer)),
  ];
  const x = opts.extensions ?? {};
  if (x.buildSignerUri !== undefined) {
    exts.push(extension(DER_OID_BUILD_SIGNER_URI, false, derUtf8String(checkText('buildSignerUri', x.buildSignerUri))));
  }
  if (x.sourceRepositoryUri !== undefined) {
    exts.push(
      extension(
        DER_OID_SOURCE_REPOSITORY_URI,
        false,
        derUtf8String(checkText('sourceRepositoryUri', x.sourceRepositoryUri)),
      ),
    );
  }
  if (x.sourceRepositoryDigest !== undefined) {
    exts.push(
      extension(
        DER_OID_SOURCE_REPOSITORY_DIGEST,
        false,
        derUtf8String(checkText('sourceRepositoryDigest', x.sourceRepositoryDigest)),
      ),
    );
  }
  if (x.sourceRepositoryRef !== undefined) {
    exts.push(
      extension(
        DER_OID_SOURCE_REPOSITORY_REF,
        false,
        derUtf8String(checkText('sourceRepositoryRef', x.sourceRepositoryRef)),
      ),
    );
  }
  if (opts.extraExtensions && opts.extraExtensions.length > 0)
    exts.push(...extraExtensionsDer(opts.extraExtensions, x));

  const tbs = tlv(
    0x30,
    DER_VERSION_V3,
    tlv(0x02, randomSerial()),
    DER_ALG_ECDSA_SHA256,
    ca.issuerNameDer,
    tlv(0x30, derTime(new Date(notBeforeMs)), derTime(new Date(notBeforeMs + LEAF_VALIDITY_MS))),
    DER_EMPTY_NAME,
    spki,
    tlv(0xa3, tlv(0x30, ...exts)),
  );
  const signature = cryptoSign('sha256', tbs, ca.privateKey); // ASN.1 DER ECDSA-Sig-Value
  const certificate = tlv(0x30, tbs, DER_ALG_ECDSA_SHA256, tlv(0x03, Uint8Array.of(0), signature));
  return { certificate, pem: toPem(certificate, 'CERTIFICATE') };
}

const FIXED_LEAF_OIDS = new Set([
  '2.5.29.15',
  '2.5.29.37',
  '2.5.29.14',
  '2.5.29.35',
  '2.5.29.17',
  OID_FULCIO_ISSUER_V1,
  OID_FULCIO_ISSUER_V2,
]);

// An extension may appear once in a certificate (RFC 5280 4.2): refuse one the leaf writes itself.
function extraExtensionsDer(extra: readonly ExtraExtension[], named: LeafExtensions): Buffer[] {
  const taken = new Set(FIXED_LEAF_OIDS);
  if (named.buildSignerUri !== undefined) taken.add(OID_FULCIO_BUILD_SIGNER_URI);
  if (named.sourceRepositoryUri !== undefined) taken.add(OID_FULCIO_SOURCE_REPOSITORY_URI);
  if (named.sourceRepositoryDigest !== undefined) taken.add(OID_FULCIO_SOURCE_REPOSITORY_DIGEST);
  if (named.sourceRepositoryRef !== undefined) taken.add(OID_FULCIO_SOURCE_REPOSITORY_REF);
  return extra.map((e) => {
    if (taken.has(e.oid)) throw new TypeError(`extraExtensions: ${e.oid} appears twice in the leaf`);
    taken.add(e.oid);
    return extension(encodeOid(e.oid), e.critical, e.value);
  });
}

/**
 * Issues a Fulcio-shaped leaf certificate valid for 10 minutes from `now` (notBefore = now):
 * empty subject; URI SAN = subjectUri (critical); KeyUsage digitalSignature (critical);
 * EKU codeSigning; SKI/AKI; Fulcio issuer extensions 1.1 (raw) and 1.8 (DER UTF8String);
 * optional 1.9/1.12/1.13/1.14 (DER UTF8String); random positive 16-byte serial;
 * ecdsa-with-SHA256 by the intermediate.
 */
export async function issueLeaf(ca: CaMaterial, opts: IssueLeafOptions): Promise<IssuedLeaf> {
  return issueLeafSync(ca, opts);
}

// ---------------------------------------------------------------------------------------------
// CA generation and loading

function jsonName(organization: string, commonName: string): x509.JsonName {
  return [{ '2.5.4.10': [organization] }, { '2.5.4.3': [commonName] }];
}

async function generateP256(): Promise<{ keys: webcrypto.CryptoKeyPair; spki: Buffer; pkcs8Pem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { keys, spki, pkcs8Pem: toPem(pkcs8, 'PRIVATE KEY') };
}

function addYears(d: Date, years: number): Date {
  const r = new Date(d.getTime());
  r.setUTCFullYear(r.getUTCFullYear() + years);
  return r;
}

/**
 * Generates an ECDSA P-256 root (self-signed; CA:true pathLen 1, keyCertSign|cRLSign, SKI) and an
 * intermediate (CA:true pathLen 0, keyCertSign|cRLSign, EKU codeSigning, SKI, AKI) signed by it.
 */
export async function generateCa(opts: GenerateCaOptions = {}): Promise<CaMaterial> {
  const commonName = checkText('commonName', opts.commonName ?? 'waybill');
  const organization = checkText('organization', opts.organization ?? 'waybill');
  const now = opts.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw new TypeError('now must be a valid Date');
  const years = opts.validityYears ?? 10;
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = addYears(notBefore, years);

  const root = await generateP256();
  const inter = await generateP256();
  const rootSki = subjectKeyIdentifier(root.spki);
  const interSki = subjectKeyIdentifier(inter.spki);
  const caUsage = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

  const rootCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial().toString('hex'),
      subject: jsonName(organization, commonName),
      issuer: jsonName(organization, commonName),
      notBefore,
      notAfter,
      publicKey: root.spki,
      signingKey: root.keys.privateKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(caUsage, true),
        new x509.SubjectKeyIdentifierExtension(rootSki.toString('hex')),
      ],
    },
    webcrypto,
  );
  const interCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial().toString('hex'),
      subject: jsonName(organization, `${commonName}-intermediate`),
      issuer: rootCert.subjectName,
      notBefore,
      notAfter,
      publicKey: inter.spki,
      signingKey: root.keys.privateKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(caUsage, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
        new x509.SubjectKeyIdentifierExtension(interSki.toString('hex')),
        new x509.AuthorityKeyIdentifierExtension(rootSki.toString('hex')),
      ],
    },
    webcrypto,
  );
  const rootDer = new Uint8Array(rootCert.rawData);
  const interDer = new Uint8Array(interCert.rawData);
  const loaded = loadCaSync({
    keyPem: inter.pkcs8Pem,
    chainPem: toPem(interDer, 'CERTIFICATE') + toPem(rootDer, 'CERTIFICATE'),
  });
  return { ...loaded, rootKeyPem: root.pkcs8Pem };
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into DER certificates, in order. */
export function pemCertificatesToDer(pem: string): Buffer<ArrayBuffer>[] {
  const out: Buffer<ArrayBuffer>[] = [];
  for (const m of pem.matchAll(PEM_CERT_RE)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

function loadCaSync({ keyPem, chainPem }: LoadCaOptions): CaMaterial {
  if (typeof keyPem !== 'string' || typeof chainPem !== 'string')
    throw new TypeError('keyPem and chainPem must be PEM strings');
  const ders = pemCertificatesToDer(chainPem);
  if (ders.length < 2)
    throw new Error(`CA chain must hold the intermediate then the root, found ${ders.length} certificate(s)`);
  const nodeCerts = ders.map((d, i) => {
    try {
      return new NodeX509Certificate(d);
    } catch (e) {
      throw new Error(`CA chain certificate #${i} does not parse`, { cause: e });
    }
  });
  // Each certificate is a CA, signed by the next one; the last one is a self-signed root.
  nodeCerts.forEach((c, i) => {
    if (!c.ca) throw new Error(`CA chain certificate #${i} (${c.subject}) is not a CA`);
    const issuer = nodeCerts[i + 1] ?? c;
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) {
      throw new Error(
        `CA chain certificate #${i} (${c.subject}) is not signed by ${i + 1 < nodeCerts.length ? `#${i + 1}` : 'itself'}`,
      );
    }
  });

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (e) {
    throw new Error('CA private key does not parse', { cause: e });
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('CA private key must be ECDSA P-256');
  }
  const issuing = nodeCerts[0]!;
  if (!issuing.checkPrivateKey(privateKey))
    throw new Error('CA private key does not match the intermediate certificate');

  const interCore = CoreX509Certificate.parse(ders[0]!);
  // The subject Name exactly as encoded (the leaf's issuer must equal it byte for byte).
  const issuerNameDer = tlv(0x30, interCore.subject);
  const authorityKeyId = interCore.extSubjectKeyID?.keyIdentifier ?? subjectKeyIdentifier(interCore.publicKey);

  const rootDer = ders[ders.length - 1]!;
  const interDer = ders[0]!;
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    root: { der: rootDer, pem: toPem(rootDer, 'CERTIFICATE'), certificate: new x509.X509Certificate(rootDer) },
    intermediate: {
      der: interDer,
      pem: toPem(interDer, 'CERTIFICATE'),
      certificate: new x509.X509Certificate(interDer),
    },
    chainPem: ders.map((d) => toPem(d, 'CERTIFICATE')).join(''),
    keyPem: toPem(pkcs8, 'PRIVATE KEY'),
    privateKey,
    issuerNameDer,
    authorityKeyId: Buffer.from(authorityKeyId),
  };
}

/**
 * Reloads a CA from the intermediate's private key and the chain (intermediate then root), checking
 * that every certificate is a CA signed by the next, the last is self-signed, and the key matches.
 */
export async function loadCa(opts: LoadCaOptions): Promise<CaMaterial> {
  return loadCaSync(opts);
}
