/**
 * Offline verification of Sigstore bundles against a TrustedRoot, with the stock sigstore-js
 * verifier (@sigstore/bundle + @sigstore/verify), plus the checks Go verifiers (cosign, gh,
 * sigstore-go) make and sigstore-js skips (inclusion proof root/size vs the checkpoint, exactly one
 * signature line on a Rekor-v1 style checkpoint), so that what passes here passes there too.
 *
 * Every failure is a `VerifyError` with a closed `code`; the library's error is kept as `cause`.
 */

import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import { bundleFromJSON } from '@sigstore/bundle';
import { ASN1Obj, type X509Certificate as CoreX509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import type { SignedEntity, TrustMaterial, VerificationPolicy, VerifierOptions } from '@sigstore/verify';
import { PolicyError, toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';

export type VerifyErrorCode =
  /** The bundle is not a well-formed Sigstore bundle (JSON shape, media type, missing fields). */
  | 'INVALID_BUNDLE'
  /** The trusted root does not parse (or a key/certificate in it does not). */
  | 'TRUST_ROOT_INVALID'
  /** Verified, but not by whom the caller asked for (identity policy, unknown public key). */
  | 'UNTRUSTED_SIGNER'
  /** The signature over the (DSSE PAE of the) content does not verify. */
  | 'SIGNATURE_INVALID'
  /** A transparency-log entry fails: SET, checkpoint, inclusion proof, body vs content, count. */
  | 'TLOG_INVALID'
  /** The signing certificate does not parse, chain to a trusted CA, or is not valid at the verified time. */
  | 'CERTIFICATE_INVALID'
  /** No verified time (no SET / RFC 3161 timestamp), or a timestamp fails. */
  | 'TIMESTAMP_INVALID'
  /** The bundle verifies but does not cover the artifact the caller gave. */
  | 'ARTIFACT_MISMATCH'
  /** Anything else, including bad verifier options. */
  | 'VERIFICATION_FAILED';

export class VerifyError extends Error {
  readonly code: VerifyErrorCode;
  constructor(code: VerifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifyError';
    this.code = code;
  }
}

export interface VerifyIdentity {
  /** Exact URI SAN (anchored and escaped here: sigstore-js treats it as an unanchored regexp). */
  subjectAlternativeName?: string;
  /** A JavaScript regular expression, used as given (anchor it yourself). */
  subjectAlternativeNameRegexp?: string;
  /** Exact OIDC issuer (Fulcio extension 1.8, else 1.1). */
  issuer?: string;
}

export interface VerifyBundleOptions {
  /** TrustedRoot JSON (object or string). The parsed form is cached per object. */
  trustedRoot: unknown;
  identity?: VerifyIdentity;
  /** For public-key bundles: the key (PEM SPKI). When `hint` is given it must equal the bundle's hint. */
  publicKey?: { pem: string; hint?: string };
  /**
   * The artifact. Required for message-signature bundles. For DSSE bundles, when given, it must
   * match (sha256/sha384/sha512) a subject of the in-toto statement.
   */
  artifact?: Uint8Array;
}

export interface VerifiedSigner {
  /** URI (or email) SAN of the signing certificate. */
  subject?: string;
  /** OIDC issuer from the certificate (1.8, else 1.1). */
  issuer?: string;
}

export interface VerifyBundleResult {
  signer: VerifiedSigner;
  bundle: Bundle;
}

// ---------------------------------------------------------------------------------------------

/** An error's message, with its cause's when that adds something. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message && cause.message !== e.message
      ? `${e.message}: ${cause.message}`
      : e.message;
  }
  return String(e);
}

function parseJson(what: string, input: unknown, code: VerifyErrorCode): unknown {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new VerifyError(code, `${what} is not valid JSON: ${messageOf(e)}`, { cause: e });
    }
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new VerifyError(code, `${what} must be a JSON object`);
  }
  return input;
}

interface ParsedRoot {
  material: Omit<TrustMaterial, 'publicKey'>;
  hasCtlogs: boolean;
}

// Parsing a trusted root (certificates, keys) costs ~1 ms: cache it per JSON object (do not mutate
// a root object after using it) and for the last few JSON texts.
const rootCache = new WeakMap<object, ParsedRoot>();
const rootTextCache = new Map<string, ParsedRoot>();
const ROOT_TEXT_CACHE_SIZE = 8;

function parseTrustedRoot(input: unknown): ParsedRoot {
  if (input !== null && typeof input === 'object' && !(input instanceof Uint8Array)) {
    const cached = rootCache.get(input);
    if (cached) return cached;
  }
  if (typeof input === 'string') {
    const cached = rootTextCache.get(input);
    if (cached) return cached;
  }
  const json = parseJson('trusted root', input, 'TRUST_ROOT_INVALID') as Record<string, unknown>;
  const mediaType = json.mediaType;
  if (
    typeof mediaType !== 'string' ||
    !/^application\/vnd\.dev\.sigstore\.trustedroot(\.v\d+\.\d+)?\+json/.test(mediaType)
  ) {
    throw new VerifyError('TRUST_ROOT_INVALID', `trusted root has an unexpected mediaType: ${String(mediaType)}`);
  }
  let parsed: ParsedRoot;
  try {
    const root = TrustedRoot.fromJSON(json);
    const { publicKey: _unused, ...material } = toTrustMaterial(root);
    for (const ca of [...material.certificateAuthorities, ...material.timestampAuthorities])
      ca.certChain.forEach(memoizeCertificateDer);
    parsed = { material, hasCtlogs: root.ctlogs.length > 0 };
  } catch (e) {
    throw new VerifyError('TRUST_ROOT_INVALID', `trusted root does not parse: ${messageOf(e)}`, { cause: e });
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

function keyFinder(publicKey: VerifyBundleOptions['publicKey']): TrustMaterial['publicKey'] {
  let key: KeyObject | undefined;
  let keyError: unknown;
  if (publicKey) {
    try {
      key = createPublicKey(publicKey.pem);
    } catch (e) {
      keyError = e;
    }
  }
  return (hint: string) => {
    if (!publicKey) {
      throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `no public key given for key hint "${hint}"` });
    }
    if (!key) {
      throw new VerificationError({
        code: 'PUBLIC_KEY_ERROR',
        message: 'the given public key does not parse',
        cause: keyError,
      });
    }
    if (publicKey.hint !== undefined && publicKey.hint !== hint) {
      throw new VerificationError({
        code: 'PUBLIC_KEY_ERROR',
        message: `key hint mismatch: bundle has "${hint}", expected "${publicKey.hint}"`,
      });
    }
    return { publicKey: key, validFor: () => true };
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function compileRegexp(s: string): RegExp {
  try {
    return new RegExp(s);
  } catch (e) {
    throw new VerifyError(
      'VERIFICATION_FAILED',
      `identity.subjectAlternativeNameRegexp is not a valid regular expression: ${messageOf(e)}`,
      {
        cause: e,
      },
    );
  }
}

const TLOG_CODES = new Set([
  'TLOG_ERROR',
  'TLOG_INCLUSION_PROOF_ERROR',
  'TLOG_INCLUSION_PROMISE_ERROR',
  'TLOG_MISSING_INCLUSION_ERROR',
  'TLOG_BODY_ERROR',
]);

function mapLibraryError(e: unknown, hasVerifiedTime: boolean): VerifyError {
  if (e instanceof VerifyError) return e;
  if (e instanceof PolicyError) return new VerifyError('UNTRUSTED_SIGNER', e.message, { cause: e });
  if (e instanceof VerificationError) {
    const msg = `${e.code}: ${messageOf(e)}`;
    if (TLOG_CODES.has(e.code)) return new VerifyError('TLOG_INVALID', msg, { cause: e });
    switch (e.code) {
      case 'CERTIFICATE_ERROR':
        return new VerifyError('CERTIFICATE_INVALID', msg, { cause: e });
      case 'PUBLIC_KEY_ERROR':
        return new VerifyError('UNTRUSTED_SIGNER', msg, { cause: e });
      case 'SIGNATURE_ERROR':
        return new VerifyError('SIGNATURE_INVALID', msg, { cause: e });
      case 'TIMESTAMP_ERROR':
        return new VerifyError('TIMESTAMP_INVALID', msg, { cause: e });
      default:
        return new VerifyError('VERIFICATION_FAILED', msg, { cause: e });
    }
  }
  // sigstore-js throws a bare TypeError when a certificate bundle has no verified time.
  if (e instanceof TypeError && !hasVerifiedTime) {
    return new VerifyError('TIMESTAMP_INVALID', `no verified time for the signing certificate: ${e.message}`, {
      cause: e,
    });
  }
  return new VerifyError('VERIFICATION_FAILED', `verification failed: ${messageOf(e)}`, { cause: e });
}

/** Entries the library accepts as a verified time source: SET + non-zero integratedTime, or RFC 3161. */
function countVerifiedTimes(bundle: Bundle): number {
  const tlog = bundle.verificationMaterial.tlogEntries.filter(
    (t) => t.inclusionPromise !== undefined && t.integratedTime !== '' && t.integratedTime !== '0',
  ).length;
  return tlog + (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0);
}

/**
 * What Go verifiers check and sigstore-js does not: the inclusion proof's rootHash/treeSize equal
 * the (already signature-checked) checkpoint's, and a Rekor-v1 checkpoint (origin `<host> - <id>`)
 * carries exactly one signature line.
 */
/** What Go verifiers check and sigstore-js does not: proof vs checkpoint, well-formed signature lines. */
export function checkInclusionProofs(entries: TransparencyLogEntry[]): void {
  entries.forEach((entry, i) => {
    const proof = entry.inclusionProof;
    if (!proof) return;
    const envelope = proof.checkpoint?.envelope ?? '';
    const sep = envelope.indexOf('\n\n');
    if (sep < 0) throw new VerifyError('TLOG_INVALID', `tlog entry ${i}: checkpoint has no blank line`);
    const lines = envelope.slice(0, sep).split('\n');
    const [origin, size, root] = lines;
    if (origin === undefined || size === undefined || root === undefined) {
      throw new VerifyError('TLOG_INVALID', `tlog entry ${i}: checkpoint body too short`);
    }
    if (proof.treeSize !== size) {
      throw new VerifyError(
        'TLOG_INVALID',
        `tlog entry ${i}: inclusion proof treeSize ${proof.treeSize} != checkpoint size ${size}`,
      );
    }
    if (!Buffer.from(root, 'base64').equals(Buffer.from(proof.rootHash))) {
      throw new VerifyError(
        'TLOG_INVALID',
        `tlog entry ${i}: inclusion proof rootHash differs from the checkpoint's root hash`,
      );
    }
    // Signature lines: every line after the blank one, each `— <name> <canonical base64>`. sigstore-js
    // skips lines it cannot parse and decodes base64 leniently (so the unused bits of the last
    // character could be changed without effect); Go's note parser rejects malformed lines.
    const sigText = envelope.slice(sep + 2);
    const sigLines = sigText.endsWith('\n') ? sigText.slice(0, -1).split('\n') : [sigText];
    for (const line of sigLines) {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
      if (!m || Buffer.from(m[2]!, 'base64').toString('base64') !== m[2]) {
        throw new VerifyError(
          'TLOG_INVALID',
          `tlog entry ${i}: malformed checkpoint signature line ${JSON.stringify(line)}`,
        );
      }
    }
    if (/ - \d+$/.test(origin) && sigLines.length !== 1) {
      throw new VerifyError(
        'TLOG_INVALID',
        `tlog entry ${i}: a Rekor v1 checkpoint must carry exactly one signature, found ${sigLines.length}`,
      );
    }
  });
}

const DIGESTS = ['sha256', 'sha384', 'sha512'] as const;

function checkArtifactInStatement(bundle: Bundle, artifact: Uint8Array): void {
  if (bundle.content.$case !== 'dsseEnvelope') return; // message signatures: checked by the library
  const env = bundle.content.dsseEnvelope;
  let statement: unknown;
  try {
    statement = JSON.parse(Buffer.from(env.payload).toString('utf8'));
  } catch (e) {
    throw new VerifyError(
      'ARTIFACT_MISMATCH',
      `the DSSE payload (${env.payloadType}) is not JSON, cannot match the artifact`,
      { cause: e },
    );
  }
  const subjects = (statement as { subject?: unknown }).subject;
  if (!Array.isArray(subjects))
    throw new VerifyError('ARTIFACT_MISMATCH', 'the DSSE payload is not an in-toto statement with subjects');
  const computed = new Map<string, string>();
  for (const s of subjects) {
    const digest = (s as { digest?: Record<string, unknown> } | null)?.digest;
    if (!digest || typeof digest !== 'object') continue;
    for (const alg of DIGESTS) {
      const want = digest[alg];
      if (typeof want !== 'string') continue;
      let got = computed.get(alg);
      if (got === undefined) {
        got = createHash(alg).update(artifact).digest('hex');
        computed.set(alg, got);
      }
      if (want.toLowerCase() === got) return;
    }
  }
  throw new VerifyError('ARTIFACT_MISMATCH', 'the artifact matches no subject of the statement');
}

/**
 * Verifies a Sigstore bundle (JSON object or string) against a TrustedRoot.
 *
 * Thresholds: one transparency-log entry; no SCT when the trusted root lists no CT log (else the
 * stock default of one); the stock timestamp threshold (one verified time: a SET or RFC 3161).
 */
export async function verifyBundle(bundleJson: unknown, opts: VerifyBundleOptions): Promise<VerifyBundleResult> {
  return verifyBundleSync(bundleJson, opts);
}

/** Synchronous form of `verifyBundle` (the verification itself is CPU-only). */
export function verifyBundleSync(bundleJson: unknown, opts: VerifyBundleOptions): VerifyBundleResult {
  if (!opts || typeof opts !== 'object')
    throw new VerifyError('VERIFICATION_FAILED', 'verifyBundle needs options with a trustedRoot');
  const root = parseTrustedRoot(opts.trustedRoot);

  // 1. The bundle's shape.
  const json = parseJson('bundle', bundleJson, 'INVALID_BUNDLE');
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    throw new VerifyError('INVALID_BUNDLE', `invalid bundle: ${messageOf(e)}${fieldsOf(e)}`, { cause: e });
  }
  const vm = bundle.verificationMaterial.content;
  if (vm.$case === 'x509CertificateChain' || vm.$case === 'certificate') {
    const raw =
      vm.$case === 'certificate' ? vm.certificate.rawBytes : vm.x509CertificateChain.certificates[0]?.rawBytes;
    checkCertificateEncoding(Buffer.from(raw ?? []));
  }
  if (bundle.content.$case === 'messageSignature' && !opts.artifact) {
    throw new VerifyError('VERIFICATION_FAILED', 'a message-signature bundle can only be verified with the artifact');
  }
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, opts.artifact ? Buffer.from(opts.artifact) : undefined);
  } catch (e) {
    throw new VerifyError('INVALID_BUNDLE', `bundle content does not parse: ${messageOf(e)}`, { cause: e });
  }

  if (entity.key.$case === 'certificate') memoizeCertificateDer(entity.key.certificate);

  // 2. A verified time must exist before the library looks at the certificate (else: TypeError).
  const verifiedTimes = countVerifiedTimes(bundle);
  if (entity.key.$case === 'certificate' && verifiedTimes === 0) {
    throw new VerifyError(
      'TIMESTAMP_INVALID',
      'no verified time for the signing certificate: the bundle needs a tlog entry with an inclusion promise (SET) and a non-zero integratedTime, or an RFC 3161 timestamp',
    );
  }

  // 3. Policy.
  const identity = opts.identity ?? {};
  const policy: VerificationPolicy = {};
  let extraSan: RegExp | undefined;
  if (identity.subjectAlternativeName !== undefined) {
    policy.subjectAlternativeName = new RegExp(`^${escapeRegExp(identity.subjectAlternativeName)}$`);
    if (identity.subjectAlternativeNameRegexp !== undefined)
      extraSan = compileRegexp(identity.subjectAlternativeNameRegexp);
  } else if (identity.subjectAlternativeNameRegexp !== undefined) {
    policy.subjectAlternativeName = compileRegexp(identity.subjectAlternativeNameRegexp);
  }
  if (identity.issuer !== undefined) policy.extensions = { issuer: identity.issuer };

  // 4. The stock verifier.
  const options: VerifierOptions = { tlogThreshold: 1, ...(root.hasCtlogs ? {} : { ctlogThreshold: 0 }) };
  const verifier = new Verifier({ ...root.material, publicKey: keyFinder(opts.publicKey) }, options);
  let signer: ReturnType<Verifier['verify']>;
  try {
    signer = verifier.verify(entity, Object.keys(policy).length > 0 ? policy : undefined);
  } catch (e) {
    // The library compares the log entry with the content before it checks the signature, so a
    // changed payload or signature surfaces as a tlog body mismatch. Report it as what it is when
    // the signature does not verify under the (by now chain-verified) signing key.
    if (e instanceof VerificationError && e.code === 'TLOG_BODY_ERROR' && !signatureVerifies(entity, opts.publicKey)) {
      throw new VerifyError('SIGNATURE_INVALID', `signature verification failed (and ${e.message})`, { cause: e });
    }
    throw mapLibraryError(e, verifiedTimes > 0);
  }

  // 5. What sigstore-js leaves out.
  const subject = signer.identity?.subjectAlternativeName;
  if (extraSan && (subject === undefined || !extraSan.test(subject))) {
    throw new VerifyError(
      'UNTRUSTED_SIGNER',
      `certificate identity error - expected ${String(extraSan)}, got ${String(subject)}`,
    );
  }
  checkInclusionProofs(bundle.verificationMaterial.tlogEntries);
  if (opts.artifact) checkArtifactInStatement(bundle, opts.artifact);

  const result: VerifiedSigner = {};
  if (subject !== undefined) result.subject = subject;
  const issuer = signer.identity?.extensions?.issuer;
  if (issuer !== undefined) result.issuer = issuer;
  return { signer: result, bundle };
}

