/**
 * Rekor v1 proposed entries (`POST /api/v1/log/entries`): the request shapes stock clients send
 * (sigstore-js `@sigstore/sign` witness/tlog/entry.js, cosign), parsed into what was signed and
 * by whom, and the canonicalized body waybill logs for each, as Rekor canonicalizes them:
 *
 * - `dsse` 0.0.1: `spec.proposedContent.envelope` (the envelope JSON as a string) and
 *   `verifiers` (base64 PEM); logged as the body `dsseEntryBody` writes.
 * - `hashedrekord` 0.0.1: `spec.data.hash` and `spec.signature` {content, publicKey.content};
 *   logged as `hashedrekordEntryBody` writes.
 * - `intoto` 0.0.2: `spec.content.envelope` with the payload and each signature base64 twice
 *   (Rekor's `strfmt.Base64` of the base64 text) and the signer's `publicKey`, plus the client's
 *   envelope `hash`; logged without the payload and with Rekor's `payloadHash`, as Rekor's
 *   pkg/types/intoto/v0.0.2 Canonicalize does.
 *
 * Pure: parsing and canonical bytes only. Whether the signature holds and the signer is
 * acceptable is the caller's question.
 */
import { AppError, type FieldError } from '../errors.ts';
import { fromBase64Strict, jcs, sha256hex } from '../util/encoding.ts';
import { dsseEntryBody, hashedrekordEntryBody } from './entry.ts';

export interface SignedEnvelope {
  payload: Uint8Array;
  payloadType: string;
  signature: Uint8Array;
  keyid: string;
}

export type ProposedEntry =
  | { kind: 'dsse'; version: '0.0.1'; verifierPem: string; envelope: SignedEnvelope; body: Uint8Array }
  | { kind: 'intoto'; version: '0.0.2'; verifierPem: string; envelope: SignedEnvelope; body: Uint8Array }
  | {
      kind: 'hashedrekord';
      version: '0.0.1';
      verifierPem: string;
      digestHex: string;
      signature: Uint8Array;
      body: Uint8Array;
    };

const PEM = /^-----BEGIN [A-Z0-9 ]+-----\r?\n/;

