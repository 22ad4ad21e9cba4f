/**
 * Loading the trust for bundles signed elsewhere (GitHub Actions, npm, cosign): which trusted
 * roots, which signer identities and which long-lived public keys waybill accepts when it ingests
 * a bundle. Every bad file or value throws an Error naming it and the reason, at start-up.
 *
 * - Trusted roots: TrustedRoot JSON files; the name `public-good` means the public-good Sigstore
 *   root shipped in `@sigstore/tuf`'s seeds (offline, so it may be stale).
 * - Identity rules (optional): `[{"issuer": "<exact>", "subject": "<anchored regexp>"}]`.
 * - Public keys: PEM SPKI files, given as `<hint>=<path>` or as `<path>`. A key given by path
 *   answers to the hints its signers use: cosign's (base64 SHA-256 of the SPKI DER) and npm's
 *   registry key id (`SHA256:<base64>`, the OpenSSH fingerprint of the key).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { messageOf } from '../errors.ts';
import { PUBLIC_GOOD, parseTrustedRoot, publicGoodTrustedRoot } from './trust-material.ts';

export interface IdentityRule {
  /** Exact OIDC issuer. */
  issuer: string;
  /** A regular expression anchored with ^...$, matched against the certificate's SAN. */
  subject: string;
}

export interface ExternalTrustInput {
  /** TrustedRoot JSON objects (or text) with a name used in errors. */
  roots: Array<{ name: string; trustedRoot: unknown }>;
  /** PEM SPKI public keys; without `hint`, the key answers to `keyHints(key)`. */
  keys?: Array<{ name: string; pem: string; hint?: string }>;
  /** Identity rules JSON (see `parseIdentityRules`); undefined = no rules. */
  identities?: { name: string; rules: unknown };
}

export interface LoadedRoot {
  name: string;
  /** The JSON object handed to verifyBundle (which caches its parse per object). */
  json: Record<string, unknown>;
}

export interface LoadedKey {
  name: string;
  /** The hint the signer is recorded under (`key:<hint>`): the configured one, else cosign's. */
  hint: string;
  /** Every hint a bundle may name this key by. */
  hints: string[];
  pem: string;
}

/** The default key hint: base64 SHA-256 of the key's SPKI DER (cosign's keyid). */
export function keyHint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

const SSH_EC = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' } as const;

/**
 * npm's registry key id: `SHA256:` and the unpadded base64 SHA-256 of the key in OpenSSH wire
 * form (RFC 4253 6.6, RFC 5656 3.1), i.e. `ssh-keygen -l`'s fingerprint. Undefined for key types
 * OpenSSH has no form for.
 */
export function sshFingerprint(key: KeyObject): string | undefined {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  const field = (b: Uint8Array | string) => {
    const bytes = typeof b === 'string' ? Buffer.from(b) : Buffer.from(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    return Buffer.concat([len, bytes]);
  };
  const mpint = (b64url: string) => {
    const raw = Buffer.from(b64url, 'base64url');
    return field(raw[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), raw]) : raw);
  };
  let blob: Buffer;
  if (jwk.kty === 'EC' && jwk.crv && jwk.crv in SSH_EC && jwk.x && jwk.y) {
    const curve = SSH_EC[jwk.crv as keyof typeof SSH_EC];
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    blob = Buffer.concat([field(`ecdsa-sha2-${curve}`), field(curve), field(point)]);
  } else if (jwk.kty === 'RSA' && jwk.e && jwk.n) {
    blob = Buffer.concat([field('ssh-rsa'), mpint(jwk.e), mpint(jwk.n)]);
  } else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) {
    blob = Buffer.concat([field('ssh-ed25519'), field(Buffer.from(jwk.x, 'base64url'))]);
  } else {
    return undefined;
  }
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Reads trust roots, identity rules and public keys from files (synchronously). */
export function readExternalTrustFiles(opts: {
  trustRootFiles: string[];
  identitiesFile?: string | undefined;
  keyFiles: string[];
}): ExternalTrustInput {
  const roots = opts.trustRootFiles.map((file) => {
    if (file === PUBLIC_GOOD) return { name: PUBLIC_GOOD, trustedRoot: publicGoodTrustedRoot() };
    return { name: file, trustedRoot: readJsonFile(file, 'trusted root') };
  });
  const keys = opts.keyFiles.map((spec) => {
    const { hint, path } = parseKeySpec(spec);
    return { name: path, pem: readTextFile(path, 'public key'), ...(hint !== undefined ? { hint } : {}) };
  });
  const identities =
    opts.identitiesFile !== undefined
      ? { name: opts.identitiesFile, rules: readJsonFile(opts.identitiesFile, 'identity rules') }
      : undefined;
  return { roots, keys, ...(identities ? { identities } : {}) };
}

