/**
 * The one error type of bundle verification, with a closed set of codes, and the one mapping
 * from sigstore-js's errors (`VerificationError` codes, `PolicyError`) onto it. The library's
 * error is kept as `cause`.
 */
import { PolicyError, VerificationError } from '@sigstore/verify';
import { messageOf } from '../errors.ts';

export type VerifyErrorCode =
  /** The bundle is not a well-formed Sigstore bundle (JSON shape, media type, missing fields). */
  | 'INVALID_BUNDLE'
  /** The trusted root does not parse (or a key/certificate in it does not, or lacks its validity start). */
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
  /** The bundle verifies but does not cover the artifact (or digest) the caller gave. */
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

/** An error's message with its cause's, when that adds something (the library nests the reason). */
export function detailOf(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  const message = messageOf(e);
  return cause instanceof Error && cause.message && cause.message !== message
    ? `${message}: ${cause.message}`
    : message;
}

const LIBRARY_CODES: Readonly<Record<string, VerifyErrorCode>> = {
  TLOG_ERROR: 'TLOG_INVALID',
  TLOG_INCLUSION_PROOF_ERROR: 'TLOG_INVALID',
  TLOG_INCLUSION_PROMISE_ERROR: 'TLOG_INVALID',
  TLOG_MISSING_INCLUSION_ERROR: 'TLOG_INVALID',
  TLOG_BODY_ERROR: 'TLOG_INVALID',
  CERTIFICATE_ERROR: 'CERTIFICATE_INVALID',
  PUBLIC_KEY_ERROR: 'UNTRUSTED_SIGNER',
  SIGNATURE_ERROR: 'SIGNATURE_INVALID',
  TIMESTAMP_ERROR: 'TIMESTAMP_INVALID',
};

/** Whatever sigstore-js threw, as a `VerifyError`. */
export function fromLibraryError(e: unknown): VerifyError {
  if (e instanceof VerifyError) return e;
  if (e instanceof PolicyError) return new VerifyError('UNTRUSTED_SIGNER', e.message, { cause: e });
  if (e instanceof VerificationError) {
    return new VerifyError(LIBRARY_CODES[e.code] ?? 'VERIFICATION_FAILED', `${e.code}: ${detailOf(e)}`, { cause: e });
  }
  return new VerifyError('VERIFICATION_FAILED', `verification failed: ${detailOf(e)}`, { cause: e });
}
