// The witness @sigstore/sign's bundle builder calls once the statement is signed: it appends the
// envelope to waybill's transparency log and returns the log entry for the bundle. The bundle is
// assembled here exactly as the builder will assemble it (the same @sigstore/bundle call), so the
// attestation row the log writes in its batch transaction holds the very bundle returned: the
// witness hands the log that bundle as data, and the log puts its entry in it.
import {
  type Bundle,
  type TransparencyLogEntry as BundleTlogEntry,
  bundleToJSON,
  toDSSEBundle,
} from '@sigstore/bundle';
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import type { Witness } from '@sigstore/sign';
import { type AppendItem, loggedRecord, type PendingRecord, type TlogEntryJson } from '../tlog/batch.ts';
import { dsseEntryBody } from '../tlog/entry.ts';
import type { LoggedRecord, UniqueKey } from '../tlog/store.ts';
import { jcs, sha256hex } from '../util/encoding.ts';
import { pemCertificatesToDer } from './der.ts';

type SignedContent = Parameters<Witness['testify']>[0];

/** The attestation id: hex SHA-256 of the JCS of the bundle's DSSE envelope (or message signature) JSON. */
export function attestationId(contentJson: unknown): string {
  return sha256hex(jcs(contentJson));
}

/** What the log records for a signed DSSE envelope: the entry body, the attestation id, the bundle so far. */
export interface PreparedEntry {
  body: Uint8Array;
  id: string;
  /** The bundle as the builder will assemble it, still without its log entry. */
  bundle: Bundle;
}

/** The log entry body and the bundle for a DSSE envelope signed by `certificatePem`'s key. */
export function prepareEntry(content: SignedContent, certificatePem: string): PreparedEntry {
  if (content.$case !== 'dsseEnvelope') throw new Error('expected a DSSE envelope');
  const env = content.dsseEnvelope;
  const sig = env.signatures[0];
  if (!sig || env.signatures.length !== 1) throw new Error('a bundle DSSE envelope carries exactly one signature');
  const body = dsseEntryBody({
    envelope: { payload: env.payload, payloadType: env.payloadType, signature: sig.sig },
    verifierPem: certificatePem,
  });
  const bundle = toDSSEBundle({
    artifact: env.payload,
    artifactType: env.payloadType,
    signature: sig.sig,
    certificate: pemCertificatesToDer(certificatePem)[0]!,
    certificateChain: false,
  });
  return { body, id: attestationId(bundleToJSON(bundle).dsseEnvelope), bundle };
}

// Our entries always carry logId and kindVersion, which the bundle type requires.
const toTlogEntry = (json: TlogEntryJson) => TransparencyLogEntry.fromJSON(json) as BundleTlogEntry;

/** The attestation row's fields the caller knows before signing (the witness adds the id and bundle). */
export type SignedRow = Omit<PendingRecord['row'], 'id' | 'bundle'>;

/**
 * A witness for one signing: `unique` is the (signer, statement) pair a repeat is known by,
 * `subjects` the statement's subjects (for the row and the log's subject index), `row` the
 * attestation row's fields. Once `testify` resolved, `logged` is the attestation the log stored
 * with the entry.
 */
export class LogWitness implements Witness {
  readonly #log: { append(item: AppendItem): Promise<TlogEntryJson> };
  readonly #unique: UniqueKey;
  readonly #subjects: PendingRecord['subjects'];
  readonly #row: SignedRow;
  #logged: LoggedRecord | undefined;

  constructor(
    log: { append(item: AppendItem): Promise<TlogEntryJson> },
    opts: { unique: UniqueKey; subjects: PendingRecord['subjects']; row: SignedRow },
  ) {
    this.#log = log;
    this.#unique = opts.unique;
    this.#subjects = opts.subjects;
    this.#row = opts.row;
  }

  /** The stored attestation, once logged. */
  get logged(): LoggedRecord | undefined {
    return this.#logged;
  }

  async testify(content: SignedContent, certificatePem: string) {
    const { body, id, bundle } = prepareEntry(content, certificatePem);
    bundle.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
    const record: PendingRecord = {
      row: { ...this.#row, id, bundle: bundleToJSON(bundle) },
      subjects: this.#subjects,
      bundleEntry: 'entry',
    };
    const entry = await this.#log.append({
      body,
      kind: { kind: 'dsse', version: '0.0.1' },
      attestationId: id,
      unique: this.#unique,
      subjectDigests: this.#subjects.map((s) => s.digest),
      record,
    });
    // The row the log stored is the one this entry makes (tlog/batch.ts loggedRecord).
    this.#logged = loggedRecord(record, entry);
    return { tlogEntries: [toTlogEntry(entry)] };
  }
}
