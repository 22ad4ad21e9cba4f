// The ingestion use case: a Sigstore bundle signed elsewhere (GitHub Actions, npm, cosign) in, a
// stored attestation out. The bundle is verified against the configured external trust (roots,
// identity rules, keys), recorded in waybill's own log and stored in the log's batch transaction,
// exactly as a bundle waybill signs itself, with origin 'ingested'. The stored bundle is the
// submitted one (normalised through @sigstore/bundle), so it still verifies under its own root.
import type { Bundle, SerializedBundle } from '@sigstore/bundle';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { AppError, type FieldError, messageOf } from '../errors.ts';
import { assertMayActFor, evidenceRoles } from '../identity/grants.ts';
import { PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01 } from '../intoto/predicates.ts';
import { signedEnvironment } from '../intoto/signed-environment.ts';
import type { Statement } from '../intoto/statement.ts';
import { INTOTO_PAYLOAD_TYPE, subjectDigests, validateStatement } from '../intoto/statement.ts';
import { signatureStatement, waybillUris } from '../intoto/waybill.ts';
import type { ExternalTrust, ExternalVerification } from '../signing/external.ts';
import { VerifyError } from '../signing/verify.ts';
import { attestationId } from '../signing/witness.ts';
import { type AttestationRepo, type AttestationRow, toRecord } from '../storage/attestation-repo.ts';
import { loggedRecord, type PendingRecord } from '../tlog/batch.ts';
import { dsseEntryBody, hashedrekordEntryBody } from '../tlog/entry.ts';
import type { TransparencyLog } from '../tlog/log.ts';
import { jcs, sha256hex } from '../util/encoding.ts';
import type { Signed } from './attest.ts';
import type { Caller } from './tokens.ts';

export interface IngestOptions {
  environment?: string | null;
  /** When given, the statement's predicate type must be one of these. */
  allowedPredicates?: string[];
}

/** What a bundle says, before it is verified: the statement to store and how to log it. */
interface Content {
  id: string;
  statement: Statement;
  /** The log entry body for waybill's log, given the verifier PEM (certificate or key). */
  entry(verifierPem: string): { body: Uint8Array; kind: { kind: string; version: string } };
}

export class IngestService {
  readonly #attestations: AttestationRepo;
  readonly #log: TransparencyLog;
  readonly #external: ExternalTrust;
  readonly #issuer: string;

  constructor(opts: { attestations: AttestationRepo; log: TransparencyLog; external: ExternalTrust; issuer: string }) {
    this.#attestations = opts.attestations;
    this.#log = opts.log;
    this.#external = opts.external;
    this.#issuer = opts.issuer;
  }

