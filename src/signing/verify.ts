/**
 * Offline verification of Sigstore bundles against a TrustedRoot, with the stock sigstore-js
 * verifier (@sigstore/bundle + @sigstore/verify), plus the checks Go verifiers (cosign, gh,
 * sigstore-go) make and sigstore-js skips (inclusion proof root/size vs the checkpoint, exactly one
 * signature line on a Rekor-v1 style checkpoint), so that what passes here passes there too.
 *
 * A message-signature (hashedrekord) bundle is verified over the artifact when it is given, else
 * over a digest (the caller's, or the bundle's own message digest), as sigstore-go does with
 * `WithArtifactDigest`: ingestion and `verify-bundle ... sha256:<hex>` take that path.
 *
 * Every failure is a `VerifyError` with a closed `code`; the library's error is kept as `cause`.
 */

import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import { bundleFromJSON } from '@sigstore/bundle';
import { ASN1Obj } from '@sigstore/core';
import type { SignedEntity, TrustMaterial, VerificationPolicy, VerifierOptions } from '@sigstore/verify';
import { toSignedEntity, VerificationError, Verifier } from '@sigstore/verify';
import { DIGEST_LENGTH, type DigestAlgorithm, messageDigestAlgorithm, prehashedContent } from './prehashed.ts';
import { jsonObject, memoizeCertificateDer, parseTrustedRoot } from './trust-material.ts';
import { detailOf, fromLibraryError, VerifyError, type VerifyErrorCode } from './verify-error.ts';

export { VerifyError, type VerifyErrorCode };

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
   * The artifact. A message signature is then checked over it; for a DSSE bundle it must match
   * (sha256/sha384/sha512) a subject of the in-toto statement.
   */
  artifact?: Uint8Array;
  /**
   * The artifact's digest, when the artifact itself is not at hand. A message signature is then
   * checked over it (and the bundle's message digest must be it); for a DSSE bundle it must be a
   * subject's digest. With neither `artifact` nor `digest`, a message signature is checked over
   * the bundle's own message digest.
   */
  digest?: { algorithm: DigestAlgorithm; hex: string };
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
  const bundle = parseBundle(bundleJson);
  checkSigningCertificate(bundle);
  const entity = signedEntity(bundle, opts);
  requireVerifiedTime(bundle, entity);
  const { policy, extraSan } = identityPolicy(opts.identity ?? {});

  // The stock verifier: certificate chain and validity, SCTs, log entries, signature, identity.
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
    throw fromLibraryError(e);
  }

  // What sigstore-js leaves out.
  const subject = signer.identity?.subjectAlternativeName;
  if (extraSan && (subject === undefined || !extraSan.test(subject))) {
    throw new VerifyError(
      'UNTRUSTED_SIGNER',
      `certificate identity error - expected ${String(extraSan)}, got ${String(subject)}`,
    );
  }
  checkInclusionProofs(bundle.verificationMaterial.tlogEntries);
  checkStatementSubject(bundle, opts);

  const result: VerifiedSigner = {};
  if (subject !== undefined) result.subject = subject;
  const issuer = signer.identity?.extensions?.issuer;
  if (issuer !== undefined) result.issuer = issuer;
  return { signer: result, bundle };
}

// ---------------------------------------------------------------------------------------------
// The steps

function parseBundle(input: unknown): Bundle {
  const json = jsonObject('bundle', input, 'INVALID_BUNDLE');
  try {
    return bundleFromJSON(json);
  } catch (e) {
    const fields = (e as { fields?: unknown }).fields;
    const list = Array.isArray(fields) && fields.length > 0 ? ` (${fields.join(', ')})` : '';
    throw new VerifyError('INVALID_BUNDLE', `invalid bundle: ${detailOf(e)}${list}`, { cause: e });
  }
}

function checkSigningCertificate(bundle: Bundle): void {
  const vm = bundle.verificationMaterial.content;
  if (vm.$case === 'x509CertificateChain' || vm.$case === 'certificate') {
    const raw =
      vm.$case === 'certificate' ? vm.certificate.rawBytes : vm.x509CertificateChain.certificates[0]?.rawBytes;
    checkCertificateEncoding(Buffer.from(raw ?? []));
  }
}