class Problems {
  readonly list: FieldError[] = [];
  add(path: string, message: string): undefined {
    this.list.push({ path, message });
    return undefined;
  }
  fail(what: string): never {
    throw new AppError('VALIDATION_FAILED', `invalid ${what} entry`, { errors: this.list });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function object(p: Problems, v: unknown, path: string): Record<string, unknown> | undefined {
  return isObject(v) ? v : p.add(path, 'must be an object');
}

function text(p: Problems, v: unknown, path: string): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : p.add(path, 'must be a non-empty string');
}

function base64(p: Problems, v: unknown, path: string): Uint8Array | undefined {
  const s = text(p, v, path);
  if (s === undefined) return undefined;
  const bytes = fromBase64Strict(s);
  return bytes && bytes.length > 0 ? bytes : p.add(path, 'must be standard base64');
}

/** A base64 value whose bytes are a base64 text again (intoto 0.0.2's payload and signatures). */
function base64Twice(p: Problems, v: unknown, path: string): { outer: string; bytes: Uint8Array } | undefined {
  const inner = base64(p, v, path);
  if (!inner) return undefined;
  const bytes = fromBase64Strict(Buffer.from(inner).toString('latin1'));
  return bytes && bytes.length > 0 ? { outer: v as string, bytes } : p.add(path, 'must be base64 of base64');
}

function pem(p: Problems, v: unknown, path: string): string | undefined {
  const bytes = base64(p, v, path);
  if (!bytes) return undefined;
  const s = Buffer.from(bytes).toString('utf8');
  return PEM.test(s) ? s : p.add(path, 'must be base64 of a PEM certificate or public key');
}

/** Parse a proposed entry; VALIDATION_FAILED naming every bad field. */
export function parseProposedEntry(json: unknown): ProposedEntry {
  const p: Problems = new Problems();
  const entry = object(p, json, '/') ?? p.fail('log');
  const kind = entry.kind;
  if (kind !== 'dsse' && kind !== 'hashedrekord' && kind !== 'intoto') {
    p.add('/kind', 'waybill logs dsse 0.0.1, hashedrekord 0.0.1 and intoto 0.0.2 entries');
    return p.fail('log');
  }
  const expected = { dsse: '0.0.1', hashedrekord: '0.0.1', intoto: '0.0.2' } as const;
  if (entry.apiVersion !== expected[kind]) p.add('/apiVersion', `must be ${expected[kind]} for kind ${kind}`);
  const spec = object(p, entry.spec, '/spec') ?? p.fail(kind);
  if (kind === 'dsse') return dsse(p, spec);
  if (kind === 'hashedrekord') return hashedrekord(p, spec);
  return intoto(p, spec);
}

function dsse(p: Problems, spec: Record<string, unknown>): ProposedEntry {
  const proposed = object(p, spec.proposedContent, '/spec/proposedContent') ?? p.fail('dsse');
  const envelopeText = text(p, proposed.envelope, '/spec/proposedContent/envelope');
  let env: Record<string, unknown> | undefined;
  if (envelopeText !== undefined) {
    try {
      env = object(p, JSON.parse(envelopeText), '/spec/proposedContent/envelope');
    } catch {
      p.add('/spec/proposedContent/envelope', 'must be a DSSE envelope as JSON text');
    }
  }
  const verifiers = proposed.verifiers;
  if (!Array.isArray(verifiers) || verifiers.length !== 1)
    p.add('/spec/proposedContent/verifiers', 'must hold exactly one verifier');
  const verifierPem = Array.isArray(verifiers) ? pem(p, verifiers[0], '/spec/proposedContent/verifiers/0') : undefined;
  const envelope = env ? envelopeOf(p, env, '/spec/proposedContent/envelope', false) : undefined;
  if (p.list.length > 0 || !envelope || !verifierPem) p.fail('dsse');
  return {
    kind: 'dsse',
    version: '0.0.1',
    verifierPem,
    envelope,
    body: dsseEntryBody({ envelope, verifierPem }),
  };
}

function signatureList(p: Problems, v: unknown, path: string): Record<string, unknown> | undefined {
  // A Sigstore bundle's DSSE envelope carries exactly one signature.
  if (!Array.isArray(v) || v.length !== 1) return p.add(path, 'must hold exactly one signature');
  return object(p, v[0], `${path}/0`);
}

function envelopeOf(
  p: Problems,
  env: Record<string, unknown>,
  path: string,
  twice: boolean,
): SignedEnvelope | undefined {
  const payloadType = text(p, env.payloadType, `${path}/payloadType`);
  const payload = twice
    ? base64Twice(p, env.payload, `${path}/payload`)?.bytes
    : base64(p, env.payload, `${path}/payload`);
  const sig = signatureList(p, env.signatures, `${path}/signatures`);
  const signature = sig
    ? twice
      ? base64Twice(p, sig.sig, `${path}/signatures/0/sig`)?.bytes
      : base64(p, sig.sig, `${path}/signatures/0/sig`)
    : undefined;
  const keyid = sig?.keyid;
  if (keyid !== undefined && typeof keyid !== 'string') p.add(`${path}/signatures/0/keyid`, 'must be a string');
  if (!payloadType || !payload || !signature) return undefined;
  return { payloadType, payload, signature, keyid: typeof keyid === 'string' ? keyid : '' };
}

function hashedrekord(p: Problems, spec: Record<string, unknown>): ProposedEntry {
  const hash = object(p, object(p, spec.data, '/spec/data')?.hash, '/spec/data/hash');
  const sig = object(p, spec.signature, '/spec/signature');
  if (hash && hash.algorithm !== 'sha256') p.add('/spec/data/hash/algorithm', 'must be sha256');
  const digestHex = typeof hash?.value === 'string' && /^[0-9a-f]{64}$/.test(hash.value) ? hash.value : undefined;
  if (hash && !digestHex) p.add('/spec/data/hash/value', 'must be 64 lower-case hex characters');
  const signature = sig ? base64(p, sig.content, '/spec/signature/content') : undefined;
  const key = sig ? object(p, sig.publicKey, '/spec/signature/publicKey') : undefined;
  const verifierPem = key ? pem(p, key.content, '/spec/signature/publicKey/content') : undefined;
  if (p.list.length > 0 || !digestHex || !signature || !verifierPem) p.fail('hashedrekord');
  return {
    kind: 'hashedrekord',
    version: '0.0.1',
    verifierPem,
    digestHex,
    signature,
    body: hashedrekordEntryBody({ digestHex, signature, publicKeyPem: verifierPem }),
  };
}

function intoto(p: Problems, spec: Record<string, unknown>): ProposedEntry {
  const content = object(p, spec.content, '/spec/content') ?? p.fail('intoto');
  const env = object(p, content.envelope, '/spec/content/envelope');
  const hash = object(p, content.hash, '/spec/content/hash');
  if (hash && (hash.algorithm !== 'sha256' || typeof hash.value !== 'string' || !/^[0-9a-f]{64}$/.test(hash.value)))
    p.add('/spec/content/hash', 'must be {"algorithm": "sha256", "value": <64 hex>}');
  const envelope = env ? envelopeOf(p, env, '/spec/content/envelope', true) : undefined;
  const sig = env && Array.isArray(env.signatures) && isObject(env.signatures[0]) ? env.signatures[0] : undefined;
  const verifierPem = sig ? pem(p, sig.publicKey, '/spec/content/envelope/signatures/0/publicKey') : undefined;
  if (p.list.length > 0 || !envelope || !verifierPem || !hash || !env || !sig) p.fail('intoto');
  const signature: Record<string, unknown> = { publicKey: sig.publicKey, sig: sig.sig };
  if (envelope.keyid !== '') signature.keyid = envelope.keyid;
  const body = jcs({
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: { payloadType: envelope.payloadType, signatures: [signature] },
        hash: { algorithm: 'sha256', value: hash.value },
        payloadHash: { algorithm: 'sha256', value: sha256hex(envelope.payload) },
      },
    },
  });
  return { kind: 'intoto', version: '0.0.2', verifierPem, envelope, body: new Uint8Array(Buffer.from(body, 'utf8')) };
}
