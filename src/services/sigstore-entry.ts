// The Rekor side of the Sigstore-compatible API, pure: what a proposed entry signs and the
// bundle it becomes, and the certificate and key checks the Fulcio side shares.
import {
  createPublicKey,
  verify as cryptoVerify,
  type KeyObject,
  X509Certificate as NodeX509Certificate,
} from 'node:crypto';
import { bundleToJSON, toDSSEBundle, toMessageSignatureBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { AppError } from '../errors.ts';
import { INTOTO_PAYLOAD_TYPE } from '../intoto/statement.ts';
import { signatureStatement } from '../intoto/waybill.ts';
import { pemCertificatesToDer } from '../signing/der.ts';
import { verifyPrehashed } from '../signing/external.ts';
import { attestationId } from '../signing/witness.ts';
import type { ProposedEntry } from '../tlog/proposed.ts';
import { jcs, sha256hex } from '../util/encoding.ts';

/** What the entry signs, the bundle it becomes (without its tlog entry yet), and its signature check. */
export function entryContent(
  proposed: ProposedEntry,
  certificateDer: Buffer,
): {
  id: string;
  statement: unknown;
  bundle: ReturnType<typeof toDSSEBundle> | ReturnType<typeof toMessageSignatureBundle>;
  verify(key: KeyObject): boolean;
} {
  if (proposed.kind === 'hashedrekord') {
    const digest = Buffer.from(proposed.digestHex, 'hex');
    const bundle = toMessageSignatureBundle({
      digest,
      signature: Buffer.from(proposed.signature),
      certificate: certificateDer,
    });
    const statement = signatureStatement(proposed.digestHex);
    return {
      id: sha256hex(jcs(bundleToJSON(bundle).messageSignature)),
      statement,
      bundle,
      verify: (key) => verifyPrehashed(key, 'sha256', digest, proposed.signature),
    };
  }
  const env = proposed.envelope;
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw new AppError('VALIDATION_FAILED', `waybill logs in-toto statements (payload type ${INTOTO_PAYLOAD_TYPE})`, {
      errors: [{ path: '/spec', message: `the DSSE payload type must be ${INTOTO_PAYLOAD_TYPE}` }],
    });
  }
  const bundle = toDSSEBundle({
    artifact: Buffer.from(env.payload),
    artifactType: env.payloadType,
    signature: Buffer.from(env.signature),
    certificate: certificateDer,
    ...(env.keyid ? { keyHint: env.keyid } : {}),
  });
  let statement: unknown;
  try {
    statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(env.payload));
  } catch {
    throw new AppError('VALIDATION_FAILED', 'the DSSE payload is not UTF-8 JSON');
  }
  const pae = dsse.preAuthEncoding(env.payloadType, Buffer.from(env.payload));
  return {
    id: attestationId(bundleToJSON(bundle).dsseEnvelope),
    statement,
    bundle,
    verify: (key) => {
      try {
        return cryptoVerify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', pae, key, env.signature);
      } catch {
        return false;
      }
    },
  };
}

export function pemOf(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n');
  return `-----BEGIN CERTIFICATE-----\n${lines}-----END CERTIFICATE-----\n`;
}

export function parseCertificate(pem: string): { certificate: NodeX509Certificate; der: Buffer } {
  const [der] = pemCertificatesToDer(pem);
  if (!der) {
    throw new AppError(
      'VERIFICATION_FAILED',
      "waybill logs entries signed under its own certificates; the entry's verifier is not a certificate",
    );
  }
  try {
    return { certificate: new NodeX509Certificate(der), der };
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', "the entry's certificate does not parse", { cause: err });
  }
}

/** ECDSA P-256/P-384/P-521, RSA 2048-4096 or Ed25519, as Fulcio accepts. */
export function acceptableKey(input: string | Buffer, format: 'pem' | 'der'): KeyObject {
  let key: KeyObject;
  try {
    key =
      format === 'pem'
        ? createPublicKey(input)
        : createPublicKey({ key: input as Buffer, format: 'der', type: 'spki' });
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', 'the public key does not parse', {
      errors: [{ path: '/publicKeyRequest/publicKey/content', message: 'must be a PEM public key' }],
      cause: err,
    });
  }
  const d = key.asymmetricKeyDetails;
  const ok =
    (key.asymmetricKeyType === 'ec' && ['prime256v1', 'secp384r1', 'secp521r1'].includes(d?.namedCurve ?? '')) ||
    (key.asymmetricKeyType === 'rsa' && (d?.modulusLength ?? 0) >= 2048 && (d?.modulusLength ?? 0) <= 4096) ||
    key.asymmetricKeyType === 'ed25519';
  if (!ok) {
    throw new AppError('VALIDATION_FAILED', 'unsupported key: ECDSA P-256/P-384/P-521, RSA 2048-4096 or Ed25519', {
      errors: [{ path: '/publicKeyRequest/publicKey/content', message: 'unsupported key type or size' }],
    });
  }
  return key;
}
