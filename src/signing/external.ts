/**
 * Trust for bundles signed elsewhere (GitHub Actions, npm, cosign): which trusted roots, which
 * signer identities and which long-lived public keys waybill accepts when it ingests a bundle.
 *
 * - Trusted roots: TrustedRoot JSON files; the name `public-good` means the public-good Sigstore
 *   root shipped in `@sigstore/tuf`'s seeds (offline, so it may be stale).
 * - Identity rules (optional): `[{"issuer": "<exact>", "subject": "<anchored regexp>"}]`. When
 *   given, a certificate bundle is accepted only if some rule's issuer equals the certificate's
 *   OIDC issuer and its regexp matches the whole SAN. Without rules, every certificate that
 *   chains to a configured root is accepted (its identity is still recorded for policies).
 *   Rules do not apply to key bundles: configuring a key is the trust decision.
 * - Public keys: PEM SPKI files, given as `<hint>=<path>` or as `<path>`, whose hint is then the
 *   base64 SHA-256 of the key's SPKI DER (what cosign writes as the bundle's key hint / keyid).
 *   A key bundle names its key by that hint; the signer is recorded as `key:<hint>`, issuer `key`.
 *
 * DSSE bundles go through `verifyBundle` (src/signing/verify.ts). A message-signature bundle is
 * verified without the artifact, against its signed message digest (as sigstore-go does with
 * `WithArtifactDigest`): sigstore-js only verifies a message signature over the artifact bytes, so
 * this file runs the stock `Verifier` with a signature content that checks the signature over
 * the digest (ECDSA P-256/P-384 and RSA PKCS#1 v1.5; Ed25519 signs the message itself and cannot
 * be checked from a digest).
 */

import type { KeyObject } from 'node:crypto';
import { constants, createHash, createPublicKey, publicDecrypt, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Bundle, MessageSignature } from '@sigstore/bundle';
import { bundleFromJSON } from '@sigstore/bundle';
import { HashAlgorithm, TrustedRoot } from '@sigstore/protobuf-specs';
import type { SignedEntity, TrustMaterial } from '@sigstore/verify';
import { PolicyError, toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import type { VerifyErrorCode } from './verify.ts';
import { checkCertificateEncoding, checkInclusionProofs, messageOf, VerifyError, verifyBundle } from './verify.ts';

/** The trust-root name that stands for the public-good Sigstore root. */
export const PUBLIC_GOOD = 'public-good';

export interface IdentityRule {
  /** Exact OIDC issuer. */
  issuer: string;
  /** A regular expression anchored with ^...$, matched against the certificate's SAN. */
  subject: string;
}

export interface ExternalSigner {
  /** The certificate's SAN, or `key:<hint>` for a key bundle. */
  subject: string;
  /** The certificate's OIDC issuer, or `key` for a key bundle. */
  issuer: string;
}

export interface ExternalVerification {
  signer: ExternalSigner;
  bundle: Bundle;
  via: 'certificate' | 'key';
  /** PEM of what the signature verified under: the signing certificate, or the configured public key. */
  verifierPem: string;
  /** The trusted root (file name, or `public-good`) under which the bundle verified. */
  trustRoot: string;
}

export interface ExternalTrust {
  /** Trusted-root names, in the order they are tried. */
  readonly roots: readonly string[];
  /** Configured public keys: hint and the file it came from. */
  readonly keys: ReadonlyArray<{ hint: string; name: string }>;
  /** The identity rules, or undefined when none are configured. */
  readonly identities: readonly IdentityRule[] | undefined;
  /** Verify a bundle (JSON object or text); throws a `VerifyError`. */
  verify(bundleJson: unknown): Promise<ExternalVerification>;
}

export interface ExternalTrustInput {
  /** TrustedRoot JSON objects (or text) with a name used in errors. */
  roots: Array<{ name: string; trustedRoot: unknown }>;
  /** PEM SPKI public keys; `hint` defaults to `keyHint(key)`. */
  keys?: Array<{ name: string; pem: string; hint?: string }>;
  /** Identity rules JSON (see `parseIdentityRules`); undefined = no rules. */
  identities?: { name: string; rules: unknown };
}

// ---------------------------------------------------------------------------------------------
// Loading

/** The public-good Sigstore TrustedRoot shipped base64 in `@sigstore/tuf/seeds.json` (offline; may be stale). */
export function publicGoodTrustedRoot(): unknown {
  const require = createRequire(import.meta.url);
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets?: Record<string, string> }>;
  const b64 = seeds['https://tuf-repo-cdn.sigstore.dev']?.targets?.['trusted_root.json'];
  if (!b64) throw new Error('@sigstore/tuf seeds hold no public-good trusted_root.json');
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
}

