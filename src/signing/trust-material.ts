/**
 * Reading trusted roots (protobuf-specs TrustedRoot JSON), for bundles and for the log's own
 * checkpoints and SETs: parsing with the checks sigstore-js leaves out, the public-good root
 * shipped offline, and the log keys of a root with their validity windows.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ASN1Obj, type X509Certificate as CoreX509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import seeds from '@sigstore/tuf/seeds.json' with { type: 'json' };
import { type TrustMaterial, toTrustMaterial } from '@sigstore/verify';
import { fromBase64Strict } from '../util/encoding.ts';
import { detailOf, VerifyError } from './verify-error.ts';

/** The trust-root name that stands for the public-good Sigstore root. */
export const PUBLIC_GOOD = 'public-good';

/** The public-good Sigstore TrustedRoot shipped base64 in `@sigstore/tuf/seeds.json` (offline; may be stale). */
export function publicGoodTrustedRoot(): unknown {
  const targets = (seeds as Record<string, { targets?: Record<string, string> }>)['https://tuf-repo-cdn.sigstore.dev']
    ?.targets;
  const b64 = targets?.['trusted_root.json'];
  if (!b64) throw new Error('@sigstore/tuf seeds hold no public-good trusted_root.json');
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
}

export interface ParsedRoot {
  material: Omit<TrustMaterial, 'publicKey'>;
  hasCtlogs: boolean;
}

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\.v\d+\.\d+)?\+json/;

// Parsing a trusted root (certificates, keys) costs ~1 ms: cache it per JSON object (do not mutate
// a root object after using it) and for the last few JSON texts.
const rootCache = new WeakMap<object, ParsedRoot>();
const rootTextCache = new Map<string, ParsedRoot>();
const ROOT_TEXT_CACHE_SIZE = 8;

/** A JSON object from an object, a JSON text or its bytes; else a `VerifyError` with `code`. */
export function jsonObject(what: string, input: unknown, code: VerifyError['code']): Record<string, unknown> {
  let json = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new VerifyError(code, `${what} is not valid JSON: ${detailOf(e)}`, { cause: e });
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new VerifyError(code, `${what} must be a JSON object`);
  }
  return json as Record<string, unknown>;
}

/**
 * Every key and authority must say from when it is trusted: the spec makes `validFor.start`
 * required, and sigstore-js would treat a missing start as "since forever".
 */
function missingStarts(json: Record<string, unknown>): string[] {
  const missing: string[] = [];
  const has = (v: unknown) => typeof (v as { start?: unknown } | undefined)?.start === 'string';
  for (const list of ['tlogs', 'ctlogs'] as const) {
    const items = Array.isArray(json[list]) ? (json[list] as Array<{ publicKey?: { validFor?: unknown } }>) : [];
    items.forEach((t, i) => {
      if (!has(t?.publicKey?.validFor)) missing.push(`${list}[${i}].publicKey.validFor.start`);
    });
  }
  for (const list of ['certificateAuthorities', 'timestampAuthorities'] as const) {
    const items = Array.isArray(json[list]) ? (json[list] as Array<{ validFor?: unknown }>) : [];
    items.forEach((ca, i) => {
      if (!has(ca?.validFor)) missing.push(`${list}[${i}].validFor.start`);
    });
  }
  return missing;
}

