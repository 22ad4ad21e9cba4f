/**
 * Verifying bundles signed elsewhere (GitHub Actions, npm, cosign) against the external trust
 * (src/signing/external-trust.ts loads it): a configured trusted root must verify the bundle, a
 * key bundle must name a configured key, and a certificate bundle must satisfy the identity rules
 * when there are any (without rules every certificate that chains to a configured root is
 * accepted; its identity is still recorded for policies). Rules do not apply to key bundles:
 * configuring a key is the trust decision. A key bundle's signer is recorded as `key:<hint>`,
 * issuer `key`.
 *
 * Verification is `verifyBundle`'s (src/signing/verify.ts): a message-signature bundle is checked
 * over its signed message digest, without the artifact, as `verify-bundle ... sha256:<hex>` does.
 */
import type { Bundle } from '@sigstore/bundle';
import { bundleFromJSON } from '@sigstore/bundle';
import {
  type ExternalTrustInput,
  type IdentityRule,
  type LoadedKey,
  type LoadedRoot,
  loadKey,
  loadRoot,
  parseIdentityRules,
  readExternalTrustFiles,
} from './external-trust.ts';
import { jsonObject } from './trust-material.ts';
import { verifyBundle } from './verify.ts';
import { detailOf, fromLibraryError, VerifyError, type VerifyErrorCode } from './verify-error.ts';

export {
  type ExternalTrustInput,
  type IdentityRule,
  keyHint,
  parseIdentityRules,
  parseKeySpec,
  sshFingerprint,
} from './external-trust.ts';
export { verifyPrehashed } from './prehashed.ts';
export { PUBLIC_GOOD, publicGoodTrustedRoot } from './trust-material.ts';

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
  /** Configured public keys: the hint they are recorded under and the file they came from. */
  readonly keys: ReadonlyArray<{ hint: string; name: string }>;
  /** The identity rules, or undefined when none are configured. */
  readonly identities: readonly IdentityRule[] | undefined;
  /** Verify a bundle (JSON object or text); throws a `VerifyError`. */
  verify(bundleJson: unknown): Promise<ExternalVerification>;
}

/**
 * Reads trust roots, identity rules and public keys from files. Synchronous; any bad file throws
 * an Error naming the file and the reason.
 */
export function loadExternalTrust(opts: {
  trustRootFiles: string[];
  identitiesFile?: string | undefined;
  keyFiles: string[];
}): ExternalTrust {
  return createExternalTrust(readExternalTrustFiles(opts));
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
    for (const hint of k.hints) {
      const other = seen.get(hint);
      if (other !== undefined)
        throw new Error(`external trust: public key ${k.name}: hint "${hint}" is also used by ${other}`);
      seen.set(hint, k.name);
    }
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

async function verifyExternal(
  bundleJson: unknown,
  roots: LoadedRoot[],
  keys: LoadedKey[],
  rules: CompiledRule[] | undefined,
): Promise<ExternalVerification> {
  const json = jsonObject('bundle', bundleJson, 'INVALID_BUNDLE');
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    const fields = (e as { fields?: unknown }).fields;
    const list = Array.isArray(fields) && fields.length > 0 ? ` (${fields.join(', ')})` : '';
    throw new VerifyError('INVALID_BUNDLE', `invalid bundle: ${detailOf(e)}${list}`, { cause: e });
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
    const candidates = hint === '' ? keys : keys.filter((k) => k.hints.includes(hint));
    if (candidates.length === 0) {
      throw new VerifyError('UNTRUSTED_SIGNER', `no configured public key has the hint "${hint}"`);
    }
    for (const key of candidates) {
      for (const root of roots) {
        try {
          await verifyWith(json, root, { pem: key.pem, hint });
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
            error: fromLibraryError(e),
          });
        }
      }
    }
    throw mostSpecific(failures);
  }

  for (const root of roots) {
    let signer: { subject?: string; issuer?: string };
    try {
      signer = await verifyWith(json, root, undefined);
    } catch (e) {
      failures.push({ where: root.name, error: fromLibraryError(e) });
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

async function verifyWith(
  json: Record<string, unknown>,
  root: LoadedRoot,
  publicKey: { pem: string; hint: string } | undefined,
): Promise<{ subject?: string; issuer?: string }> {
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
