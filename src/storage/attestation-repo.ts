// Attestations and their subjects, read back: by id, by (signer, statement), by digest with
// predicate types and environment, and in pages in log order. Rows are written only by the log's
// batch transaction (log-repo.ts), so every stored attestation is in the log.
import type { SerializedBundle } from '@sigstore/bundle';
import { and, asc, desc, eq, inArray, lt, ne, type SQL } from 'drizzle-orm';
import type { Statement } from '../intoto/statement.ts';
import type { Database } from './driver.ts';
import { attestationSubjects, attestations, logEntries } from './schema.ts';

export type AttestationRow = typeof attestations.$inferSelect;

export interface SignerIdentity {
  subject: string;
  issuer: string;
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

/** One row of what storage says it holds about a digest: what the log's subject index covers. */
export interface IndexRow {
  attestationId: string;
  logIndex: number;
  predicateType: string;
  environment: string | null;
}

/** An attestation with the columns only integrity checks read, and its log entry as stored. */
export interface StoredAttestation {
  record: AttestationRecord;
  statementSha256: string;
  entry: { logIndex: number; body: Uint8Array; integratedTime: number; kind: string; set: Uint8Array | null } | null;
}

/** One attestation about one digest, without its bundle (AttestationRepo.evidenceAbout). */
export interface EvidenceRow {
  digest: string;
  id: string;
  predicateType: string;
  statement: Statement;
  signer: SignerIdentity;
  environment: string | null;
  createdAt: Date;
}

/** The largest page `page` answers. */
export const MAX_PAGE = 500;

/** Which attestations: about a digest, of some predicate types, for an environment. */
export interface AttestationFilter {
  digest?: string | undefined;
  predicateTypes?: readonly string[] | undefined;
  environment?: string | undefined;
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

export class AttestationRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async get(id: string): Promise<AttestationRecord | undefined> {
    return this.#one(eq(attestations.id, id));
  }

  /** The record a signer already has for a statement (the idempotency key), if any. */
  async bySigner(subject: string, statementSha256: string): Promise<AttestationRecord | undefined> {
    return this.#one(and(eq(attestations.signerSubject, subject), eq(attestations.statementSha256, statementSha256)));
  }

  /**
   * One page, newest first: log order reversed (the log index only grows, so it is the cursor).
   * `before` is the last log index of the previous page; `limit` is at most MAX_PAGE.
   */
  async page(
    filter: AttestationFilter,
    opts: { before?: number | undefined; limit: number },
  ): Promise<{ items: AttestationRecord[]; next: number | null }> {
    const limit = Math.min(Math.max(1, opts.limit), MAX_PAGE);
    const where = this.#where(filter);
    if (opts.before !== undefined) where.push(lt(attestations.logIndex, opts.before));
    const rows = await this.#select(where).limit(limit + 1);
    const items = await this.#records(rows.slice(0, limit));
    return { items, next: rows.length > limit ? items[items.length - 1]!.logIndex : null };
  }

  /**
   * Every attestation about `digest` of the given predicate types (for the environment), newest
   * first, however many: one query on the subject digest index, one for the subjects. Callers
   * name the kinds they read; an unbounded listing goes through `page`.
   */
  async about(
    digest: string,
    filter: Omit<AttestationFilter, 'digest'> & { predicateTypes: readonly string[] },
  ): Promise<AttestationRecord[]> {
    return this.#records(await this.#select(this.#where({ ...filter, digest })));
  }

  /** The subject names `digest` is known by. */
  async namesOf(digest: string): Promise<string[]> {
    const rows = await this.#database.sql.query<{ name: string }>(
      'select distinct name from attestation_subjects where digest = $1 and name is not null order by name limit 100',
      [digest],
    );
    return rows.map((r) => r.name);
  }

