/**
 * A signature checked against a digest instead of the message: what a message-signature
 * (hashedrekord) bundle offers when only the artifact's digest is known, as sigstore-go does with
 * `WithArtifactDigest`. node:crypto hashes whatever it verifies, so ECDSA goes through
 * @noble/curves (audited; prehash off) and RSA PKCS#1 v1.5 through `publicDecrypt` (the
 * recovered DigestInfo is compared with the expected one). Ed25519 and RSA-PSS sign the message
 * itself (or a salted hash of it) and cannot be checked from a digest.
 */
import { constants, type KeyObject, publicDecrypt, timingSafeEqual } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import type { MessageSignature } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import type { SignedEntity } from '@sigstore/verify';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

export const DIGEST_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 32, sha384: 48, sha512: 64 };

const CURVES = { prime256v1: p256, secp384r1: p384 } as const;

const DIGEST_INFO_PREFIX: Readonly<Record<DigestAlgorithm, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const DIGEST_OF: Partial<Record<HashAlgorithm, DigestAlgorithm>> = {
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256', // as sigstore-js reads it
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

/** The message digest algorithm of a message-signature bundle (undefined: unsupported). */
export function messageDigestAlgorithm(ms: MessageSignature): DigestAlgorithm | undefined {
  return ms.messageDigest ? DIGEST_OF[ms.messageDigest.algorithm] : undefined;
}

/**
 * Verifies `signature` over a message whose `alg` digest is `digest`, under `key`: ECDSA P-256 /
 * P-384 (ASN.1 DER signature, high S accepted as FIPS 186 does) or RSA PKCS#1 v1.5. Any other key
 * type, or anything malformed, is false.
 */
export function verifyPrehashed(
  key: KeyObject,
  alg: DigestAlgorithm,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (digest.length !== DIGEST_LENGTH[alg]) return false;
  try {
    if (key.asymmetricKeyType === 'ec') {
      const curve = CURVES[key.asymmetricKeyDetails?.namedCurve as keyof typeof CURVES];
      const jwk = key.export({ format: 'jwk' });
      if (!curve || !jwk.x || !jwk.y) return false;
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
      return curve.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
    }
    if (key.asymmetricKeyType === 'rsa') {
      const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      const expected = Buffer.concat([DIGEST_INFO_PREFIX[alg], digest]);
      return recovered.length === expected.length && timingSafeEqual(recovered, expected);
    }
  } catch {
    return false;
  }
  return false;
}

/**
 * A signature content for the stock `Verifier` that checks a message signature against `digest`
 * (the caller's, or the bundle's own message digest) instead of the artifact bytes.
 */
export function prehashedContent(
  ms: MessageSignature,
  alg: DigestAlgorithm,
  digest: Uint8Array,
): SignedEntity['signature'] {
  const want = Buffer.from(digest);
  const signature = Buffer.from(ms.signature);
  const eq = (a: Uint8Array, b: Buffer) => a.length === b.length && timingSafeEqual(Buffer.from(a), b);
  return {
    signature,
    compareSignature: (s) => eq(s, signature),
    compareDigest: (d) => eq(d, want),
    compareSignedDigest: (d) => eq(d, want),
    verifySignature: (key) => verifyPrehashed(key, alg, want, signature),
  };
}