/** The default key hint: base64 SHA-256 of the key's SPKI DER (cosign's keyid). */
export function keyHint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

/**
 * Reads trust roots, identity rules and public keys from files. Synchronous; any bad file throws
 * an Error naming the file and the reason.
 */
export function loadExternalTrust(opts: {
  trustRootFiles: string[];
  identitiesFile?: string;
  keyFiles: string[];
}): ExternalTrust {
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
  return createExternalTrust({ roots, keys, ...(identities ? { identities } : {}) });
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

interface LoadedRoot {
  name: string;
  /** The JSON object handed to verifyBundle (which caches its parse per object). */
  json: Record<string, unknown>;
  material: Omit<TrustMaterial, 'publicKey'>;
  hasCtlogs: boolean;
}

interface LoadedKey {
  name: string;
  hint: string;
  pem: string;
  key: KeyObject;
}

function loadRoot(name: string, input: unknown): LoadedRoot {
  const fail = (reason: string, cause?: unknown): never => {
    throw new Error(`external trust: trusted root ${name}: ${reason}`, cause === undefined ? undefined : { cause });
  };
  let json: unknown = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (e) {
      fail(`not valid JSON: ${messageOf(e)}`, e);
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('not a JSON object');
  const obj = json as Record<string, unknown>;
  const mediaType = obj.mediaType;
  if (
    typeof mediaType !== 'string' ||
    !/^application\/vnd\.dev\.sigstore\.trustedroot(\.v\d+\.\d+)?\+json/.test(mediaType)
  ) {
    fail(`not a Sigstore TrustedRoot (mediaType ${JSON.stringify(mediaType)})`);
  }
  let root: TrustedRoot;
  let material: TrustMaterial;
  try {
    root = TrustedRoot.fromJSON(obj);
    material = toTrustMaterial(root);
  } catch (e) {
    return fail(`does not parse: ${messageOf(e)}`, e);
  }
  if (material.certificateAuthorities.length === 0 && material.tlogs.length === 0) {
    fail('lists no certificate authority and no transparency log');
  }
  const { publicKey: _unused, ...rest } = material;
  return { name, json: obj, material: rest, hasCtlogs: root.ctlogs.length > 0 };
}

function loadKey(name: string, pem: string, hint: string | undefined): LoadedKey {
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
  return {
    name,
    hint: hint ?? keyHint(key),
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
    key,
  };
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

interface CompiledRule {
  issuer: string;
  subject: RegExp;
}

/** Builds an ExternalTrust from in-memory material (what `loadExternalTrust` reads from files). */
export function createExternalTrust(input: ExternalTrustInput): ExternalTrust {
  const roots = input.roots.map((r) => loadRoot(r.name, r.trustedRoot));
  const keys = (input.keys ?? []).map((k) => loadKey(k.name, k.pem, k.hint));
  const seen = new Map<string, string>();
  for (const k of keys) {
    const other = seen.get(k.hint);
    if (other !== undefined)
      throw new Error(`external trust: public key ${k.name}: hint "${k.hint}" is also used by ${other}`);
    seen.set(k.hint, k.name);
  }
  const rules = input.identities ? parseIdentityRules(input.identities.rules, input.identities.name) : undefined;
  // Wrapped in ^(?:...)$ as well, so a top-level alternation (^a$|^b$ is fine, ^a|b$ is not) stays anchored.
  const compiled: CompiledRule[] | undefined = rules?.map((r) => ({
    issuer: r.issuer,
    subject: new RegExp(`^(?:${r.subject})$`, 'u'),
  }));

  return {
    roots: roots.map((r) => r.name),
    keys: keys.map((k) => ({ hint: k.hint, name: k.name })),
    identities: rules,
    verify: async (bundleJson) => verifyExternal(bundleJson, roots, keys, compiled),
  };
}

// ---------------------------------------------------------------------------------------------
// Verification

async function verifyExternal(
  bundleJson: unknown,
  roots: LoadedRoot[],
  keys: LoadedKey[],
  rules: CompiledRule[] | undefined,
): Promise<ExternalVerification> {
  const json = parseBundleJson(bundleJson);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    const fields = (e as { fields?: unknown }).fields;
    const list = Array.isArray(fields) && fields.length > 0 ? ` (${fields.join(', ')})` : '';
    throw new VerifyError('INVALID_BUNDLE', `invalid bundle: ${messageOf(e)}${list}`, { cause: e });
  }
  if (roots.length === 0) {
    throw new VerifyError(
      'UNTRUSTED_SIGNER',
      'no external trusted root is configured, so no transparency log entry can be checked',
    );
  }
  const vm = bundle.verificationMaterial.content;
  const failures: Failure[] = [];

  if (vm.$case === 'publicKey') {
    const hint = vm.publicKey.hint;
    // An empty hint names no key: any configured key may have signed it.
    const candidates = hint === '' ? keys : keys.filter((k) => k.hint === hint);
    if (candidates.length === 0) {
      throw new VerifyError('UNTRUSTED_SIGNER', `no configured public key has the hint "${hint}"`);
    }
    for (const key of candidates) {
      for (const root of roots) {
        try {
          await verifyWith(json, bundle, root, { pem: key.pem, hint });
          return {
            signer: { subject: `key:${key.hint}`, issuer: 'key' },
            bundle,
            via: 'key',
            verifierPem: key.pem,
            trustRoot: root.name,
          };
        } catch (e) {
          failures.push({
            where: candidates.length > 1 ? `${root.name} with key ${key.name}` : root.name,
            error: asVerifyError(e),
          });
        }
      }
    }
    throw mostSpecific(failures);
  }

  for (const root of roots) {
    let signer: { subject?: string; issuer?: string };
    try {
      signer = await verifyWith(json, bundle, root, undefined);
    } catch (e) {
      failures.push({ where: root.name, error: asVerifyError(e) });
      continue;
    }
    // Identity is a property of the certificate, not of the root: decide here, do not try further roots.
    const { subject, issuer } = signer;
    if (subject === undefined || subject === '')
      throw new VerifyError('UNTRUSTED_SIGNER', 'the signing certificate carries no URI or email SAN');
    if (issuer === undefined || issuer === '') {
      throw new VerifyError(
        'UNTRUSTED_SIGNER',
        `the signing certificate (SAN ${subject}) carries no OIDC issuer extension`,
      );
    }
    if (rules && !rules.some((r) => r.issuer === issuer && r.subject.test(subject))) {
      throw new VerifyError(
        'UNTRUSTED_SIGNER',
        `no identity rule accepts SAN ${JSON.stringify(subject)} with issuer ${JSON.stringify(issuer)}`,
      );
    }
    return {
      signer: { subject, issuer },
      bundle,
      via: 'certificate',
      verifierPem: signingCertificatePem(bundle),
      trustRoot: root.name,
    };
  }
  throw mostSpecific(failures);
}

function parseBundleJson(input: unknown): Record<string, unknown> {
  let json = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      json = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
    } catch (e) {
      throw new VerifyError('INVALID_BUNDLE', `bundle is not valid JSON: ${messageOf(e)}`, { cause: e });
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new VerifyError('INVALID_BUNDLE', 'bundle must be a JSON object');
  return json as Record<string, unknown>;
}

async function verifyWith(
  json: Record<string, unknown>,
  bundle: Bundle,
  root: LoadedRoot,
  publicKey: { pem: string; hint: string } | undefined,
): Promise<{ subject?: string; issuer?: string }> {
  if (bundle.content.$case === 'messageSignature') return verifyMessageDigest(bundle, root, publicKey);
  return (await verifyBundle(json, { trustedRoot: root.json, ...(publicKey ? { publicKey } : {}) })).signer;
}

/** The leaf certificate of a certificate bundle, PEM. */
function signingCertificatePem(bundle: Bundle): string {
  const vm = bundle.verificationMaterial.content;
  const der =
    vm.$case === 'certificate'
      ? vm.certificate.rawBytes
      : vm.$case === 'x509CertificateChain'
        ? vm.x509CertificateChain.certificates[0]?.rawBytes
        : undefined;
  if (!der) throw new VerifyError('INVALID_BUNDLE', 'the bundle carries no signing certificate');
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

interface Failure {
  where: string;
  error: VerifyError;
}

// How far verification got before it failed: an error from a root that accepted the signing
// certificate and the log says more than "this root does not know the CA / the log".
const SPECIFICITY: Record<VerifyErrorCode, number> = {
  INVALID_BUNDLE: 9,
  ARTIFACT_MISMATCH: 8,
  UNTRUSTED_SIGNER: 7,
  SIGNATURE_INVALID: 6,
  TLOG_INVALID: 5,
  CERTIFICATE_INVALID: 4,
  TIMESTAMP_INVALID: 3,
  VERIFICATION_FAILED: 2,
  TRUST_ROOT_INVALID: 1,
};

function mostSpecific(failures: Failure[]): VerifyError {
  const best = failures.reduce((a, b) => (SPECIFICITY[b.error.code] > SPECIFICITY[a.error.code] ? b : a));
  const ties = failures.filter((f) => f.error.code === best.error.code);
  const message =
    ties.length === 1
      ? `trusted root ${best.where}: ${best.error.message}`
      : `no trusted root verifies the bundle: ${ties.map((f) => `${f.where}: ${f.error.message}`).join('; ')}`;
  return new VerifyError(best.error.code, message, { cause: best.error });
}

function asVerifyError(e: unknown): VerifyError {
  return e instanceof VerifyError
    ? e
    : new VerifyError('VERIFICATION_FAILED', `verification failed: ${messageOf(e)}`, { cause: e });
}

// ---------------------------------------------------------------------------------------------
// Message signatures, verified against the signed digest

const DIGEST_OF: Partial<Record<HashAlgorithm, 'sha256' | 'sha384' | 'sha512'>> = {
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256', // as sigstore-js reads it
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

const DIGEST_LENGTH = { sha256: 32, sha384: 48, sha512: 64 } as const;

/** The message digest algorithm of a message-signature bundle as a node:crypto name (undefined: unsupported). */
export function messageDigestAlgorithm(ms: MessageSignature): 'sha256' | 'sha384' | 'sha512' | undefined {
  return ms.messageDigest ? DIGEST_OF[ms.messageDigest.algorithm] : undefined;
}

/** A SignatureContent for the stock Verifier that checks the signature over the bundle's message digest. */
function prehashedContent(ms: MessageSignature): SignedEntity['signature'] {
  const alg = messageDigestAlgorithm(ms);
  const digest = Buffer.from(ms.messageDigest?.digest ?? []);
  const signature = Buffer.from(ms.signature);
  const eq = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
  return {
    signature,
    compareSignature: (s) => eq(Buffer.from(s), signature),
    compareDigest: (d) => eq(Buffer.from(d), digest),
    compareSignedDigest: (d) => eq(Buffer.from(d), digest),
    verifySignature: (key) => alg !== undefined && verifyPrehashed(key, alg, digest, signature),
  };
}

function verifyMessageDigest(
  bundle: Bundle,
  root: LoadedRoot,
  publicKey: { pem: string; hint: string } | undefined,
): { subject?: string; issuer?: string } {
  if (bundle.content.$case !== 'messageSignature') throw new Error('not a message signature');
  const ms = bundle.content.messageSignature;
  const alg = messageDigestAlgorithm(ms);
  if (alg === undefined)
    throw new VerifyError('INVALID_BUNDLE', 'the message digest algorithm is not supported (sha256, sha384, sha512)');
  if (ms.messageDigest?.digest.length !== DIGEST_LENGTH[alg]) {
    throw new VerifyError('INVALID_BUNDLE', `the message digest is not ${DIGEST_LENGTH[alg]} bytes long, as ${alg} is`);
  }
  const vm = bundle.verificationMaterial.content;
  if (vm.$case === 'certificate' || vm.$case === 'x509CertificateChain') {
    const raw =
      vm.$case === 'certificate' ? vm.certificate.rawBytes : vm.x509CertificateChain.certificates[0]?.rawBytes;
    checkCertificateEncoding(Buffer.from(raw ?? []));
  }
  let entity: SignedEntity;
  try {
    entity = { ...toSignedEntity(bundle, Buffer.alloc(0)), signature: prehashedContent(ms) };
  } catch (e) {
    throw new VerifyError('INVALID_BUNDLE', `bundle content does not parse: ${messageOf(e)}`, { cause: e });
  }
  const timed =
    bundle.verificationMaterial.tlogEntries.some(
      (t) => t.inclusionPromise !== undefined && t.integratedTime !== '' && t.integratedTime !== '0',
    ) || (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0;
  if (entity.key.$case === 'certificate' && !timed) {
    throw new VerifyError(
      'TIMESTAMP_INVALID',
      'no verified time for the signing certificate: the bundle needs a tlog entry with an inclusion promise (SET) and a non-zero integratedTime, or an RFC 3161 timestamp',
    );
  }
  let key: KeyObject | undefined;
  if (publicKey) key = createPublicKey(publicKey.pem);
  const verifier = new Verifier(
    {
      ...root.material,
      publicKey: (hint: string) => {
        if (!key || (publicKey && publicKey.hint !== hint)) {
          throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `no public key for key hint "${hint}"` });
        }
        return { publicKey: key, validFor: () => true };
      },
    },
    { tlogThreshold: 1, ...(root.hasCtlogs ? {} : { ctlogThreshold: 0 }) },
  );
  let signer: ReturnType<Verifier['verify']>;
  try {
    signer = verifier.verify(entity);
  } catch (e) {
    if (e instanceof VerificationError && e.code === 'TLOG_BODY_ERROR' && !signatureVerifies(entity, key)) {
      throw new VerifyError('SIGNATURE_INVALID', `signature verification failed (and ${e.message})`, { cause: e });
    }
    throw mapLibraryError(e);
  }
  checkInclusionProofs(bundle.verificationMaterial.tlogEntries);
  const out: { subject?: string; issuer?: string } = {};
  const subject = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  if (subject !== undefined) out.subject = subject;
  if (issuer !== undefined) out.issuer = issuer;
  return out;
}

function signatureVerifies(entity: SignedEntity, key: KeyObject | undefined): boolean {
  try {
    const k =
      entity.key.$case === 'certificate'
        ? createPublicKey({ key: entity.key.certificate.publicKey, format: 'der', type: 'spki' })
        : key;
    return k === undefined ? true : entity.signature.verifySignature(k);
  } catch {
    return false;
  }
}

// The same mapping and Go-verifier checks as src/signing/verify.ts, which keeps them private.
const TLOG_CODES = new Set([
  'TLOG_ERROR',
  'TLOG_INCLUSION_PROOF_ERROR',
  'TLOG_INCLUSION_PROMISE_ERROR',
  'TLOG_MISSING_INCLUSION_ERROR',
  'TLOG_BODY_ERROR',
]);
const LIBRARY_CODES: Record<string, VerifyErrorCode> = {
  CERTIFICATE_ERROR: 'CERTIFICATE_INVALID',
  PUBLIC_KEY_ERROR: 'UNTRUSTED_SIGNER',
  SIGNATURE_ERROR: 'SIGNATURE_INVALID',
  TIMESTAMP_ERROR: 'TIMESTAMP_INVALID',
};

function mapLibraryError(e: unknown): VerifyError {
  if (e instanceof VerifyError) return e;
  if (e instanceof PolicyError) return new VerifyError('UNTRUSTED_SIGNER', e.message, { cause: e });
  if (e instanceof VerificationError) {
    const code: VerifyErrorCode = TLOG_CODES.has(e.code)
      ? 'TLOG_INVALID'
      : (LIBRARY_CODES[e.code] ?? 'VERIFICATION_FAILED');
    return new VerifyError(code, `${e.code}: ${messageOf(e)}`, { cause: e });
  }
  return new VerifyError('VERIFICATION_FAILED', `verification failed: ${messageOf(e)}`, { cause: e });
}

// ---------------------------------------------------------------------------------------------
// Signature over a precomputed digest. node:crypto hashes whatever it verifies, so ECDSA is done
// here with BigInt (public inputs only, so timing does not matter) and RSA PKCS#1 v1.5 through
// publicDecrypt (the recovered DigestInfo is compared with the expected one).

interface Curve {
  p: bigint;
  n: bigint;
  b: bigint;
  gx: bigint;
  gy: bigint;
}

// SEC 2 / FIPS 186-4 parameters; both curves have a = -3.
export const CURVES: Readonly<Record<'prime256v1' | 'secp384r1', Curve>> = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  },
};

const DIGEST_INFO_PREFIX = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
} as const;