  /**
   * Every attestation about `digest` as the subject index rows have it, in log order: small
   * columns only, so that however many there are, all of them are read.
   */
  async indexOf(digest: string): Promise<IndexRow[]> {
    const rows = await this.#database.sql.query<{
      id: string;
      log_index: string | number;
      predicate_type: string;
      environment: string | null;
    }>(
      `select a.id, a.log_index, a.predicate_type, a.environment
       from attestation_subjects s join attestations a on a.id = s.attestation_id
       where s.digest = $1 order by a.log_index`,
      [digest],
    );
    return rows.map((r) => ({
      attestationId: r.id,
      logIndex: Number(r.log_index),
      predicateType: r.predicate_type,
      environment: r.environment,
    }));
  }

  /** Attestations by id with their stored log entries (for verification), in the order asked. */
  async stored(ids: readonly string[]): Promise<StoredAttestation[]> {
    if (ids.length === 0) return [];
    const rows = await this.#database.db
      .select({ a: attestations, e: logEntries })
      .from(attestations)
      .leftJoin(logEntries, eq(logEntries.attestationId, attestations.id))
      .where(inArray(attestations.id, [...ids]));
    const records = await this.#records(rows.map((r) => r.a));
    const byId = new Map(
      rows.map((r, i) => [
        r.a.id,
        {
          record: records[i]!,
          statementSha256: r.a.statementSha256,
          entry: r.e && {
            logIndex: r.e.logIndex,
            body: r.e.body,
            integratedTime: r.e.integratedTime,
            kind: r.e.kind,
            set: r.e.set,
          },
        },
      ]),
    );
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * What a policy reads about many digests at once, slim (no bundles): one row per (digest,
   * attestation) of `predicateTypes`, in log order. For replay, which evaluates thousands of
   * past verdicts and signs nothing.
   */
  async evidenceAbout(digests: readonly string[], predicateTypes: readonly string[]): Promise<EvidenceRow[]> {
    if (digests.length === 0 || predicateTypes.length === 0) return [];
    const rows = await this.#database.sql.query<{
      digest: string;
      id: string;
      predicate_type: string;
      statement: unknown;
      signer_subject: string;
      signer_issuer: string;
      environment: string | null;
      created_at: Date | string;
    }>(
      `select s.digest, a.id, a.predicate_type, a.statement, a.signer_subject, a.signer_issuer, a.environment,
              a.created_at
       from attestation_subjects s join attestations a on a.id = s.attestation_id
       where s.digest = any($1::text[]) and a.predicate_type = any($2::text[])
       order by a.log_index`,
      [[...digests], [...predicateTypes]],
    );
    return rows.map((r) => ({
      digest: r.digest,
      id: r.id,
      predicateType: r.predicate_type,
      statement: (typeof r.statement === 'string' ? JSON.parse(r.statement) : r.statement) as Statement,
      signer: { subject: r.signer_subject, issuer: r.signer_issuer },
      environment: r.environment,
      createdAt: new Date(r.created_at),
    }));
  }

  /** The ids of every attestation of a predicate type. */
  async idsOfType(predicateType: string): Promise<string[]> {
    const rows = await this.#database.sql.query<{ id: string }>(
      'select id from attestations where predicate_type = $1 order by log_index',
      [predicateType],
    );
    return rows.map((r) => r.id);
  }

  /** Stored attestations (with their log entries) in log order from `from`, at most `limit`. */
  async storedFrom(from: number, limit: number): Promise<StoredAttestation[]> {
    const ids = await this.#database.sql.query<{ id: string }>(
      'select id from attestations where log_index >= $1::int8 order by log_index limit $2::int8',
      [from, limit],
    );
    return this.stored(ids.map((r) => r.id));
  }

  /** The subject index rows of every digest after `after` in digest order, for at most `limit` digests. */
  async indexAfter(after: string, limit: number): Promise<Map<string, IndexRow[]>> {
    const rows = await this.#database.sql.query<{
      digest: string;
      id: string;
      log_index: string | number;
      predicate_type: string;
      environment: string | null;
    }>(
      `with d as (select distinct digest from attestation_subjects where digest > $1 order by digest limit $2::int8)
       select s.digest, a.id, a.log_index, a.predicate_type, a.environment
       from d join attestation_subjects s on s.digest = d.digest join attestations a on a.id = s.attestation_id
       order by s.digest, a.log_index`,
      [after, limit],
    );
    const out = new Map<string, IndexRow[]>();
    for (const r of rows) {
      const list = out.get(r.digest) ?? [];
      list.push({
        attestationId: r.id,
        logIndex: Number(r.log_index),
        predicateType: r.predicate_type,
        environment: r.environment,
      });
      out.set(r.digest, list);
    }
    return out;
  }

  /**
   * Attestations of `predicateTypes` naming a subject called one of `names` with another digest
   * than `except`, in log order (rebuild detection: same name, another digest).
   */
  async namedOtherwise(
    names: readonly string[],
    predicateTypes: readonly string[],
    except: string,
  ): Promise<Array<{ attestation: AttestationRow; name: string | null; digest: string }>> {
    return this.#database.db
      .select({ attestation: attestations, name: attestationSubjects.name, digest: attestationSubjects.digest })
      .from(attestationSubjects)
      .innerJoin(attestations, eq(attestations.id, attestationSubjects.attestationId))
      .where(
        and(
          inArray(attestationSubjects.name, [...names]),
          inArray(attestations.predicateType, [...predicateTypes]),
          ne(attestationSubjects.digest, except),
        ),
      )
      .orderBy(asc(attestations.logIndex));
  }

  /** The subject digests that have an attestation of one of `predicateTypes` (at most `limit`). */
  async digestsWith(predicateTypes: readonly string[], limit: number): Promise<string[]> {
    const rows = await this.#database.db
      .select({ digest: attestationSubjects.digest })
      .from(attestationSubjects)
      .innerJoin(attestations, eq(attestations.id, attestationSubjects.attestationId))
      .where(inArray(attestations.predicateType, [...predicateTypes]))
      .groupBy(attestationSubjects.digest)
      .limit(limit);
    return rows.map((r) => r.digest);
  }

  // The digest goes through the subject digest index; the rest filters those rows.
  #where(filter: AttestationFilter): SQL[] {
    const where: SQL[] = [];
    if (filter.digest !== undefined) {
      const ids = this.#database.db
        .select({ id: attestationSubjects.attestationId })
        .from(attestationSubjects)
        .where(eq(attestationSubjects.digest, filter.digest));
      where.push(inArray(attestations.id, ids));
    }
    if (filter.predicateTypes !== undefined)
      where.push(inArray(attestations.predicateType, [...filter.predicateTypes]));
    if (filter.environment !== undefined) where.push(eq(attestations.environment, filter.environment));
    return where;
  }

  #select(where: SQL[]) {
    return this.#database.db
      .select()
      .from(attestations)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(attestations.logIndex));
  }

  async #one(where: SQL | undefined): Promise<AttestationRecord | undefined> {
    const [row] = await this.#database.db.select().from(attestations).where(where);
    return row ? (await this.#records([row]))[0] : undefined;
  }

  async #records(rows: AttestationRow[]): Promise<AttestationRecord[]> {
    if (rows.length === 0) return [];
    const subjects = new Map<string, AttestationRecord['subjects']>();
    const found = await this.#database.db
      .select()
      .from(attestationSubjects)
      .where(
        inArray(
          attestationSubjects.attestationId,
          rows.map((r) => r.id),
        ),
      );
    for (const s of found) {
      const list = subjects.get(s.attestationId) ?? [];
      list.push({ digest: s.digest, name: s.name });
      subjects.set(s.attestationId, list);
    }
    return rows.map((r) => toRecord(r, subjects.get(r.id) ?? []));
  }
}
