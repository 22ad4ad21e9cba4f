// Evidence for a decision. A row in the database is not proof; what was signed is. Two checks:
// - EvidenceReader: what storage says it holds about a digest (the subject index rows) is
//   compared with the log's signed head for that digest, so no row was hidden, added or edited;
//   then every attestation of the kinds the policy reads is loaded, however many there are.
// - EvidenceVerifier: each one's bundle verifies under the trust it came in with, as the signer
//   the row names, and every column a decision reads equals what was signed: the statement and
//   its predicate type, the environment it names, its log index and time (under the log's SET).
// Bundles never change, so a successful verification is cached by the stored bytes.
import type { KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { messageOf } from '../errors.ts';
import { signedEnvironment } from '../intoto/signed-environment.ts';
import { type Statement, subjectDigests } from '../intoto/statement.ts';
import { signatureStatement } from '../intoto/waybill.ts';
import type { Evidence } from '../policy/types.ts';
import { createExternalTrust, type ExternalTrust } from '../signing/external.ts';
import type { TrustedRootJson } from '../signing/trusted-root.ts';
import { verifyBundle } from '../signing/verify.ts';
import type { AttestationRepo, StoredAttestation } from '../storage/attestation-repo.ts';
import { logId } from '../tlog/checkpoint.ts';
import { verifyInclusionPromise } from '../tlog/entry.ts';
import type { StoredHead } from '../tlog/store.ts';
import { checkHead } from '../tlog/subject-index.ts';
import { jcs, sha256hex, toBase64 } from '../util/encoding.ts';

export interface Verified {
  verified: boolean;
  error?: string;
}

/** What storage holds about a digest cannot be shown to be what the log signed: deny, with this reason. */
export class UntrustedEvidenceError extends Error {
  override readonly name = 'UntrustedEvidenceError';
}

/** More attestations of the kinds a policy reads than one verdict verifies. */
export const MAX_RELEVANT_EVIDENCE = 50_000;
const LOAD_CHUNK = 2_000;

export class EvidenceVerifier {
  readonly #trustedRoot: TrustedRootJson;
  readonly #external: ExternalTrust;
  readonly #issuer: string;
  readonly #logKeys: readonly KeyObject[];
  readonly #own: ExternalTrust;
  readonly #cache = new Map<string, Verified>();
  readonly #max: number;

  constructor(opts: {
    trustedRoot: TrustedRootJson;
    external: ExternalTrust;
    issuer: string;
    /** Every key waybill's log has signed with (current and retired). */
    logKeys: Iterable<KeyObject>;
    cacheSize?: number;
  }) {
    this.#trustedRoot = opts.trustedRoot;
    this.#external = opts.external;
    this.#own = createExternalTrust({ roots: [{ name: 'waybill', trustedRoot: opts.trustedRoot }] });
    this.#issuer = opts.issuer;
    this.#logKeys = [...opts.logKeys];
    this.#max = opts.cacheSize ?? 100_000;
  }

  /** Verify a stored attestation and its columns against what was signed (see the file comment). */
  async check(stored: StoredAttestation): Promise<Verified> {
    // Keyed by every stored byte: an edited row is a new question, never a cached yes.
    const key = `${stored.record.id}:${sha256hex(JSON.stringify(cacheKey(stored)))}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const result = await this.#check(stored);
    // Only successes are cached: a failure may be transient (e.g. a trust root reloaded later).
    if (result.verified) {
      if (this.#cache.size >= this.#max) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, result);
    }
    return result;
  }

  async #check(stored: StoredAttestation): Promise<Verified> {
    const mismatch = rowMismatch(stored, this.#issuer, this.#logKeys);
    if (mismatch) return { verified: false, error: `the stored row does not match what was signed: ${mismatch}` };
    const r = stored.record;
    try {
      // A message signature logged through the Rekor-compatible API names only its digest, so it
      // is checked as ingestion checks one, under waybill's own root.
      const ownMessage = r.origin === 'signed' && 'messageSignature' in r.bundle;
      if (r.origin === 'signed' && !ownMessage) {
        await verifyBundle(r.bundle, {
          trustedRoot: this.#trustedRoot,
          identity: { subjectAlternativeName: r.signer.subject, issuer: r.signer.issuer },
        });
        return { verified: true };
      }
      const v = await (ownMessage ? this.#own : this.#external).verify(r.bundle);
      if (v.signer.subject !== r.signer.subject || v.signer.issuer !== r.signer.issuer) {
        return {
          verified: false,
          error: `the bundle's signer ${v.signer.subject} (${v.signer.issuer}) is not the recorded ${r.signer.subject}`,
        };
      }
      return { verified: true };
    } catch (err) {
      return { verified: false, error: messageOf(err) };
    }
  }

  /** Evidence as the policy engine sees it; anything unverified carries why. */
  async evidence(stored: readonly StoredAttestation[]): Promise<Evidence[]> {
    return Promise.all(
      stored.map(async (s) => {
        const r = s.record;
        const v = await this.check(s);
        return {
          id: r.id,
          predicateType: r.predicateType,
          statement: r.statement as Readonly<Record<string, unknown>>,
          signer: r.signer,
          environment: r.environment,
          createdAt: new Date(r.createdAt),
          // From the signed statement, not the stored subject rows.
          subjects: subjectDigests(r.statement).map((d) => d.digest),
          verified: v.verified,
          ...(v.error ? { verifyError: v.error } : {}),
        };
      }),
    );
  }
}

