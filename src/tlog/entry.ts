/**
 * Rekor v1 `dsse` v0.0.1 entry bodies and the signed entry timestamp (SET, "inclusion promise").
 *
 * What verifiers check (read from @sigstore/verify 4.x, dist/tlog/{index,dsse,set}.js):
 * - body `kind`/`apiVersion` must equal the bundle's kindVersion ("dsse"/"0.0.1");
 * - exactly one entry in spec.signatures, whose base64 `signature` decodes to the DSSE
 *   envelope's signature bytes;
 * - spec.payloadHash.value = hex SHA-256 of the raw (decoded) DSSE payload.
 * sigstore-js checks neither `envelopeHash` nor `verifier`; we still fill both as Rekor does,
 * because Rekor-compatible tooling indexes and compares them.
 *
 * envelopeHash: Rekor computes SHA-256 over the envelope JSON string *as submitted*
 * (pkg/types/dsse/v0.0.1/entry.go hashes `ProposedContent.Envelope` verbatim). The one
 * well-defined serialisation is what @sigstore/sign submits: JSON.stringify of the
 * protobuf-specs JSON form, i.e. {"payload","payloadType","signatures":[{"sig"}]} in that
 * order, standard padded base64, no whitespace, no empty `keyid`. With no keyid that string
 * is also its own JCS form and is byte-identical to the envelope inside a v0.3 bundle
 * serialised by @sigstore/bundle, so anyone can recompute the hash from the bundle.
 */

import type { KeyObject } from 'node:crypto';
import { sign, verify } from 'node:crypto';
import { toBase64 as b64, jcs as jcsText, sha256hex } from '../util/encoding.ts';

/** A single-signature DSSE envelope (the only shape a Sigstore bundle carries). */
export interface DsseEnvelopeInput {
  payload: Uint8Array;
  payloadType: string;
  signature: Uint8Array;
}

/** The fields an inclusion promise signs. */
export interface PromiseFields {
  /** The canonicalized entry body bytes (exactly as logged). */
  body: Uint8Array;
  /** Unix seconds. */
  integratedTime: number;
  /** SHA-256 of the log key's SPKI DER. */
  logId: Uint8Array;
  logIndex: number;
}

export const DSSE_KIND = 'dsse';
export const DSSE_API_VERSION = '0.0.1';

const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');

function jcs(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(jcsText(value), 'utf8'));
}

function assertEnvelope(env: DsseEnvelopeInput): void {
  // protobuf JSON drops empty fields, so an empty one would change the hashed serialisation.
  if (env.payload.length === 0) throw new Error('entry: DSSE payload is empty');
  if (env.payloadType.length === 0) throw new Error('entry: DSSE payloadType is empty');
  if (env.signature.length === 0) throw new Error('entry: DSSE signature is empty');
}

/**
 * The DSSE envelope JSON whose SHA-256 is the entry's envelopeHash: the exact string
 * @sigstore/sign would submit to Rekor (and @sigstore/bundle writes into a bundle).
 */
export function dsseEnvelopeJson(envelope: DsseEnvelopeInput): string {
  assertEnvelope(envelope);
  return JSON.stringify({
    payload: b64(envelope.payload),
    payloadType: envelope.payloadType,
    signatures: [{ sig: b64(envelope.signature) }],
  });
}

/**
 * JCS bytes of a Rekor v1 dsse v0.0.1 entry body. `verifierPem` is the signer's PEM text
 * (certificate or public key) exactly as Rekor stores it: base64 of the PEM bytes.
 */
export function dsseEntryBody(input: { envelope: DsseEnvelopeInput; verifierPem: string }): Uint8Array {
  const { envelope, verifierPem } = input;
  // Rekor's verifier field holds a PEM block; anything else would not parse in Rekor tooling.
  if (!/^-----BEGIN [A-Z0-9 ]+-----\r?\n/.test(verifierPem)) {
    throw new Error('entry: verifierPem must be PEM text');
  }
  return jcs({
    apiVersion: DSSE_API_VERSION,
    kind: DSSE_KIND,
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256hex(dsseEnvelopeJson(envelope)) },
      payloadHash: { algorithm: 'sha256', value: sha256hex(envelope.payload) },
      signatures: [
        { signature: b64(envelope.signature), verifier: Buffer.from(verifierPem, 'utf8').toString('base64') },
      ],
    },
  });
}

