// Idempotency-Key for POSTs (draft-ietf-httpapi-idempotency-key-header): a retry with the same
// key and the same body gets the original answer; the same key with a different body is a 409.
// Signing is idempotent by content anyway; the key makes a client's retry explicit and safe.
import { AppError } from '../errors.ts';
import type { IdempotencyRepo, IdempotencyRow } from '../storage/idempotency-repo.ts';
import { jcs, sha256hex } from '../util/encoding.ts';
import type { AttestationRecord, AttestService } from './attest.ts';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface Outcome {
  record: AttestationRecord;
  status: 200 | 201;
}

export class IdempotencyStore {
  readonly #keys: IdempotencyRepo;
  readonly #attest: AttestService;
  constructor(keys: IdempotencyRepo, attest: AttestService) {
    this.#keys = keys;
    this.#attest = attest;
  }

  async run(
    callerSubject: string,
    key: string | undefined,
    route: string,
    body: unknown,
    work: () => Promise<{ record: AttestationRecord; created: boolean }>,
  ): Promise<Outcome> {
    if (key === undefined) {
      const r = await work();
      return { record: r.record, status: r.created ? 201 : 200 };
    }
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new AppError('VALIDATION_FAILED', 'invalid Idempotency-Key header', {
        errors: [{ path: '/headers/idempotency-key', message: '1 to 255 visible ASCII characters' }],
      });
    }
    const requestSha256 = sha256hex(`${route}\n${jcs(body)}`);
    const seen = await this.#keys.get(callerSubject, key);
    if (seen) return this.#replay(seen, route, requestSha256);

    const r = await work();
    const status = r.created ? 201 : 200;
    await this.#keys.insert({ callerSubject, key, route, requestSha256, status, attestationId: r.record.id });
    const stored = await this.#keys.get(callerSubject, key);
    // A concurrent request with the same key and another body got there first.
    if (stored && (stored.requestSha256 !== requestSha256 || stored.route !== route))
      return this.#replay(stored, route, requestSha256);
    return { record: r.record, status };
  }

  async #replay(row: IdempotencyRow, route: string, requestSha256: string): Promise<Outcome> {
    if (row.route !== route || row.requestSha256 !== requestSha256) {
      throw new AppError('CONFLICT', 'this Idempotency-Key was already used with a different request');
    }
    const record = await this.#attest.get(row.attestationId);
    if (!record) throw new AppError('INTERNAL', 'idempotency record points at a missing attestation');
    return { record, status: row.status as 200 | 201 };
  }
}
