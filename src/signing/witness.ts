// The witness @sigstore/sign's bundle builder calls once the statement is signed: it appends the
// envelope to waybill's transparency log and returns the log entry for the bundle. The bundle is
// assembled here exactly as the builder will assemble it (the same @sigstore/bundle call), so the
// attestation row the log writes in its batch transaction holds the very bundle returned.
import {
  type Bundle,
  type TransparencyLogEntry as BundleTlogEntry,
  bundleToJSON,
  type SerializedBundle,
  toDSSEBundle,
} from '@sigstore/bundle';
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import type { Witness } from '@sigstore/sign';
import type { AppendItem, TlogEntryJson } from '../tlog/batch.ts';
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

/** The logged bundle, handed to `record` inside the log's batch transaction. */
export interface LoggedBundle {
  id: string;
  bundle: SerializedBundle;
  entry: TlogEntryJson;
}

// Our entries always carry logId and kindVersion, which the bundle type requires.
const toTlogEntry = (json: TlogEntryJson) => TransparencyLogEntry.fromJSON(json) as BundleTlogEntry;

/**
 * A witness for one signing: `unique` is the (signer, statement) pair a repeat is known by,
 * `subjectDigests` the statement's subjects (for the log's subject index), and `record` turns the
 * logged bundle into the attestation row the log stores with its entry.
 */
export class LogWitness implements Witness {
  readonly #log: { append(item: AppendItem): Promise<TlogEntryJson> };
  readonly #unique: UniqueKey;
  readonly #subjectDigests: readonly string[];
  readonly #record: (logged: LoggedBundle) => LoggedRecord;

  constructor(
    log: { append(item: AppendItem): Promise<TlogEntryJson> },
    opts: { unique: UniqueKey; subjectDigests: readonly string[]; record(logged: LoggedBundle): LoggedRecord },
  ) {
    this.#log = log;
    this.#unique = opts.unique;
    this.#subjectDigests = opts.subjectDigests;
    this.#record = opts.record;
  }

  async testify(content: SignedContent, certificatePem: string) {
    const { body, id, bundle } = prepareEntry(content, certificatePem);
    let logged: { json: TlogEntryJson; entry: BundleTlogEntry } | undefined;
    const entry = await this.#log.append({
      body,
      kind: { kind: 'dsse', version: '0.0.1' },
      attestationId: id,
      unique: this.#unique,
      subjectDigests: this.#subjectDigests,
      record: (json) => {
        logged = { json, entry: toTlogEntry(json) };
        bundle.verificationMaterial.tlogEntries = [logged.entry];
        bundle.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
        return this.#record({ id, bundle: bundleToJSON(bundle), entry: json });
      },
    });
    // The entry the record was built with (the log may have built more than one, when a batch
    // had to be redone).
    return { tlogEntries: [logged?.json === entry ? logged.entry : toTlogEntry(entry)] };
  }
}