/**
 * `<hint>=<path>` or `<path>`. A spec that names an existing file is a path (paths may hold `=`);
 * otherwise it splits at the first `=` not followed by another `=` (base64 hints end in padding).
 */
export function parseKeySpec(spec: string): { hint?: string; path: string } {
  if (existsSync(spec)) return { path: spec };
  const m = /^(.+?=*)=(?!=)(.+)$/s.exec(spec);
  if (!m) return { path: spec };
  return { hint: m[1]!, path: m[2]! };
}

function readTextFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`external trust: cannot read ${what} file ${file}: ${messageOf(e)}`, { cause: e });
  }
}

function readJsonFile(file: string, what: string): unknown {
  const text = readTextFile(file, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`external trust: ${what} file ${file} is not valid JSON: ${messageOf(e)}`, { cause: e });
  }
}

export function loadRoot(name: string, input: unknown): LoadedRoot {
  let json: unknown = input;
  try {
    if (typeof input === 'string') json = JSON.parse(input);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a JSON object');
    const mediaType = (json as { mediaType?: unknown }).mediaType;
    if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot'))
      throw new Error(`not a Sigstore TrustedRoot (mediaType ${JSON.stringify(mediaType)})`);
    parseTrustedRoot(json);
  } catch (e) {
    const reason = messageOf(e).replace(/^trusted root:? /, '');
    throw new Error(`external trust: trusted root ${name}: ${reason}`, { cause: e });
  }
  return { name, json: json as Record<string, unknown> };
}

export function loadKey(name: string, pem: string, hint: string | undefined): LoadedKey {
  const fail = (reason: string, cause?: unknown): never => {
    throw new Error(`external trust: public key ${name}: ${reason}`, cause === undefined ? undefined : { cause });
  };
  if (/PRIVATE KEY-----/.test(pem)) fail('holds a private key; give the public key (PEM SPKI) only');
  const blocks = pem.match(/-----BEGIN [A-Z0-9 ]+-----/g) ?? [];
  if (blocks.length !== 1 || blocks[0] !== '-----BEGIN PUBLIC KEY-----') {
    fail('must hold exactly one PEM "PUBLIC KEY" block');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    return fail(`does not parse: ${messageOf(e)}`, e);
  }
  if (hint !== undefined && hint.trim() === '') fail('the key hint is empty');
  const ssh = sshFingerprint(key);
  const hints = hint !== undefined ? [hint] : [keyHint(key), ...(ssh ? [ssh] : [])];
  return { name, hint: hints[0]!, hints, pem: key.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Validates an identity rules document: a non-empty array of `{issuer, subject}` with anchored, compiling regexps. */
export function parseIdentityRules(json: unknown, name = 'identity rules'): IdentityRule[] {
  const fail = (reason: string): never => {
    throw new Error(`external trust: identity rules ${name}: ${reason}`);
  };
  if (!Array.isArray(json)) return fail('must be a JSON array of {"issuer", "subject"} objects');
  if (json.length === 0)
    fail('lists no rule (no certificate would be accepted); omit the file to accept any signer of the trusted roots');
  return json.map((rule: unknown, i): IdentityRule => {
    if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) return fail(`[${i}] must be an object`);
    const r = rule as Record<string, unknown>;
    const unknown = Object.keys(r).filter((k) => k !== 'issuer' && k !== 'subject');
    if (unknown.length > 0) fail(`[${i}] has unknown field(s) ${unknown.join(', ')}`);
    const { issuer, subject } = r;
    if (typeof issuer !== 'string' || issuer.length === 0) fail(`[${i}].issuer must be a non-empty string`);
    if (typeof subject !== 'string' || subject.length === 0) return fail(`[${i}].subject must be a non-empty string`);
    if (!isAnchored(subject))
      fail(`[${i}].subject ${JSON.stringify(subject)} must be anchored: start with ^ and end with $`);
    try {
      new RegExp(subject, 'u');
    } catch (e) {
      fail(`[${i}].subject ${JSON.stringify(subject)} is not a valid regular expression: ${messageOf(e)}`);
    }
    return { issuer: issuer as string, subject };
  });
}

function isAnchored(re: string): boolean {
  if (!re.startsWith('^') || !re.endsWith('$')) return false;
  // The final $ must not be escaped: count the backslashes before it.
  let n = 0;
  for (let i = re.length - 2; i >= 0 && re[i] === '\\'; i--) n++;
  return n % 2 === 0 && re.length >= 2;
}
