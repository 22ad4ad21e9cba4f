// Idempotency-Key for POSTs (draft-ietf-httpapi-idempotency-key-header): a retry with the same
// key and the same body gets the original answer; the same key with a different body is a 409.
// Signing is idempotent by content anyway; the key makes a client's retry explicit and safe.
import { and, eq } from 'drizzle-orm';
import { AppError } from '../errors.ts';
import type { Database } from '../storage/database.ts';
import { idempotencyKeys } from '../storage/schema.ts';
import { jcs, sha256hex } from '../util/encoding.ts';
import type { AttestationRecord, AttestService } from './attest.ts';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface Outcome {
  record: AttestationRecord;
  status: 200 | 201;
}

export class IdempotencyStore {
  readonly #database: Database;
  readonly #attest: AttestService;
  constructor(database: Database, attest: AttestService) {
    this.#database = database;
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
    const where = and(eq(idempotencyKeys.callerSubject, callerSubject), eq(idempotencyKeys.key, key));
    const [seen] = await this.#database.db.select().from(idempotencyKeys).where(where);
    if (seen) return this.#replay(seen, route, requestSha256);

    const r = await work();
    const status = r.created ? 201 : 200;
    await this.#database.db
      .insert(idempotencyKeys)
      .values({ callerSubject, key, route, requestSha256, status, attestationId: r.record.id })
      .onConflictDoNothing();
    const [stored] = await this.#database.db.select().from(idempotencyKeys).where(where);
    // A concurrent request with the same key and another body got there first.
    if (stored && (stored.requestSha256 !== requestSha256 || stored.route !== route))
      return this.#replay(stored, route, requestSha256);
    return { record: r.record, status };
  }

  async #replay(row: typeof idempotencyKeys.$inferSelect, route: string, requestSha256: string): Promise<Outcome> {
    if (row.route !== route || row.requestSha256 !== requestSha256) {
      throw new AppError('CONFLICT', 'this Idempotency-Key was already used with a different request');
    }
    const record = await this.#attest.get(row.attestationId);
    if (!record) throw new AppError('INTERNAL', 'idempotency record points at a missing attestation');
    return { record, status: row.status as 200 | 201 };
  }
}