  /**
   * Verify, log and store an externally signed bundle. The same bundle (same DSSE envelope, or
   * same message signature) again returns the existing record with `created: false`; so does
   * another bundle with the same signer and statement (the (signer, statement) pair is unique).
   * `caller` is who submitted it; the signer recorded is the bundle's, never the caller.
   */
  async ingest(
    bundleJson: unknown,
    caller: Pick<Caller, 'subject' | 'roles' | 'environments'>,
    opts: IngestOptions = {},
  ): Promise<Signed> {
    // Authorization before anything is parsed: an environment the caller may not act for is a 403.
    if (opts.environment != null) assertMayActFor(caller, opts.environment, ['tester', 'builder']);
    const bundle = parseBundle(bundleJson);
    const serialized = bundleToJSON(bundle);
    const content =
      bundle.content.$case === 'dsseEnvelope' ? dsseContent(bundle, serialized) : messageContent(bundle, serialized);
    const { statement } = content;
    if (opts.allowedPredicates && !opts.allowedPredicates.includes(statement.predicateType)) {
      throw new AppError('VALIDATION_FAILED', `predicate type ${statement.predicateType} is not accepted here`, {
        errors: [
          { path: '/predicateType', message: `must be one of: ${opts.allowedPredicates.join(', ') || '(none)'}` },
        ],
      });
    }

    mayIngest(caller, statement.predicateType);
    const existing = await this.#attestations.get(content.id);
    if (existing) return { record: existing, created: false };

    let verified: ExternalVerification;
    try {
      verified = await this.#external.verify(serialized);
    } catch (err) {
      if (err instanceof VerifyError) {
        if (err.code === 'INVALID_BUNDLE') throw new AppError('VALIDATION_FAILED', err.message, { cause: err });
        throw new AppError('VERIFICATION_FAILED', `the bundle does not verify (${err.code}): ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    const signer = verified.signer;
    // A policy telling waybill's own attestations apart by issuer must not be fooled by an
    // external CA that issued a certificate naming waybill as the OIDC issuer.
    if (verified.via === 'certificate' && signer.issuer === this.#issuer) {
      throw new AppError(
        'VERIFICATION_FAILED',
        `an externally signed certificate names waybill's own issuer ${this.#issuer}`,
      );
    }

    const environment = this.#environment(statement, opts.environment);
    if (environment !== null) assertMayActFor(caller, environment, evidenceRoles(statement));
    const statementSha256 = sha256hex(jcs(statement));
    const subjects = subjectDigests(statement);
    const { body, kind } = content.entry(verified.verifierPem);
    // The bundle is stored as given: it keeps its own log's entries (bundleEntry 'none').
    const record: PendingRecord = {
      row: {
        id: content.id,
        predicateType: statement.predicateType,
        statement,
        statementSha256,
        bundle: serialized,
        signerSubject: signer.subject,
        signerIssuer: signer.issuer,
        environment,
        origin: 'ingested',
      },
      subjects,
      bundleEntry: 'none',
    };
    let stored: AttestationRow;
    try {
      const entry = await this.#log.append({
        body,
        kind,
        attestationId: content.id,
        unique: { signerSubject: signer.subject, statementSha256 },
        subjectDigests: subjects.map((s) => s.digest),
        record,
      });
      stored = loggedRecord(record, entry).row as AttestationRow;
    } catch (err) {
      // A concurrent identical submission (same id, or same signer and statement) won the race.
      const raced =
        (await this.#attestations.get(content.id)) ??
        (await this.#attestations.bySigner(signer.subject, statementSha256));
      if (raced) return { record: raced, created: false };
      throw err;
    }
    return { record: toRecord(stored, subjects), created: true };
  }

  // An ingested bundle counts for the environment its signed statement names with this waybill's
  // environment URI, and for no other: the submitter cannot assert one the signer did not sign.
  #environment(statement: Statement, wanted: string | null | undefined): string | null {
    const signed = signedEnvironment(statement, this.#issuer);
    if ('conflict' in signed) {
      throw new AppError(
        'VERIFICATION_FAILED',
        `the signed statement names several environments: ${signed.conflict.join(', ')}`,
      );
    }
    if (wanted != null && signed.environment !== wanted) {
      const uri = waybillUris(this.#issuer).environment(wanted);
      throw new AppError(
        'VERIFICATION_FAILED',
        signed.environment === null
          ? `the signed statement names no environment of this waybill, so it cannot count for ${wanted} ` +
              `(a test result names it as the configuration entry {"name": "environment", "uri": "${uri}"})`
          : `the signed statement names environment ${signed.environment}, not ${wanted}`,
      );
    }
    return signed.environment;
  }
}

// Who may bring in what, as for what waybill signs itself: builders provenance, testers test
// results, either of them other evidence.
function mayIngest(caller: { roles: readonly string[] }, predicateType: string): void {
  const has = (role: string) => caller.roles.includes(role);
  if ((predicateType === PROVENANCE_V1 || predicateType === PROVENANCE_V02) && !has('builder')) {
    throw new AppError('FORBIDDEN', 'only a builder may ingest provenance');
  }
  if (predicateType === TEST_RESULT_V01 && !has('tester')) {
    throw new AppError('FORBIDDEN', 'only a tester may ingest test results');
  }
}

// ---------------------------------------------------------------------------------------------

/** The bundle's JSON shape (400 on any problem, with the offending fields). */
function parseBundle(input: unknown): Bundle {
  let json: unknown = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch {
      throw new AppError('VALIDATION_FAILED', 'the bundle is not valid JSON');
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new AppError('VALIDATION_FAILED', 'a Sigstore bundle must be a JSON object');
  }
  // Said plainly before the generic shape check, which would only name the field.
  const signatures = (json as { dsseEnvelope?: { signatures?: unknown } }).dsseEnvelope?.signatures;
  if (Array.isArray(signatures) && signatures.length !== 1) {
    throw new AppError(
      'VALIDATION_FAILED',
      `a DSSE envelope in a Sigstore bundle carries exactly one signature, this one has ${signatures.length}`,
      {
        errors: [{ path: '/dsseEnvelope/signatures', message: 'must hold exactly one signature' }],
      },
    );
  }
  try {
    return bundleFromJSON(json);
  } catch (err) {
    const fields = (err as { fields?: unknown }).fields;
    const errors: FieldError[] = Array.isArray(fields)
      ? fields.map((f) => ({ path: fieldPath(String(f)), message: 'missing or invalid' }))
      : [{ path: '/', message: messageOf(err) }];
    throw new AppError('VALIDATION_FAILED', 'not a valid Sigstore bundle', { errors, cause: err });
  }
}

/** @sigstore/bundle field names (`content.dsseEnvelope.signatures[0].sig`) as JSON paths of the bundle. */
function fieldPath(field: string): string {
  return (
    '/' +
    field
      .replace(/^content\./, '')
      .replace(/\[(\d+)\]/g, '.$1')
      .split('.')
      .join('/')
  );
}

function dsseContent(bundle: Bundle, serialized: SerializedBundle): Content {
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('expected a DSSE bundle');
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the DSSE payload type must be ${INTOTO_PAYLOAD_TYPE}, not ${JSON.stringify(env.payloadType)}`,
      {
        errors: [{ path: '/dsseEnvelope/payloadType', message: `must be ${INTOTO_PAYLOAD_TYPE}` }],
      },
    );
  }
  const sig = env.signatures[0];
  if (!sig || env.signatures.length !== 1)
    throw new AppError('VALIDATION_FAILED', 'a DSSE envelope in a Sigstore bundle carries exactly one signature');
  const statement = parsePayload(env.payload);
  return {
    id: attestationId(serialized.dsseEnvelope),
    statement,
    entry: (verifierPem) => ({
      body: dsseEntryBody({
        envelope: { payload: env.payload, payloadType: env.payloadType, signature: sig.sig },
        verifierPem,
      }),
      kind: { kind: 'dsse', version: '0.0.1' },
    }),
  };
}

/** A message signature is stored as a statement about the signed digest (docs/predicates.md). */
function messageContent(bundle: Bundle, serialized: SerializedBundle): Content {
  if (bundle.content.$case !== 'messageSignature') throw new Error('expected a message-signature bundle');
  const ms = bundle.content.messageSignature;
  const digest = ms.messageDigest;
  if (!digest || digest.algorithm !== HashAlgorithm.SHA2_256 || digest.digest.length !== 32) {
    throw new AppError('VALIDATION_FAILED', 'only message signatures over a SHA-256 digest can be ingested', {
      errors: [
        { path: '/messageSignature/messageDigest', message: 'algorithm must be SHA2_256 with a 32-byte digest' },
      ],
    });
  }
  const digestHex = Buffer.from(digest.digest).toString('hex');
  const statement = signatureStatement(digestHex);
  return {
    id: sha256hex(jcs(serialized.messageSignature)),
    statement,
    entry: (verifierPem) => ({
      body: hashedrekordEntryBody({ digestHex, signature: ms.signature, publicKeyPem: verifierPem }),
      kind: { kind: 'hashedrekord', version: '0.0.1' },
    }),
  };
}

/**
 * The DSSE payload as an in-toto Statement v1 or v0.1 (with its predicate, when waybill knows
 * the predicate type), kept exactly as it was signed, unknown fields included.
 */
function parsePayload(payload: Uint8Array): Statement {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new AppError('VALIDATION_FAILED', 'the DSSE payload is not UTF-8 JSON', {
      errors: [{ path: '/dsseEnvelope/payload', message: 'must be an in-toto Statement (JSON)' }],
    });
  }
  const result = validateStatement(json);
  if (!result.ok) {
    throw new AppError('VALIDATION_FAILED', 'the DSSE payload is not a valid in-toto Statement v1 or v0.1', {
      errors: result.errors.map((e) => ({ path: e.path || '/', message: e.message })),
    });
  }
  // v0.1 has the v1 shape (subject, predicateType, predicate) under another _type.
  return json as Statement;
}
