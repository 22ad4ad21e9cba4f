/**
 * Fulcio-shaped leaf certificates from waybill's private CA (ca.ts).
 *
 * Leaf issuance runs once per signed statement, so it does not go through @peculiar/x509:
 * its ASN.1 object model (asn1js + asn1-schema) costs ~2.5 ms per certificate, while the leaf
 * has a fixed shape. The leaf's TBSCertificate is written directly as DER (der.ts; byte layouts
 * commented below), with the issuer name and authority key id copied byte for byte from the
 * intermediate, and signed synchronously with a node:crypto KeyObject (~0.1 ms per leaf).
 * The tests parse the result with @peculiar/x509, @sigstore/core and node:crypto.
 */
import { createPublicKey, sign as cryptoSign, KeyObject, type webcrypto } from 'node:crypto';
import { types as utilTypes } from 'node:util';
import type { CaMaterial } from './ca.ts';
import {
  checkText,
  derTime,
  derUtf8String,
  encodeOid,
  extension,
  P256_SPKI_PREFIX,
  randomSerial,
  subjectKeyIdentifier,
  tlv,
  toPem,
} from './der.ts';

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
   * Further extensions (a workload's Fulcio ones, src/identity/fulcio.ts), written after the
   * issuer ones in the order given. An OID the leaf already carries is refused.
   */
  extraExtensions?: readonly ExtraExtension[];
}

export interface IssuedLeaf {
  /** DER. */
  certificate: Uint8Array;
  pem: string;
}

export const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
export const OID_FULCIO_BUILD_SIGNER_URI = '1.3.6.1.4.1.57264.1.9';
export const OID_FULCIO_SOURCE_REPOSITORY_URI = '1.3.6.1.4.1.57264.1.12';
export const OID_FULCIO_SOURCE_REPOSITORY_DIGEST = '1.3.6.1.4.1.57264.1.13';
export const OID_FULCIO_SOURCE_REPOSITORY_REF = '1.3.6.1.4.1.57264.1.14';
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

/** Leaf validity (Fulcio's): 10 minutes. */
export const LEAF_VALIDITY_MS = 10 * 60 * 1000;

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