/** The signed content and key, with a message signature checked over the artifact or a digest. */
function signedEntity(bundle: Bundle, opts: VerifyBundleOptions): SignedEntity {
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, opts.artifact ? Buffer.from(opts.artifact) : Buffer.alloc(0));
  } catch (e) {
    throw new VerifyError('INVALID_BUNDLE', `bundle content does not parse: ${detailOf(e)}`, { cause: e });
  }
  if (entity.key.$case === 'certificate') memoizeCertificateDer(entity.key.certificate);
  if (bundle.content.$case !== 'messageSignature' || opts.artifact) return entity;

  const ms = bundle.content.messageSignature;
  const alg = messageDigestAlgorithm(ms);
  if (alg === undefined)
    throw new VerifyError('INVALID_BUNDLE', 'the message digest algorithm is not supported (sha256, sha384, sha512)');
  const own = Buffer.from(ms.messageDigest?.digest ?? []);
  if (own.length !== DIGEST_LENGTH[alg])
    throw new VerifyError('INVALID_BUNDLE', `the message digest is not ${DIGEST_LENGTH[alg]} bytes long, as ${alg} is`);
  let digest: Uint8Array = own;
  if (opts.digest) {
    if (opts.digest.algorithm !== alg) {
      throw new VerifyError(
        'ARTIFACT_MISMATCH',
        `the bundle signs the artifact's ${alg} digest, not its ${opts.digest.algorithm}: give the artifact itself`,
      );
    }
    digest = Buffer.from(opts.digest.hex, 'hex');
    if (digest.length !== DIGEST_LENGTH[alg] || !own.equals(digest)) {
      throw new VerifyError('ARTIFACT_MISMATCH', `the bundle's message digest is not ${alg}:${opts.digest.hex}`);
    }
  }
  return { ...entity, signature: prehashedContent(ms, alg, digest) };
}

/** A verified time must exist before the library looks at the certificate (else: TypeError). */
function requireVerifiedTime(bundle: Bundle, entity: SignedEntity): void {
  if (entity.key.$case !== 'certificate') return;
  const material = bundle.verificationMaterial;
  const timed =
    material.tlogEntries.some(
      (t) => t.inclusionPromise !== undefined && t.integratedTime !== '' && t.integratedTime !== '0',
    ) || (material.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0;
  if (!timed) {
    throw new VerifyError(
      'TIMESTAMP_INVALID',
      'no verified time for the signing certificate: the bundle needs a tlog entry with an inclusion promise (SET) ' +
        'and a non-zero integratedTime, or an RFC 3161 timestamp',
    );
  }
}

function identityPolicy(identity: VerifyIdentity): { policy: VerificationPolicy; extraSan: RegExp | undefined } {
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
  return { policy, extraSan };
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
      `identity.subjectAlternativeNameRegexp is not a valid regular expression: ${detailOf(e)}`,
      { cause: e },
    );
  }
}

/** What Go verifiers check and sigstore-js does not: proof vs checkpoint, well-formed signature lines. */
export function checkInclusionProofs(entries: TransparencyLogEntry[]): void {
  entries.forEach((entry, i) => {
    const proof = entry.inclusionProof;
    if (!proof) return;
    const envelope = proof.checkpoint?.envelope ?? '';
    const sep = envelope.indexOf('\n\n');
    if (sep < 0) throw new VerifyError('TLOG_INVALID', `tlog entry ${i}: checkpoint has no blank line`);
    const [origin, size, root] = envelope.slice(0, sep).split('\n');
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

/** A DSSE bundle's statement must name the artifact (or the digest) the caller gave as a subject. */
function checkStatementSubject(bundle: Bundle, opts: VerifyBundleOptions): void {
  if (bundle.content.$case !== 'dsseEnvelope' || (!opts.artifact && !opts.digest)) return;
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
  const want = (alg: DigestAlgorithm): string | undefined => {
    if (opts.digest) return opts.digest.algorithm === alg ? opts.digest.hex.toLowerCase() : undefined;
    let got = computed.get(alg);
    if (got === undefined && opts.artifact) {
      got = createHash(alg).update(opts.artifact).digest('hex');
      computed.set(alg, got);
    }
    return got;
  };
  for (const s of subjects) {
    const digest = (s as { digest?: Record<string, unknown> } | null)?.digest;
    if (!digest || typeof digest !== 'object') continue;
    for (const alg of DIGESTS) {
      const named = digest[alg];
      if (typeof named === 'string' && named.toLowerCase() === want(alg)) return;
    }
  }
  throw new VerifyError(
    'ARTIFACT_MISMATCH',
    opts.digest
      ? `no subject of the in-toto statement has digest ${opts.digest.algorithm}:${opts.digest.hex}`
      : 'the artifact matches no subject of the statement',
  );
}

/**
 * The signing certificate must be strict DER (OpenSSL parses it) and must not be malleable in the
 * parts its signature does not cover, which sigstore-js does not check: the outer signature
 * algorithm must equal the TBS one (RFC 5280 4.1.1.2) and the signature BIT STRING must have no
 * unused bits.
 */
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
    throw new VerifyError('CERTIFICATE_INVALID', `the signing certificate does not parse: ${detailOf(e)}`, {
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