/** Parses a TrustedRoot (object, text or bytes) into sigstore-js trust material, or throws TRUST_ROOT_INVALID. */
export function parseTrustedRoot(input: unknown): ParsedRoot {
  if (input !== null && typeof input === 'object' && !(input instanceof Uint8Array)) {
    const cached = rootCache.get(input);
    if (cached) return cached;
  }
  if (typeof input === 'string') {
    const cached = rootTextCache.get(input);
    if (cached) return cached;
  }
  const json = jsonObject('trusted root', input, 'TRUST_ROOT_INVALID');
  if (typeof json.mediaType !== 'string' || !MEDIA_TYPE.test(json.mediaType)) {
    throw new VerifyError('TRUST_ROOT_INVALID', `trusted root has an unexpected mediaType: ${String(json.mediaType)}`);
  }
  const missing = missingStarts(json);
  if (missing.length > 0) {
    throw new VerifyError(
      'TRUST_ROOT_INVALID',
      `trusted root: ${missing.join(', ')} missing (a validity start is required)`,
    );
  }
  let parsed: ParsedRoot;
  try {
    const root = TrustedRoot.fromJSON(json);
    const { publicKey: _unused, ...material } = toTrustMaterial(root);
    for (const ca of [...material.certificateAuthorities, ...material.timestampAuthorities])
      ca.certChain.forEach(memoizeCertificateDer);
    parsed = { material, hasCtlogs: root.ctlogs.length > 0 };
  } catch (e) {
    throw new VerifyError('TRUST_ROOT_INVALID', `trusted root does not parse: ${detailOf(e)}`, { cause: e });
  }
  if (parsed.material.certificateAuthorities.length === 0 && parsed.material.tlogs.length === 0) {
    throw new VerifyError('TRUST_ROOT_INVALID', 'trusted root lists no certificate authority and no transparency log');
  }
  if (typeof input === 'object' && input !== null && !(input instanceof Uint8Array)) rootCache.set(input, parsed);
  if (typeof input === 'string') {
    if (rootTextCache.size >= ROOT_TEXT_CACHE_SIZE) rootTextCache.delete(rootTextCache.keys().next().value!);
    rootTextCache.set(input, parsed);
  }
  return parsed;
}

/**
 * Speed, not semantics: @sigstore/core re-encodes a certificate (ASN1Obj.toDER, ~0.35 ms each,
 * allocation-bound) every time the chain builder compares or verifies it, ~15 times per bundle.
 * Parsed certificates are never mutated, so cache the library's own encoding of the certificate
 * and of its TBS on those instances (instance properties; the prototype is left alone). This
 * takes verification from ~6 ms to ~1.7 ms per bundle (most of the rest is six ECDSA verifications).
 */
export function memoizeCertificateDer(cert: CoreX509Certificate): void {
  for (const obj of [cert.root, cert.tbsCertificate]) {
    if (Object.hasOwn(obj, 'toDER')) continue;
    const der = ASN1Obj.prototype.toDER.call(obj);
    Object.defineProperty(obj, 'toDER', { value: (): Buffer => der, enumerable: false });
  }
}

/** A transparency-log key of a trusted root, with the window in which it signed (ms since the epoch). */
export interface LogKey {
  baseUrl: string;
  /** The log id: SHA-256 of the key's SPKI DER. */
  keyId: Uint8Array;
  publicKey: KeyObject;
  start: number;
  end: number;
}

/**
 * The log keys of a trusted root (`tlogs`), current and retired. A key whose window has no start,
 * or that does not parse, is not a usable key and is left out.
 */
export function logKeysOf(root: unknown): LogKey[] {
  const tlogs = (root as { tlogs?: unknown } | null)?.tlogs;
  const out: LogKey[] = [];
  for (const t of Array.isArray(tlogs) ? tlogs : []) {
    const log = t as {
      baseUrl?: unknown;
      logId?: { keyId?: unknown };
      publicKey?: { rawBytes?: unknown; validFor?: { start?: unknown; end?: unknown } };
    } | null;
    const raw = typeof log?.publicKey?.rawBytes === 'string' ? fromBase64Strict(log.publicKey.rawBytes) : null;
    const keyId = typeof log?.logId?.keyId === 'string' ? fromBase64Strict(log.logId.keyId) : null;
    const start = timeOf(log?.publicKey?.validFor?.start);
    const end = log?.publicKey?.validFor?.end === undefined ? Infinity : timeOf(log.publicKey.validFor.end);
    if (!raw || !keyId || start === undefined || end === undefined) continue;
    try {
      const publicKey = createPublicKey({ key: Buffer.from(raw), format: 'der', type: 'spki' });
      out.push({ baseUrl: typeof log?.baseUrl === 'string' ? log.baseUrl : '', keyId, publicKey, start, end });
    } catch {
      // a key that does not parse is not a log key we can use
    }
  }
  return out;
}

function timeOf(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
