/**
 * `Signer` implementations for @sigstore/sign's bundle builders.
 *
 * - `caSigner`: keyless, Fulcio-style. Each `sign()` makes an ephemeral ECDSA P-256 key, has the
 *   private CA issue a 10-minute leaf for the caller's identity, signs the data (for a DSSE bundle
 *   the builder passes the PAE bytes) with ECDSA-SHA256 (ASN.1 DER), and forgets the key.
 * - `keySigner`: a long-lived key, producing bundles with a public-key hint instead of a
 *   certificate (verify them with `verifyBundle(..., { publicKey })`).
 */

import type { KeyObject } from 'node:crypto';
import { createPublicKey, sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import type { Signature, Signer } from '@sigstore/sign';
import type { CaMaterial } from './ca.ts';
import { type ExtraExtension, issueLeafSync, type LeafExtensions } from './leaf.ts';

export interface CaSignerOptions {
  /** The caller's identity (URI SAN of every leaf). */
  subjectUri: string;
  /** Issuer URL written into the Fulcio issuer extensions. */
  issuer: string;
  /** Clock for the leaf's notBefore. Default `() => new Date()`. */
  now?: () => Date;
  /** Source repository / build signer extensions for the leaves. */
  extensions?: LeafExtensions;
  /** Further extensions for the leaves (a workload's Fulcio extensions, src/identity/fulcio.ts). */
  extraExtensions?: readonly ExtraExtension[];
}

/** What the last `sign()` call of a `CaSigner` produced (useful to callers that store it). */
export interface IssuedSigning {
  /** Leaf certificate, DER. */
  certificate: Uint8Array;
  /** Leaf certificate, PEM. */
  pem: string;
  /** The leaf's notBefore as passed to the CA. */
  issuedAt: Date;
}

export interface CaSigner extends Signer {
  readonly subjectUri: string;
  readonly issuer: string;
}

/**
 * Makes the keyless signer of one signing. deps.ts picks the implementation: in this thread
 * (`inThreadCaSigners`, the default and the Workers runtime's) or a pool of worker threads on Node
 * (src/runtime/signing-pool.ts), which signs the same way off the event loop.
 */
export type CaSignerFactory = (opts: CaSignerOptions) => CaSigner;

/** `caSigner` over `ca`, in the calling thread. */
export function inThreadCaSigners(ca: CaMaterial): CaSignerFactory {
  return (opts) => caSigner(ca, opts);
}

/**
 * A keyless signer backed by the private CA. Safe to share between concurrent builds: every call
 * uses its own ephemeral key and certificate.
 */
export function caSigner(ca: CaMaterial, opts: CaSignerOptions): CaSigner {
  const { subjectUri, issuer, extensions, extraExtensions } = opts;
  const now = opts.now ?? (() => new Date());
  return {
    subjectUri,
    issuer,
    async sign(data: Buffer): Promise<Signature> {
      return signWithEphemeralKey(ca, { subjectUri, issuer, extensions, extraExtensions, now: now() }, data).signature;
    },
  };
}

/**
 * The synchronous core of `caSigner`: ephemeral key -> leaf -> ECDSA-SHA256 DER signature.
 */
export function signWithEphemeralKey(
  ca: CaMaterial,
  opts: {
    subjectUri: string;
    issuer: string;
    now: Date;
    extensions?: LeafExtensions | undefined;
    extraExtensions?: readonly ExtraExtension[] | undefined;
  },
  data: Uint8Array,
): { signature: Signature; leaf: IssuedSigning } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = issueLeafSync(ca, {
    subjectUri: opts.subjectUri,
    issuer: opts.issuer,
    publicKey,
    now: opts.now,
    ...(opts.extensions ? { extensions: opts.extensions } : {}),
    ...(opts.extraExtensions ? { extraExtensions: opts.extraExtensions } : {}),
  });
  const signature = cryptoSign('sha256', data, privateKey); // DER (dsaEncoding 'der' is the default)
  return {
    signature: { signature, key: { $case: 'x509Certificate', certificate: leaf.pem } },
    leaf: { certificate: leaf.certificate, pem: leaf.pem, issuedAt: opts.now },
  };
}

export interface KeySignerOptions {
  /** The key hint written into the bundle (`verificationMaterial.publicKey.hint`) and the DSSE keyid. */
  hint?: string;
}

/** A signer with a long-lived key (ECDSA P-256 normally); bundles carry a public-key hint, not a certificate. */
export function keySigner(privateKey: KeyObject, opts: KeySignerOptions = {}): Signer {
  if (privateKey.type !== 'private') throw new TypeError('keySigner needs a private key');
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  // Ed25519/Ed448 take no separate digest; ECDSA (DER) and RSA sign SHA-256.
  const digest =
    privateKey.asymmetricKeyType === 'ed25519' || privateKey.asymmetricKeyType === 'ed448' ? null : 'sha256';
  return {
    async sign(data: Buffer): Promise<Signature> {
      const signature = cryptoSign(digest, data, privateKey);
      return {
        signature,
        key: { $case: 'publicKey', publicKey: publicKeyPem, ...(opts.hint !== undefined ? { hint: opts.hint } : {}) },
      };
    },
  };
}