/**
 * Verifies `signature` over a message whose `alg` digest is `digest`, under `key`: ECDSA P-256 /
 * P-384 (ASN.1 DER signature) or RSA PKCS#1 v1.5. Other key types return false.
 */
export function verifyPrehashed(
  key: KeyObject,
  alg: 'sha256' | 'sha384' | 'sha512',
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (digest.length !== DIGEST_LENGTH[alg]) return false;
  try {
    if (key.asymmetricKeyType === 'ec') {
      const curve = CURVES[key.asymmetricKeyDetails?.namedCurve as keyof typeof CURVES];
      if (!curve) return false;
      const jwk = key.export({ format: 'jwk' });
      if (!jwk.x || !jwk.y) return false;
      const qx = bytesToBigInt(Buffer.from(jwk.x, 'base64url'));
      const qy = bytesToBigInt(Buffer.from(jwk.y, 'base64url'));
      return ecdsaVerify(curve, qx, qy, digest, signature);
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

type Point = readonly [x: bigint, y: bigint, z: bigint]; // Jacobian; z = 0 is the point at infinity
const INFINITY: Point = [0n, 1n, 0n];

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return mod(s0, m);
}

// dbl-2001-b (a = -3)
function double(P: Point, p: bigint): Point {
  const [x, y, z] = P;
  if (z === 0n || y === 0n) return INFINITY;
  const delta = (z * z) % p;
  const gamma = (y * y) % p;
  const beta = (x * gamma) % p;
  const alpha = mod(3n * (x - delta) * (x + delta), p);
  const x3 = mod(alpha * alpha - 8n * beta, p);
  const z3 = mod((y + z) * (y + z) - gamma - delta, p);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, p);
  return [x3, y3, z3];
}

// add-2007-bl
function add(P: Point, Q: Point, p: bigint): Point {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const [x1, y1, z1] = P;
  const [x2, y2, z2] = Q;
  const z1z1 = (z1 * z1) % p;
  const z2z2 = (z2 * z2) % p;
  const u1 = (x1 * z2z2) % p;
  const u2 = (x2 * z1z1) % p;
  const s1 = (((y1 * z2) % p) * z2z2) % p;
  const s2 = (((y2 * z1) % p) * z1z1) % p;
  if (u1 === u2) return s1 === s2 ? double(P, p) : INFINITY;
  const h = mod(u2 - u1, p);
  const i = (4n * h * h) % p;
  const j = (h * i) % p;
  const r = mod(2n * (s2 - s1), p);
  const v = (u1 * i) % p;
  const x3 = mod(r * r - j - 2n * v, p);
  const y3 = mod(r * (v - x3) - 2n * s1 * j, p);
  const z3 = mod(((z1 + z2) * (z1 + z2) - z1z1 - z2z2) * h, p);
  return [x3, y3, z3];
}

/** u1*G + u2*Q (Shamir's trick), affine x, or undefined at infinity. */
function mulAddX(c: Curve, u1: bigint, u2: bigint, qx: bigint, qy: bigint): bigint | undefined {
  const G: Point = [c.gx, c.gy, 1n];
  const Q: Point = [qx, qy, 1n];
  const GQ = add(G, Q, c.p);
  let R: Point = INFINITY;
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    R = double(R, c.p);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) R = add(R, GQ, c.p);
    else if (b1) R = add(R, G, c.p);
    else if (b2) R = add(R, Q, c.p);
  }
  if (R[2] === 0n) return undefined;
  const zInv = modInverse(R[2], c.p);
  return (((R[0] * zInv) % c.p) * zInv) % c.p;
}

