/**
 * waybill's private certificate authority (Fulcio-like).
 *
 * - `generateCa` makes an ECDSA P-256 root and intermediate with @peculiar/x509 (once, at set-up).
 * - `loadCa` reloads them from PEM (intermediate private key + "intermediate then root" chain)
 *   and checks that the chain and the key hang together.
 * The leaves it issues are leaf.ts's; the DER and PEM helpers are der.ts's.
 */
import 'reflect-metadata';
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  X509Certificate as NodeX509Certificate,
  webcrypto,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { X509Certificate as CoreX509Certificate } from '@sigstore/core';
import { checkText, pemCertificatesToDer, randomSerial, subjectKeyIdentifier, tlv, toPem } from './der.ts';

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

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

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
      const by = i + 1 < nodeCerts.length ? `#${i + 1}` : 'itself';
      throw new Error(`CA chain certificate #${i} (${c.subject}) is not signed by ${by}`);
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
  // Compared as SPKI bytes rather than with X509Certificate.checkPrivateKey, which answers false
  // for a matching EC key in workerd (Cloudflare Workers).
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(privateKey)).equals(spki(issuing.publicKey)))
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
