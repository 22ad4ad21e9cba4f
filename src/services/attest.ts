// The signing use case: an in-toto Statement v1 and a caller in, a stored attestation with
// its Sigstore bundle out. The stock DSSEBundleBuilder runs the flow; our Signer issues the
// leaf certificate for the caller, our LogWitness appends to waybill's log. The attestation row
// is written by the log's batch transaction, so every stored attestation is in the log and
// every log entry is a stored attestation.
// The builder alone: the package's index also loads its Fulcio, Rekor and TSA network clients,
// which a Workers bundle should not carry (DESIGN.md section 2).
import { DSSEBundleBuilder } from '@sigstore/sign/dist/bundler/dsse.js';
import { AppError, fieldErrors } from '../errors.ts';
import { signedEnvironment } from '../intoto/signed-environment.ts';
import { INTOTO_PAYLOAD_TYPE, type Statement, StatementV1, subjectDigests } from '../intoto/statement.ts';
import type { CaMaterial } from '../signing/ca.ts';
import type { ExtraExtension } from '../signing/leaf.ts';
import { type CaSignerFactory, inThreadCaSigners } from '../signing/signer.ts';
import { LogWitness } from '../signing/witness.ts';
import {
  type AttestationRecord,
  type AttestationRepo,
  type AttestationRow,
  type SignerIdentity,
  toRecord,
} from '../storage/attestation-repo.ts';
import { DuplicateAttestationError } from '../tlog/batch.ts';
import type { TransparencyLog } from '../tlog/log.ts';
import { jcs, sha256hex } from '../util/encoding.ts';

export type { AttestationRecord, SignerIdentity };

export interface Signed {
  record: AttestationRecord;
  created: boolean;
}

/**
 * Whom a statement is signed as: the leaf's URI SAN, its issuer extensions (null or absent:
 * waybill's own issuer) and any further certificate extensions (a CI workload's Fulcio ones).
 */
export interface SigningIdentity {
  subject: string;
  issuer?: string | null;
  extensions?: readonly ExtraExtension[];
}

export class AttestService {
  readonly #attestations: AttestationRepo;
  readonly #log: TransparencyLog;
  readonly #signers: CaSignerFactory;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: {
    attestations: AttestationRepo;
    log: TransparencyLog;
    ca: CaMaterial;
    /** Where the ephemeral key, leaf and DSSE signature are made (default: this thread, with `ca`). */
    signers?: CaSignerFactory;
    issuer: string;
    now?: () => Date;
  }) {
    this.#attestations = opts.attestations;
    this.#log = opts.log;
    this.#signers = opts.signers ?? inThreadCaSigners(opts.ca);
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /**
   * Sign `statement` as `signer` (a subject alone: waybill's issuer), log it and store it. The
   * statement is an already validated Statement v1 (intake's `validateStatement`, or one waybill
   * builds itself): it is not validated again here; `statementV1()` validates anything else. The
   * same caller submitting the same statement content again gets the existing record
   * (`created: false`). The environment recorded is the one the statement names
   * (src/intoto/signed-environment.ts); `environment`, when given, is what the caller meant it to
   * name, and anything else is refused.
   */
  async sign(
    statement: Statement,
    signer: string | SigningIdentity,
    opts: { environment?: string | null } = {},
  ): Promise<Signed> {
    const identity = typeof signer === 'string' ? { subject: signer } : signer;
    const callerSubject = identity.subject;
    const issuer = identity.issuer ?? this.#issuer;
    const environment = environmentOf(statement, this.#issuer, opts.environment);
    // The payload is the JCS form: deterministic bytes, so equal content means equal payload.
    const payload = jcs(statement);
    const statementSha256 = sha256hex(payload);
    // No lookup before signing: the log's batch transaction finds a repeated (caller,
    // statement) under its lock (one query for the whole batch) and logs nothing for it; the
    // append then rejects with DuplicateAttestationError and the existing record is answered.
    const subjects = subjectDigests(statement);
    const witness = new LogWitness(this.#log, {
      unique: { signerSubject: callerSubject, statementSha256 },
      subjects,
      row: {
        predicateType: statement.predicateType,
        statement,
        statementSha256,
        signerSubject: callerSubject,
        signerIssuer: issuer,
        environment,
        origin: 'signed',
      },
    });
    const builder = new DSSEBundleBuilder({
      signer: this.#signers({
        subjectUri: callerSubject,
        issuer,
        now: this.#now,
        ...(identity.extensions ? { extraExtensions: identity.extensions } : {}),
      }),
      witnesses: [witness],
    });
    try {
      await builder.create({ data: Buffer.from(payload), type: INTOTO_PAYLOAD_TYPE });
    } catch (err) {
      // The same caller submitted the same statement before (or concurrently, and won the
      // race): answer with the stored record.
      const existing =
        (err instanceof DuplicateAttestationError ? await this.get(err.attestationId) : undefined) ??
        (await this.#attestations.bySigner(callerSubject, statementSha256));
      if (existing) return { record: existing, created: false };
      throw err;
    }
    const stored = witness.logged?.row as AttestationRow | undefined;
    if (!stored) throw new AppError('INTERNAL', 'the log did not store the attestation');
    return { record: toRecord(stored, subjects), created: true };
  }

  async get(id: string): Promise<AttestationRecord | undefined> {
    return this.#attestations.get(id);
  }
}

/** `input` as a Statement v1 for `AttestService.sign`, or a 400 listing every bad field. */
export function statementV1(input: unknown): Statement {
  const parsed = StatementV1.safeParse(input);
  if (!parsed.success) {
    throw new AppError('VALIDATION_FAILED', 'invalid in-toto Statement v1', {
      errors: fieldErrors(parsed.error.issues),
    });
  }
  return parsed.data;
}

/**
 * The environment a statement signs (null: none), which must be `expected` when that is given:
 * the stored column is then only ever a copy of what was signed.
 */
export function environmentOf(statement: unknown, issuer: string, expected?: string | null): string | null {
  const signed = signedEnvironment(statement, issuer);
  if ('conflict' in signed) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the statement names more than one environment: ${signed.conflict.join(', ')}`,
    );
  }
  if (expected !== undefined && signed.environment !== expected) {
    const names = signed.environment === null ? 'no environment' : `environment ${signed.environment}`;
    throw new AppError('VALIDATION_FAILED', `the statement names ${names}, not ${expected ?? 'none'}`);
  }
  return signed.environment;
}