// Reject fields that would make the signed JSON differ from what verifiers rebuild.
function assertPromiseFields(f: PromiseFields): void {
  for (const [name, v] of [
    ['integratedTime', f.integratedTime],
    ['logIndex', f.logIndex],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`entry: ${name} must be a non-negative safe integer, got ${String(v)}`);
    }
  }
  if (f.logId.length !== 32) throw new Error(`entry: logId must be 32 bytes, got ${f.logId.length}`);
}

/**
 * The bytes a SET signs: JCS of {"body":<base64>,"integratedTime":<int>,"logID":<hex>,"logIndex":<int>},
 * as @sigstore/verify rebuilds them (it uses lower-case hex for logID and Number() for the integers).
 */
export function inclusionPromisePayload(fields: PromiseFields): Uint8Array {
  assertPromiseFields(fields);
  return jcs({
    body: b64(fields.body),
    integratedTime: fields.integratedTime,
    logID: hex(fields.logId),
    logIndex: fields.logIndex,
  });
}

/** The SET: the log key's DER ECDSA-SHA256 signature over `inclusionPromisePayload(fields)`. */
export function inclusionPromise(fields: PromiseFields, privateKey: KeyObject): Uint8Array {
  if (privateKey.type !== 'private') throw new Error('entry: inclusionPromise needs the log private key');
  const sig = sign('sha256', inclusionPromisePayload(fields), privateKey);
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
}

/**
 * Check a SET as @sigstore/verify does (its time-window check against the trusted root's
 * validFor is the caller's job). Returns false for a bad signature; throws on malformed fields.
 */
export function verifyInclusionPromise(fields: PromiseFields, signature: Uint8Array, publicKey: KeyObject): boolean {
  const data = inclusionPromisePayload(fields);
  try {
    return verify('sha256', data, publicKey, signature);
  } catch {
    // Malformed DER can make OpenSSL throw instead of returning false.
    return false;
  }
}

/**
 * Rekor v1 `hashedrekord` v0.0.1: the entry kind for a message signature (cosign sign-blob).
 *
 * What verifiers check (@sigstore/verify 4.x, dist/tlog/hashedrekord.js): body kind/apiVersion
 * equal the bundle's kindVersion; base64 `spec.signature.content` decodes to the bundle's
 * signature bytes; `spec.data.hash.value` (hex) equals the bundle's message digest. Rekor stores
 * the verifier (certificate or public key) as base64 of its PEM text, as for dsse.
 */
export const HASHEDREKORD_KIND = 'hashedrekord';
export const HASHEDREKORD_API_VERSION = '0.0.1';

const HASHEDREKORD_DIGEST_HEX_LENGTH = { sha256: 64, sha384: 96, sha512: 128 } as const;

/**
 * JCS bytes of a Rekor v1 hashedrekord v0.0.1 entry body. `publicKeyPem`: the signing
 * certificate or public key, PEM.
 */
export function hashedrekordEntryBody(input: {
  digestHex: string;
  signature: Uint8Array;
  publicKeyPem: string;
  /** The message digest algorithm (Rekor allows these three). Default sha256. */
  algorithm?: keyof typeof HASHEDREKORD_DIGEST_HEX_LENGTH;
}): Uint8Array {
  const algorithm = input.algorithm ?? 'sha256';
  const length = HASHEDREKORD_DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) throw new Error(`entry: unsupported hashedrekord digest algorithm ${String(algorithm)}`);
  // Rekor compares the hex value as given; only lower-case hex of the right length is canonical.
  if (input.digestHex.length !== length || !/^[0-9a-f]+$/.test(input.digestHex)) {
    throw new Error(`entry: digestHex must be ${length} lower-case hex characters for ${algorithm}`);
  }
  if (input.signature.length === 0) throw new Error('entry: hashedrekord signature is empty');
  if (!/^-----BEGIN [A-Z0-9 ]+-----\r?\n/.test(input.publicKeyPem)) {
    throw new Error('entry: publicKeyPem must be PEM text');
  }
  return jcs({
    apiVersion: HASHEDREKORD_API_VERSION,
    kind: HASHEDREKORD_KIND,
    spec: {
      data: { hash: { algorithm, value: input.digestHex } },
      signature: {
        content: b64(input.signature),
        publicKey: { content: Buffer.from(input.publicKeyPem, 'utf8').toString('base64') },
      },
    },
  });
}
