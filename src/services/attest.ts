// The signing use case: an in-toto Statement v1 and a caller in, a stored attestation with
// its Sigstore bundle out. The stock DSSEBundleBuilder runs the flow; our Signer issues the
// leaf certificate for the caller, our Witness appends to waybill's log. The attestation row
// is written by the log's batch transaction, so every stored attestation is in the log and
// every log entry is a stored attestation.
import { createHash } from 'node:crypto';
import {
  type TransparencyLogEntry as BundleTlogEntry,
  bundleToJSON,
  type SerializedBundle,
  toDSSEBundle,
} from '@sigstore/bundle';
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { DSSEBundleBuilder, type Witness } from '@sigstore/sign';
import canonicalize from 'canonicalize';
import { and, eq } from 'drizzle-orm';
import { AppError } from '../errors.ts';
import { fieldErrors } from '../http/openapi.ts';
import { INTOTO_PAYLOAD_TYPE, type Statement, StatementV1, subjectDigests } from '../intoto/statement.ts';
import { type CaMaterial, type ExtraExtension, pemCertificatesToDer } from '../signing/ca.ts';
import { caSigner } from '../signing/signer.ts';
import type { Database } from '../storage/database.ts';
import { attestationSubjects, attestations } from '../storage/schema.ts';
import { dsseEntryBody } from '../tlog/entry.ts';
import { DuplicateAttestationError, type TlogEntryJson, type TransparencyLog } from '../tlog/log.ts';

export interface SignerIdentity {
  subject: string;
  issuer: string;
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

export interface AttestationRecord {
  id: string;
  predicateType: string;
  statement: Statement;
  bundle: SerializedBundle;
  signer: SignerIdentity;
  environment: string | null;
  origin: 'signed' | 'ingested';
  logIndex: number;
  /** When waybill's log integrated the entry (unix seconds). */
  integratedTime: number;
  createdAt: string;
  subjects: Array<{ digest: string; name: string | null }>;
}

export type AttestationRow = typeof attestations.$inferSelect;

// Our entries always carry logId and kindVersion, which the bundle type requires.
const toTlogEntry = (json: TlogEntryJson) => TransparencyLogEntry.fromJSON(json) as BundleTlogEntry;

const sha256hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const jcs = (v: unknown): string => {
  const s = (canonicalize as unknown as (v: unknown) => string | undefined)(v);
  if (s === undefined) throw new TypeError('value cannot be canonicalized');
  return s;
};

/** The attestation id: hex SHA-256 of the JCS of the bundle's DSSE envelope JSON. */
export function attestationId(envelopeJson: unknown): string {
  return sha256hex(jcs(envelopeJson));
}

export function toRecord(row: AttestationRow, subjects: AttestationRecord['subjects']): AttestationRecord {
  return {
    id: row.id,
    predicateType: row.predicateType,
    statement: row.statement as Statement,
    bundle: row.bundle as SerializedBundle,
    signer: { subject: row.signerSubject, issuer: row.signerIssuer },
    environment: row.environment,
    origin: row.origin,
    logIndex: row.logIndex,
    integratedTime: Math.floor(row.createdAt.getTime() / 1000),
    createdAt: row.createdAt.toISOString(),
    subjects,
  };
}

export class AttestService {
  readonly #database: Database;
  readonly #log: TransparencyLog;
  readonly #ca: CaMaterial;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: { database: Database; log: TransparencyLog; ca: CaMaterial; issuer: string; now?: () => Date }) {
    this.#database = opts.database;
    this.#log = opts.log;
    this.#ca = opts.ca;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /**
   * Sign `statement` as `signer` (a subject alone: waybill's issuer), log it and store it. The
   * same caller submitting the same statement content again gets the existing record
   * (`created: false`).
   */
  async sign(
    input: unknown,
    signer: string | SigningIdentity,
    opts: { environment?: string | null } = {},
  ): Promise<{ record: AttestationRecord; created: boolean }> {
    const identity = typeof signer === 'string' ? { subject: signer } : signer;
    const callerSubject = identity.subject;
    const issuer = identity.issuer ?? this.#issuer;
    const parsed = StatementV1.safeParse(input);
    if (!parsed.success) {
      throw new AppError('VALIDATION_FAILED', 'invalid in-toto Statement v1', {
        errors: fieldErrors(parsed.error.issues),
      });
    }
    const statement = parsed.data;
    // The payload is the JCS form: deterministic bytes, so equal content means equal payload.
    const payload = jcs(statement);
    const statementSha256 = sha256hex(payload);
    // No lookup before signing: the log's batch transaction finds a repeated (caller,
    // statement) under its lock (one query for the whole batch) and logs nothing for it; the
    // append then rejects with DuplicateAttestationError and the existing record is answered.

    const subjects = subjectDigests(statement);
    const environment = opts.environment ?? null;
    let stored: typeof attestations.$inferSelect | undefined;
    let logged: { json: TlogEntryJson; entry: BundleTlogEntry } | undefined;
    const witness: Witness = {
      testify: async (content, certificatePem) => {
        if (content.$case !== 'dsseEnvelope') throw new Error('expected a DSSE envelope');
        const env = content.dsseEnvelope;
        const sig = env.signatures[0];
        if (!sig || env.signatures.length !== 1)
          throw new Error('a bundle DSSE envelope carries exactly one signature');
        const body = dsseEntryBody({
          envelope: { payload: env.payload, payloadType: env.payloadType, signature: sig.sig },
          verifierPem: certificatePem,
        });
        // The bundle exactly as the builder will assemble it, so the stored copy is the one returned.
        const unlogged = toDSSEBundle({
          artifact: env.payload,
          artifactType: env.payloadType,
          signature: sig.sig,
          certificate: pemCertificatesToDer(certificatePem)[0]!,
          certificateChain: false,
        });
        const envelopeJson = bundleToJSON(unlogged).dsseEnvelope;
        const id = attestationId(envelopeJson);
        const entry = await this.#log.append({
          body,
          kind: { kind: 'dsse', version: '0.0.1' },
          attestationId: id,
          unique: { signerSubject: callerSubject, statementSha256 },
          record: (tlogEntry) => {
            logged = { json: tlogEntry, entry: toTlogEntry(tlogEntry) };
            unlogged.verificationMaterial.tlogEntries = [logged.entry];
            unlogged.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
            const row: AttestationRow = {
              id,
              predicateType: statement.predicateType,
              statement,
              statementSha256,
              bundle: bundleToJSON(unlogged),
              signerSubject: callerSubject,
              signerIssuer: issuer,
              environment,
              origin: 'signed',
              logIndex: Number(tlogEntry.logIndex),
              createdAt: new Date(Number(tlogEntry.integratedTime) * 1000),
            };
            stored = row;
            return { row, subjects };
          },
        });
        // The entry the record was built with (the log may have built more than one, when a
        // batch had to be redone).
        return { tlogEntries: [logged?.json === entry ? logged.entry : toTlogEntry(entry)] };
      },
    };