/**
 * Speed, not semantics: @sigstore/core re-encodes a certificate (ASN1Obj.toDER, ~0.35 ms each,
 * allocation-bound) every time the chain builder compares or verifies it, ~15 times per bundle.
 * Parsed certificates are never mutated, so cache the library's own encoding of the certificate
 * and of its TBS on those instances (instance properties; the prototype is left alone). This
 * takes verification from ~6 ms to ~1.7 ms per bundle (most of the rest is six ECDSA verifications).
 */
function memoizeCertificateDer(cert: CoreX509Certificate): void {
  for (const obj of [cert.root, cert.tbsCertificate]) {
    if (Object.hasOwn(obj, 'toDER')) continue;
    const der = ASN1Obj.prototype.toDER.call(obj);
    Object.defineProperty(obj, 'toDER', { value: (): Buffer => der, enumerable: false });
  }
}

/**
 * The signing certificate must be strict DER (OpenSSL parses it) and must not be malleable in the
 * parts its signature does not cover, which sigstore-js does not check: the outer signature
 * algorithm must equal the TBS one (RFC 5280 4.1.1.2) and the signature BIT STRING must have no
 * unused bits.
 */
/** The certificate parses with OpenSSL and its two signature-algorithm fields agree. */
export function checkCertificateEncoding(der: Buffer): void {
  try {
    new NodeX509Certificate(der);
    const cert = ASN1Obj.parseBuffer(Buffer.from(der) as Buffer<ArrayBuffer>);
    const [tbs, outerAlg, sigValue] = cert.subs;
    const innerAlg = tbs?.subs[tbs.subs[0]?.tag.isContextSpecific(0x00) ? 2 : 1];
    if (cert.subs.length !== 3 || !tbs || !outerAlg || !sigValue || !innerAlg)
      throw new Error('not an X.509 certificate');
    if (outerAlg.tag.toDER() !== innerAlg.tag.toDER() || !outerAlg.value.equals(innerAlg.value)) {
      throw new Error('signatureAlgorithm differs from tbsCertificate.signature');
    }
    if (!sigValue.tag.isBitString() || sigValue.value[0] !== 0)
      throw new Error('signature is not a BIT STRING without unused bits');
  } catch (e) {
    throw new VerifyError('CERTIFICATE_INVALID', `the signing certificate does not parse: ${messageOf(e)}`, {
      cause: e,
    });
  }
}

function signatureVerifies(entity: SignedEntity, publicKey: VerifyBundleOptions['publicKey']): boolean {
  try {
    let key: KeyObject;
    if (entity.key.$case === 'certificate')
      key = createPublicKey({ key: entity.key.certificate.publicKey, format: 'der', type: 'spki' });
    else if (publicKey) key = createPublicKey(publicKey.pem);
    else return true; // nothing to say
    return entity.signature.verifySignature(key);
  } catch {
    return false;
  }
}

function fieldsOf(e: unknown): string {
  const fields = (e as { fields?: unknown }).fields;
  return Array.isArray(fields) && fields.length > 0 ? ` (${fields.join(', ')})` : '';
}
