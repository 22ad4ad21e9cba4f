/**
 * The TrustedRoot that waybill publishes (`GET /v1/trust/root`) and that offline auditors verify
 * bundles with: protobuf-specs JSON form, media type
 * `application/vnd.dev.sigstore.trustedroot+json;version=0.1`.
 *
 * Rotation: list every CA chain and every log key with its validity window.
 * Log identity must line up exactly (see DESIGN 11): `logId.keyId` = SHA-256 of the log key's SPKI
 * DER; no `checkpointKeyId` (it would replace the log id for matching); the checkpoint's key name
 * must be a substring of `baseUrl`.
 */
import 'reflect-metadata';
import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { pemCertificatesToDer } from './der.ts';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

export interface TrustedRootCaInput {
  /** PEM certificates, the issuing intermediate first, the root last. */
  chainPem: string;
  validFrom: Date;
  validTo?: Date;
  /** The CA's URL (e.g. waybill's issuer URL). Omitted when not given. */
  uri?: string;
  /** Default: O and CN of the root (last) certificate. */
  subject?: { organization: string; commonName: string };
}

export interface TrustedRootTlogInput {
  /** Must contain the checkpoint key name (sigstore-js matches the name as a substring). */
  baseUrl: string;
  /** The log's ECDSA P-256 public key (a private KeyObject is accepted; its public half is used). */
  publicKey: KeyObject;
  validFrom: Date;
  validTo?: Date;
  /** When given, checked to be a substring of `baseUrl` (else checkpoints will not verify). */
  checkpointKeyName?: string;
}

export interface BuildTrustedRootOptions {
  cas: TrustedRootCaInput[];
  tlogs: TrustedRootTlogInput[];
}

export interface TimeRangeJson {
  start: string;
  end?: string;
}

export interface CertificateAuthorityJson {
  subject: { organization: string; commonName: string };
  uri?: string;
  certChain: { certificates: Array<{ rawBytes: string }> };
  validFor: TimeRangeJson;
}

export interface TransparencyLogInstanceJson {
  baseUrl: string;
  hashAlgorithm: 'SHA2_256';
  publicKey: { rawBytes: string; keyDetails: 'PKIX_ECDSA_P256_SHA_256'; validFor: TimeRangeJson };
  logId: { keyId: string };
}

export interface TrustedRootJson {
  mediaType: typeof TRUSTED_ROOT_MEDIA_TYPE;
  tlogs: TransparencyLogInstanceJson[];
  certificateAuthorities: CertificateAuthorityJson[];
  ctlogs: TransparencyLogInstanceJson[];
  timestampAuthorities: CertificateAuthorityJson[];
}

function timeRange(what: string, from: Date, to: Date | undefined): TimeRangeJson {
  if (!(from instanceof Date) || Number.isNaN(from.getTime()))
    throw new TypeError(`${what}: validFrom must be a valid Date`);
  if (to === undefined) return { start: from.toISOString() };
  if (!(to instanceof Date) || Number.isNaN(to.getTime())) throw new TypeError(`${what}: validTo must be a valid Date`);
  if (to.getTime() < from.getTime()) throw new RangeError(`${what}: validTo is before validFrom`);
  return { start: from.toISOString(), end: to.toISOString() };
}

/** O and CN of a certificate's subject (first value of each). */
function subjectOf(der: Uint8Array): { organization: string; commonName: string } {
  const name = new x509.X509Certificate(der).subjectName;
  return { organization: name.getField('2.5.4.10')[0] ?? '', commonName: name.getField('2.5.4.3')[0] ?? '' };
}

/** SHA-256 of the key's SubjectPublicKeyInfo DER: the log id (RFC 6962 3.2). */
export function tlogKeyId(publicKey: KeyObject): Buffer {
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest();
}

export function buildTrustedRoot(opts: BuildTrustedRootOptions): TrustedRootJson {
  const certificateAuthorities = opts.cas.map((ca, i): CertificateAuthorityJson => {
    const ders = pemCertificatesToDer(ca.chainPem);
    if (ders.length === 0) throw new Error(`cas[${i}]: chainPem holds no certificate`);
    const subject = ca.subject ?? subjectOf(ders[ders.length - 1]!);
    return {
      subject,
      ...(ca.uri ? { uri: ca.uri } : {}),
      certChain: { certificates: ders.map((d) => ({ rawBytes: d.toString('base64') })) },
      validFor: timeRange(`cas[${i}]`, ca.validFrom, ca.validTo),
    };
  });
  const tlogs = opts.tlogs.map((t, i): TransparencyLogInstanceJson => {
    if (typeof t.baseUrl !== 'string' || t.baseUrl.length === 0)
      throw new TypeError(`tlogs[${i}]: baseUrl is required`);
    if (t.checkpointKeyName !== undefined && !t.baseUrl.includes(t.checkpointKeyName)) {
      throw new Error(
        `tlogs[${i}]: checkpoint key name "${t.checkpointKeyName}" is not a substring of baseUrl "${t.baseUrl}"; ` +
          'checkpoints would not verify',
      );
    }
    const pub = t.publicKey.type === 'private' ? createPublicKey(t.publicKey) : t.publicKey;
    if (
      pub.type !== 'public' ||
      pub.asymmetricKeyType !== 'ec' ||
      pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new Error(`tlogs[${i}]: the log key must be ECDSA P-256`);
    }
    const spki = pub.export({ type: 'spki', format: 'der' });
    return {
      baseUrl: t.baseUrl,
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: spki.toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: timeRange(`tlogs[${i}]`, t.validFrom, t.validTo),
      },
      logId: { keyId: createHash('sha256').update(spki).digest('base64') },
    };
  });
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs,
    certificateAuthorities,
    ctlogs: [],
    timestampAuthorities: [],
  };
}

/**
 * The history file for a rotation (WAYBILL_TRUST_HISTORY_FILE): the trusted root served until
 * now, with every CA and log key that has no end yet ending at `at`. Keys retired earlier keep
 * their end, so the file grows by one rotation at a time.
 */
export function retireAll(root: unknown, at: Date): TrustedRootJson {
  const json = root as Partial<TrustedRootJson> | null;
  if (
    !json ||
    typeof json !== 'object' ||
    typeof json.mediaType !== 'string' ||
    !json.mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')
  ) {
    throw new Error('not a TrustedRoot (mediaType application/vnd.dev.sigstore.trustedroot+json;version=0.1)');
  }
  const end = at.toISOString();
  const close = (range: TimeRangeJson, what: string): TimeRangeJson => {
    if (typeof range?.start !== 'string') throw new Error(`${what} has no validFor.start`);
    if (range.end !== undefined) return range;
    if (Date.parse(range.start) > at.getTime()) throw new Error(`${what} starts after ${end}`);
    return { ...range, end };
  };
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    certificateAuthorities: (json.certificateAuthorities ?? []).map((ca, i) => ({
      ...ca,
      validFor: close(ca.validFor, `certificateAuthorities[${i}]`),
    })),
    tlogs: (json.tlogs ?? []).map((t, i) => ({
      ...t,
      publicKey: { ...t.publicKey, validFor: close(t.publicKey.validFor, `tlogs[${i}]`) },
    })),
    ctlogs: json.ctlogs ?? [],
    timestampAuthorities: json.timestampAuthorities ?? [],
  };
}