/** Reads all the evidence about a digest, as the log's signed subject index vouches for it. */
export class EvidenceReader {
  readonly #attestations: AttestationRepo;
  readonly #heads: { heads(digests: readonly string[]): Promise<StoredHead[]> };
  readonly #verifier: EvidenceVerifier;
  readonly #origin: string;
  readonly #indexKeys: ReadonlyMap<string, KeyObject>;
  readonly #maxRelevant: number;

  constructor(opts: {
    attestations: AttestationRepo;
    heads: { heads(digests: readonly string[]): Promise<StoredHead[]> };
    verifier: EvidenceVerifier;
    /** The log's origin line, which index heads sign. */
    origin: string;
    indexKeys: ReadonlyMap<string, KeyObject>;
    maxRelevant?: number;
  }) {
    this.#attestations = opts.attestations;
    this.#heads = opts.heads;
    this.#verifier = opts.verifier;
    this.#origin = opts.origin;
    this.#indexKeys = opts.indexKeys;
    this.#maxRelevant = opts.maxRelevant ?? MAX_RELEVANT_EVIDENCE;
  }

  get verifier(): EvidenceVerifier {
    return this.#verifier;
  }

  /**
   * Every attestation about `digest` of `predicateTypes` (all kinds when omitted), verified.
   * Throws UntrustedEvidenceError when storage does not hold exactly what the log signed about
   * the digest, or holds more than can be verified for one decision.
   */
  async about(digest: string, predicateTypes?: readonly string[]): Promise<Evidence[]> {
    const [rows, heads] = await Promise.all([this.#attestations.indexOf(digest), this.#heads.heads([digest])]);
    const problem = checkHead(this.#origin, heads[0], digest, rows, this.#indexKeys);
    if (problem) throw new UntrustedEvidenceError(`the evidence about ${digest} cannot be trusted: ${problem}`);
    const kinds = predicateTypes && new Set(predicateTypes);
    const wanted = kinds ? rows.filter((r) => kinds.has(r.predicateType)) : rows;
    if (wanted.length > this.#maxRelevant) {
      throw new UntrustedEvidenceError(
        `${digest} has ${wanted.length} attestations of the kinds the policy reads, more than the ` +
          `${this.#maxRelevant} one verdict verifies; it cannot be evaluated completely`,
      );
    }
    const stored: StoredAttestation[] = [];
    for (let i = 0; i < wanted.length; i += LOAD_CHUNK) {
      stored.push(...(await this.#attestations.stored(wanted.slice(i, i + LOAD_CHUNK).map((r) => r.attestationId))));
    }
    if (stored.length !== wanted.length) {
      throw new UntrustedEvidenceError(`the evidence about ${digest} changed while it was read; ask again`);
    }
    return this.#verifier.evidence(stored);
  }

  /** One attestation by id, verified; undefined when none is stored. */
  async one(id: string): Promise<Evidence | undefined> {
    return (await this.many([id])).get(id);
  }

  /** Attestations by id, verified, read in a few queries (absent ids are absent from the map). */
  async many(ids: Iterable<string>): Promise<Map<string, Evidence>> {
    const wanted = [...new Set(ids)];
    const out = new Map<string, Evidence>();
    for (let i = 0; i < wanted.length; i += LOAD_CHUNK) {
      const stored = await this.#attestations.stored(wanted.slice(i, i + LOAD_CHUNK));
      for (const e of await this.#verifier.evidence(stored)) out.set(e.id, e);
    }
    return out;
  }
}

/**
 * Why a stored attestation's columns are not what was signed, or undefined: its statement,
 * predicate type, environment and statement hash against the signed statement; its log index
 * and time against waybill's log entry and the SET signed with it; that entry against the bundle.
 * No signature of the bundle itself is checked here (that is `EvidenceVerifier.check`).
 */
export function rowMismatch(
  stored: StoredAttestation,
  issuer: string,
  logKeys: readonly KeyObject[],
): string | undefined {
  return columnMismatch(stored, issuer) ?? entryMismatch(stored, logKeys);
}

// The columns a decision reads, against the signed statement.
function columnMismatch({ record: r, statementSha256 }: StoredAttestation, issuer: string): string | undefined {
  const signed = signedStatementOf(r.bundle);
  if (signed === undefined) return 'the bundle carries neither a DSSE envelope nor a message signature';
  if (!isDeepStrictEqual(signed, r.statement)) return 'the statement is not the one in the signed envelope';
  if (r.predicateType !== (signed as Statement).predicateType) return `predicate type ${r.predicateType}`;
  const env = signedEnvironment(signed, issuer);
  const expected = 'conflict' in env ? `conflict (${env.conflict.join(', ')})` : env.environment;
  if (r.environment !== expected) return `environment ${r.environment ?? 'none'}, signed ${expected ?? 'none'}`;
  if (statementSha256 !== sha256hex(jcs(signed))) return 'statement_sha256';
  return undefined;
}

// The row's log index and time, against waybill's log entry for it and the SET signed with it.
function entryMismatch({ record: r, entry }: StoredAttestation, logKeys: readonly KeyObject[]): string | undefined {
  if (!entry) return "no log entry records it (waybill's log)";
  if (entry.logIndex !== r.logIndex) return `log index ${r.logIndex}, logged at #${entry.logIndex}`;
  if (entry.integratedTime !== r.integratedTime) return `created at ${r.createdAt}, logged at ${entry.integratedTime}`;
  if (!entry.set) return 'its log entry has no signed entry timestamp';
  const fields = { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex };
  const set = entry.set;
  if (!logKeys.some((k) => verifyInclusionPromise({ ...fields, logId: logIdOfKey(k) }, set, k))) {
    return `its log entry #${entry.logIndex} does not carry the log's signed entry timestamp`;
  }
  const bound = entryKindProblem(entry) ?? entryNamesBundle(entry.body, r.bundle, r.origin);
  if (bound) return `log entry #${entry.logIndex}: ${bound}`;
  // A bundle waybill signed carries waybill's own log entry; an ingested one another log's (or none).
  const own = new Set(logKeys.map((k) => toBase64(logIdOfKey(k))));
  const logged = (r.bundle as { verificationMaterial?: { tlogEntries?: Array<{ logId?: { keyId?: string } }> } })
    .verificationMaterial?.tlogEntries?.[0]?.logId?.keyId;
  const ours = logged !== undefined && own.has(logged);
  if ((r.origin === 'signed') !== ours) {
    return `origin ${r.origin}, but the bundle's log entry is ${ours ? "waybill's" : 'another log’s'}`;
  }
  return undefined;
}

// The stored kind is the body's own: what the entry is served as must be what it is.
function entryKindProblem(entry: { body: Uint8Array; kind: string }): string | undefined {
  try {
    const kind = (JSON.parse(Buffer.from(entry.body).toString('utf8')) as { kind?: unknown }).kind;
    return kind === entry.kind ? undefined : `stored as kind ${entry.kind}, its body is ${String(kind)}`;
  } catch {
    return 'its body is not JSON';
  }
}

const LOG_IDS = new WeakMap<KeyObject, Uint8Array>();
function logIdOfKey(key: KeyObject): Uint8Array {
  let id = LOG_IDS.get(key);
  if (!id) {
    id = logId(key);
    LOG_IDS.set(key, id);
  }
  return id;
}

/** The statement a bundle signs: its DSSE payload, or the one waybill records for a message signature. */
export function signedStatementOf(bundle: unknown): unknown {
  const b = bundle as {
    dsseEnvelope?: { payload?: unknown };
    messageSignature?: { messageDigest?: { digest?: unknown } };
  };
  const payload = b?.dsseEnvelope?.payload;
  if (typeof payload === 'string') {
    try {
      return JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Statement;
    } catch {
      return null; // not JSON: never equal to a stored statement
    }
  }
  const digest = b?.messageSignature?.messageDigest?.digest;
  if (typeof digest === 'string') return signatureStatement(Buffer.from(digest, 'base64').toString('hex'));
  return undefined;
}

// The log entry body must be the one logged for this bundle: waybill's own bundles carry the
// body in their tlog entry; an ingested bundle's signature (and payload hash) must be in it.
function entryNamesBundle(body: Uint8Array, bundle: unknown, origin: 'signed' | 'ingested'): string | undefined {
  const b = bundle as {
    dsseEnvelope?: { payload?: string; signatures?: Array<{ sig?: string }> };
    messageSignature?: { signature?: string; messageDigest?: { digest?: string } };
    verificationMaterial?: { tlogEntries?: Array<{ canonicalizedBody?: string }> };
  };
  if (origin === 'signed') {
    const own = b.verificationMaterial?.tlogEntries?.[0]?.canonicalizedBody;
    return own === toBase64(body) ? undefined : "the body is not the bundle's own log entry body";
  }
  let spec: Record<string, unknown>;
  try {
    spec = (JSON.parse(Buffer.from(body).toString('utf8')) as { spec: Record<string, unknown> }).spec;
  } catch {
    return 'the body is not JSON';
  }
  if (b.dsseEnvelope) {
    const sig = (spec.signatures as Array<{ signature?: string }> | undefined)?.[0]?.signature;
    const payloadHash = (spec.payloadHash as { value?: string } | undefined)?.value;
    const payload = Buffer.from(b.dsseEnvelope.payload ?? '', 'base64');
    if (sig !== b.dsseEnvelope.signatures?.[0]?.sig || payloadHash !== sha256hex(payload)) {
      return "the body does not name this bundle's signature and payload";
    }
    return undefined;
  }
  const signature = (spec.signature as { content?: string } | undefined)?.content;
  const hash = (spec.data as { hash?: { value?: string } } | undefined)?.hash?.value;
  const digest = Buffer.from(b.messageSignature?.messageDigest?.digest ?? '', 'base64').toString('hex');
  return signature === b.messageSignature?.signature && hash === digest
    ? undefined
    : "the body does not name this bundle's signature and digest";
}

function cacheKey(s: StoredAttestation): unknown {
  const e = s.entry;
  return [
    s.record,
    s.statementSha256,
    e && [e.logIndex, e.integratedTime, toBase64(e.body), e.set ? toBase64(e.set) : null],
  ];
}
