// Evidence for a decision: every stored attestation about a digest, each re-verified offline
// before the policy may count it (a row in the database is not proof; its bundle is). Bundles
// never change, so a verification result is cached by attestation id.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { type Statement, subjectDigests } from '../intoto/statement.ts';
import type { Evidence } from '../policy/types.ts';
import { createExternalTrust, type ExternalTrust } from '../signing/external.ts';
import type { TrustedRootJson } from '../signing/trusted-root.ts';
import { verifyBundle } from '../signing/verify.ts';
import type { AttestationRecord } from './attest.ts';

interface Verified {
  verified: boolean;
  error?: string;
}

export class EvidenceVerifier {
  readonly #trustedRoot: TrustedRootJson;
  readonly #external: ExternalTrust;
  readonly #own: ExternalTrust;
  readonly #cache = new Map<string, Verified>();
  readonly #max: number;

  constructor(opts: { trustedRoot: TrustedRootJson; external: ExternalTrust; cacheSize?: number }) {
    this.#trustedRoot = opts.trustedRoot;
    this.#external = opts.external;
    this.#own = createExternalTrust({ roots: [{ name: 'waybill', trustedRoot: opts.trustedRoot }] });
    this.#max = opts.cacheSize ?? 100_000;
  }

  /**
   * Verify a record's bundle, that the verified signer is the one the record names, and that
   * the stored statement is the signed one (a row edited in the database must not count).
   */
  async verify(record: AttestationRecord): Promise<Verified> {
    // Keyed by the stored bytes too: an edited row is a new question, never a cached yes.
    const key =
      record.id +
      ':' +
      createHash('sha256')
        .update(JSON.stringify([record.bundle, record.statement, record.signer]))
        .digest('hex');
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const result = await this.#verify(record);
    // Only successes are cached: a failure may be transient (e.g. a trust root reloaded later).
    if (result.verified) {
      if (this.#cache.size >= this.#max) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, result);
    }
    return result;
  }

  async #verify(record: AttestationRecord): Promise<Verified> {
    const signed = signedStatement(record);
    if (signed !== undefined && !isDeepStrictEqual(signed, record.statement)) {
      return {
        verified: false,
        error: 'the stored statement is not the one in the signed envelope (edited in storage?)',
      };
    }
    try {
      // Hook (workload identity): a message signature logged through the Rekor-compatible API
      // names only its digest, so it is checked as ingestion checks one, under waybill's root.
      const ownMessage = record.origin === 'signed' && 'messageSignature' in record.bundle;
      if (record.origin === 'signed' && !ownMessage) {
        await verifyBundle(record.bundle, {
          trustedRoot: this.#trustedRoot,
          identity: { subjectAlternativeName: record.signer.subject, issuer: record.signer.issuer },
        });
        return { verified: true };
      }
      const verified = await (ownMessage ? this.#own : this.#external).verify(record.bundle);
      if (verified.signer.subject !== record.signer.subject || verified.signer.issuer !== record.signer.issuer) {
        return {
          verified: false,
          error: `the bundle's signer ${verified.signer.subject} is not the recorded ${record.signer.subject}`,
        };
      }
      return { verified: true };
    } catch (err) {
      return { verified: false, error: (err as Error).message };
    }
  }

  async evidence(records: readonly AttestationRecord[]): Promise<Evidence[]> {
    return Promise.all(
      records.map(async (r) => {
        const v = await this.verify(r);
        return {
          id: r.id,
          predicateType: r.predicateType,
          statement: r.statement as Readonly<Record<string, unknown>>,
          signer: r.signer,
          environment: r.environment,
          createdAt: new Date(r.createdAt),
          // From the signed statement, not the stored subject rows.
          subjects: subjectDigests(r.statement).map((s) => s.digest),
          verified: v.verified,
          ...(v.error ? { verifyError: v.error } : {}),
        };
      }),
    );
  }
}

/** The statement inside a DSSE bundle's payload (undefined for message signatures). */
function signedStatement(record: AttestationRecord): unknown {
  const payload = (record.bundle as { dsseEnvelope?: { payload?: string } }).dsseEnvelope?.payload;
  if (typeof payload !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Statement;
  } catch {
    return null; // not JSON: never equal to a stored statement
  }
}