function onCurve(c: Curve, x: bigint, y: bigint): boolean {
  if (x < 0n || x >= c.p || y < 0n || y >= c.p) return false;
  return mod(y * y - (x * x * x - 3n * x + c.b), c.p) === 0n;
}

function ecdsaVerify(c: Curve, qx: bigint, qy: bigint, digest: Uint8Array, signature: Uint8Array): boolean {
  const rs = parseDerSignature(signature);
  if (!rs || !onCurve(c, qx, qy)) return false;
  const [r, s] = rs;
  if (r < 1n || r >= c.n || s < 1n || s >= c.n) return false;
  // FIPS 186-4 6.4: e is the leftmost bitlen(n) bits of the digest.
  let e = bytesToBigInt(digest);
  const nBits = c.n.toString(2).length;
  if (digest.length * 8 > nBits) e >>= BigInt(digest.length * 8 - nBits);
  const w = modInverse(s, c.n);
  const x = mulAddX(c, mod(e * w, c.n), mod(r * w, c.n), qx, qy);
  return x !== undefined && mod(x, c.n) === r;
}

function bytesToBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

/** Strict DER `SEQUENCE { INTEGER r, INTEGER s }` (minimal, positive integers, nothing trailing). */
function parseDerSignature(sig: Uint8Array): [bigint, bigint] | undefined {
  let pos = 0;
  const readLength = (): number | undefined => {
    const first = sig[pos++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first !== 0x81) return undefined; // ECDSA signatures up to P-521 fit in one length byte
    const len = sig[pos++];
    return len !== undefined && len >= 0x80 ? len : undefined;
  };
  const readInteger = (): bigint | undefined => {
    if (sig[pos++] !== 0x02) return undefined;
    const len = readLength();
    if (len === undefined || len === 0 || pos + len > sig.length) return undefined;
    const bytes = sig.subarray(pos, pos + len);
    pos += len;
    if (bytes[0]! & 0x80) return undefined; // negative
    if (bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) return undefined; // not minimal
    return bytesToBigInt(bytes);
  };
  if (sig[pos++] !== 0x30) return undefined;
  const seqLen = readLength();
  if (seqLen === undefined || pos + seqLen !== sig.length) return undefined;
  const r = readInteger();
  const s = readInteger();
  if (r === undefined || s === undefined || pos !== sig.length) return undefined;
  return [r, s];
}