    const builder = new DSSEBundleBuilder({
      signer: caSigner(this.#ca, {
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
        (await findBySigner(this.#database, callerSubject, statementSha256));
      if (existing) return { record: existing, created: false };
      throw err;
    }
    if (!stored) throw new AppError('INTERNAL', 'the log did not store the attestation');
    return { record: toRecord(stored, subjects), created: true };
  }

  async get(id: string): Promise<AttestationRecord | undefined> {
    return findAttestation(this.#database, id);
  }
}

/** A stored attestation record by id (signed or ingested). */
export async function findAttestation(database: Database, id: string): Promise<AttestationRecord | undefined> {
  const [row] = await database.db.select().from(attestations).where(eq(attestations.id, id));
  return row ? toRecord(row, await subjectsOf(database, row.id)) : undefined;
}

/** The record a signer already has for a statement (the idempotency key), if any. */
export async function findBySigner(
  database: Database,
  subject: string,
  statementSha256: string,
): Promise<AttestationRecord | undefined> {
  const [row] = await database.db
    .select()
    .from(attestations)
    .where(and(eq(attestations.signerSubject, subject), eq(attestations.statementSha256, statementSha256)));
  return row ? toRecord(row, await subjectsOf(database, row.id)) : undefined;
}

async function subjectsOf(database: Database, id: string) {
  return database.db
    .select({ digest: attestationSubjects.digest, name: attestationSubjects.name })
    .from(attestationSubjects)
    .where(eq(attestationSubjects.attestationId, id));
}
