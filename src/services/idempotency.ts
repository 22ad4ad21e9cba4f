// Idempotency-Key on every POST (draft-ietf-httpapi-idempotency-key-header): a retry with the same
// key and the same body gets the original answer; the same key with another body is a 409. The
// key is reserved before anything is signed or stored, so requests racing with one key do the
// work once: the others are told the first is still in progress (409) and can retry.
import { AppError } from '../errors.ts';
import type { AttestationRecord, AttestationRepo } from '../storage/attestation-repo.ts';
import type { IdempotencyRepo, IdempotencyRow } from '../storage/idempotency-repo.ts';
import { jcs, sha256hex } from '../util/encoding.ts';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** A reservation older than this belongs to a request that died; the key may be used again. */
const STALE_MS = 5 * 60_000;

/** What a request created: its answer, its status, and a reference to find it again. */
export interface Done<T> {
  value: T;
  status: number;
  /** `<kind>:<id>` of the created resource. */
  resource: string;
}

export class IdempotencyStore {
  readonly #keys: IdempotencyRepo;
  readonly #attestations: AttestationRepo;
  readonly #now: () => Date;

  constructor(keys: IdempotencyRepo, opts: { attestations: AttestationRepo; now?: () => Date }) {
    this.#keys = keys;
    this.#attestations = opts.attestations;
    this.#now = opts.now ?? (() => new Date());
  }

  /** `once` for a request that signs (or finds) one attestation: 201 when new, 200 when it existed. */
  async run(
    callerSubject: string,
    key: string | undefined,
    route: string,
    body: unknown,
    work: () => Promise<{ record: AttestationRecord; created: boolean }>,
  ): Promise<{ record: AttestationRecord; status: 200 | 201 }> {
    const { value, status } = await this.once(
      callerSubject,
      key,
      route,
      body,
      async () => {
        const r = await work();
        return { value: r.record, status: r.created ? 201 : 200, resource: `attestation:${r.record.id}` };
      },
      (resource) => this.#attestations.get(resource.slice('attestation:'.length)),
    );
    return { record: value, status: status as 200 | 201 };
  }

  /**
   * Run `work` once per (caller, key): with no key, just run it; with a key seen before for the
   * same request, answer what it created (`replay` reads it back by its resource reference).
   */
  async once<T>(
    callerSubject: string,
    key: string | undefined,
    route: string,
    body: unknown,
    work: () => Promise<Done<T>>,
    replay: (resource: string) => Promise<T | undefined>,
  ): Promise<{ value: T; status: number }> {
    if (key === undefined) return work();
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new AppError('VALIDATION_FAILED', 'invalid Idempotency-Key header', {
        errors: [{ path: '/headers/idempotency-key', message: '1 to 255 visible ASCII characters' }],
      });
    }
    const requestSha256 = sha256hex(`${route}\n${jcs(body)}`);
    const now = this.#now();
    if (!(await this.#keys.reserve({ callerSubject, key, route, requestSha256, now }))) {
      const seen = await this.#keys.get(callerSubject, key);
      if (!seen) throw new AppError('CONFLICT', 'this Idempotency-Key is being released by a failed request; retry');
      if (seen.route !== route || seen.requestSha256 !== requestSha256) {
        throw new AppError('CONFLICT', 'this Idempotency-Key was already used with a different request');
      }
      if (seen.status !== null) return this.#replay(seen, replay);
      const stale = new Date(now.getTime() - STALE_MS);
      if (!(await this.#keys.takeOver(callerSubject, key, stale, now))) {
        throw new AppError('CONFLICT', 'a request with this Idempotency-Key is still in progress; retry later');
      }
    }
    let done: Done<T>;
    try {
      done = await work();
    } catch (err) {
      await this.#keys.release(callerSubject, key);
      throw err;
    }
    await this.#keys.complete(callerSubject, key, done.status, done.resource);
    return { value: done.value, status: done.status };
  }

  async #replay<T>(row: IdempotencyRow, replay: (resource: string) => Promise<T | undefined>) {
    // Keys stored before resources were kept name their attestation.
    const resource = row.resource ?? `attestation:${row.attestationId}`;
    const value = await replay(resource);
    if (value === undefined) throw new AppError('INTERNAL', `idempotency record points at a missing ${resource}`);
    return { value, status: row.status! };
  }
}
