// Attestation intake: what build systems and test stages submit. Provenance comes as a complete
// Statement or as build facts waybill turns into one; test results and other evidence come as
// Statements for an environment. Everything is validated field by field before anything is
// signed, so a bad request stores nothing and logs nothing.
import { and, desc, eq, lt, type SQL, sql } from 'drizzle-orm';
import { AppError } from '../errors.ts';
import { signingIdentityOf } from '../identity/caller.ts';
import { bindProvenance, completeFacts } from '../identity/provenance.ts';
import { PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01 } from '../intoto/predicates.ts';
import { type Statement, validateStatement } from '../intoto/statement.ts';
import type { Database } from '../storage/database.ts';
import { attestationSubjects, attestations } from '../storage/schema.ts';
import { type AttestationRecord, type AttestService, toRecord } from './attest.ts';
import type { Caller } from './tokens.ts';

export interface BuildFacts {
  subjects: Array<{ name: string; digest: Record<string, string> }>;
  buildType: string;
  externalParameters: Record<string, unknown>;
  internalParameters?: Record<string, unknown> | undefined;
  resolvedDependencies?: unknown[] | undefined;
  builder: { id: string; version?: Record<string, string> | undefined; builderDependencies?: unknown[] | undefined };
  metadata?: Record<string, unknown> | undefined;
  byproducts?: unknown[] | undefined;
}

/** The SLSA v1 provenance statement for a set of build facts (field layout per the spec). */
export function provenanceFromFacts(f: BuildFacts): Record<string, unknown> {
  const defined = <T extends Record<string, unknown>>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: f.subjects,
    predicateType: PROVENANCE_V1,
    predicate: {
      buildDefinition: defined({
        buildType: f.buildType,
        externalParameters: f.externalParameters,
        internalParameters: f.internalParameters,
        resolvedDependencies: f.resolvedDependencies,
      }),
      runDetails: defined({
        builder: defined({
          id: f.builder.id,
          version: f.builder.version,
          builderDependencies: f.builder.builderDependencies,
        }),
        metadata: f.metadata,
        byproducts: f.byproducts,
      }),
    },
  };
}

function validated(json: unknown, allowedPredicates?: string[]): Statement {
  const result = validateStatement(json, allowedPredicates ? { allowedPredicates } : {});
  if (!result.ok)
    throw new AppError('VALIDATION_FAILED', 'invalid in-toto statement', {
      errors: result.errors.map((e) => ({ ...e, path: `/statement${e.path === '/' ? '' : e.path}` })),
    });
  if (result.version !== 'v1')
    throw new AppError('VALIDATION_FAILED', 'waybill signs in-toto Statement v1 only', {
      errors: [{ path: '/statement/_type', message: 'must be https://in-toto.io/Statement/v1' }],
    });
  return result.statement as Statement;
}

export interface ListQuery {
  digest?: string | undefined;
  predicateType?: string | undefined;
  environment?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

// Newest first is log order reversed: the log index only grows, so it is the cursor too.
function decodeCursor(cursor: string): number {
  const n = /^[0-9]{1,16}$/.test(cursor) ? Number(cursor) : NaN;
  if (!Number.isSafeInteger(n))
    throw new AppError('VALIDATION_FAILED', 'invalid cursor', {
      errors: [{ path: '/cursor', message: 'not a cursor from a previous page' }],
    });
  return n;
}

export class IntakeService {
  readonly #database: Database;
  readonly #attest: AttestService;
  readonly #issuer: string;
  readonly #environments: ReadonlySet<string>;
  readonly #allowedPredicates: string[];

  constructor(opts: {
    database: Database;
    attest: AttestService;
    issuer: string;
    environments: Iterable<string>;
    allowedPredicates: string[];
  }) {
    this.#database = opts.database;
    this.#attest = opts.attest;
    this.#issuer = opts.issuer;
    this.#environments = new Set(opts.environments);
    this.#allowedPredicates = opts.allowedPredicates;
  }

  get environments(): string[] {
    return [...this.#environments];
  }

  environmentUri(name: string): string {
    return `${this.#issuer}/environments/${name}`;
  }

  checkEnvironment(name: string, path = '/environment'): void {
    if (!this.#environments.has(name)) {
      const known = [...this.#environments].join(', ') || 'none configured';
      throw new AppError('VALIDATION_FAILED', `unknown environment "${name}"`, {
        errors: [{ path, message: `must be one of: ${known}` }],
      });
    }
  }

  /** POST /v1/provenance: sign SLSA v1 provenance as the caller. */
  async provenance(body: { statement: unknown } | BuildFacts, caller: Caller) {
    // Hook (workload identity): a CI identity's verified claims fill in and bind the provenance
    // (identity/provenance.ts); other callers give builder, buildType and externalParameters.
    const json =
      'statement' in body ? structuredClone(body.statement) : provenanceFromFacts(completeFacts(body, caller.workload));
    if (caller.workload && json !== null && typeof json === 'object' && !Array.isArray(json))
      bindProvenance(json as Record<string, unknown>, caller.workload);
    const statement = validated(json, [PROVENANCE_V1]);
    return this.#attest.sign(statement, signingIdentityOf(caller));
  }

  /** POST /v1/attestations: test results and other allowed evidence for an environment. */
  async evidence(body: { environment: string; statement: unknown }, caller: Caller) {
    this.checkEnvironment(body.environment);
    const predicateType = (body.statement as { predicateType?: unknown } | null)?.predicateType;
    if (predicateType === PROVENANCE_V1 || predicateType === PROVENANCE_V02) {
      if (!caller.roles.includes('builder')) throw new AppError('FORBIDDEN', 'only a builder may submit provenance');
      throw new AppError('VALIDATION_FAILED', 'submit provenance with POST /v1/provenance', {
        errors: [{ path: '/statement/predicateType', message: 'provenance goes to POST /v1/provenance' }],
      });
    }
    if (predicateType === TEST_RESULT_V01 && !caller.roles.includes('tester')) {
      throw new AppError('FORBIDDEN', 'only a tester may submit test results');
    }
    const statement = validated(body.statement, this.#allowedPredicates);
    if (statement.predicateType === TEST_RESULT_V01) this.#bindEnvironment(statement, body.environment);
    return this.#attest.sign(statement, signingIdentityOf(caller), { environment: body.environment });
  }

  // The environment the tests ran in becomes part of what is signed, so a test result cannot be
  // replayed as evidence for another environment.
  #bindEnvironment(statement: Statement, environment: string): void {
    statement.predicate ??= {};
    const predicate = statement.predicate as { configuration?: Array<{ name?: string; uri?: string }> };
    predicate.configuration ??= [];
    const configuration = predicate.configuration;
    const uri = this.environmentUri(environment);
    const existing = configuration.filter((c) => c.name === 'environment');
    if (existing.some((c) => c.uri !== uri)) {
      throw new AppError('VALIDATION_FAILED', `the statement names another environment than "${environment}"`, {
        errors: [{ path: '/statement/predicate/configuration', message: `the "environment" entry must be ${uri}` }],
      });
    }
    if (existing.length === 0) configuration.push({ name: 'environment', uri });
  }

  async list(q: ListQuery): Promise<{ items: AttestationRecord[]; nextCursor: string | null }> {
    const where: SQL[] = [];
    if (q.digest)
      where.push(
        sql`${attestations.id} in (select ${attestationSubjects.attestationId} from ${attestationSubjects} where ${attestationSubjects.digest} = ${q.digest})`,
      );
    if (q.predicateType) where.push(eq(attestations.predicateType, q.predicateType));
    if (q.environment) where.push(eq(attestations.environment, q.environment));
    if (q.cursor) where.push(lt(attestations.logIndex, decodeCursor(q.cursor)));
    const rows = await this.#database.db
      .select()
      .from(attestations)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(attestations.logIndex))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const subjects = await this.#subjectsOf(page.map((r) => r.id));
    const items = page.map((r) => toRecord(r, subjects.get(r.id) ?? []));
    return { items, nextCursor: rows.length > q.limit ? String(items[items.length - 1]!.logIndex) : null };
  }

  async #subjectsOf(ids: string[]): Promise<Map<string, AttestationRecord['subjects']>> {
    const out = new Map<string, AttestationRecord['subjects']>();
    if (ids.length === 0) return out;
    const rows = await this.#database.db
      .select()
      .from(attestationSubjects)
      .where(sql`${attestationSubjects.attestationId} in ${ids}`);
    for (const r of rows) {
      const list = out.get(r.attestationId) ?? [];
      list.push({ digest: r.digest, name: r.name });
      out.set(r.attestationId, list);
    }
    return out;
  }

  /** GET /v1/artifacts/{digest}: the digest, its names, its attestations newest first. */
  async artifact(
    digest: string,
  ): Promise<{ digest: string; names: string[]; attestations: AttestationRecord[] } | undefined> {
    const items: AttestationRecord[] = [];
    let cursor: string | undefined;
    // An artifact page lists every attestation; a digest carries tens, not thousands.
    for (let i = 0; i < 20; i++) {
      const page = await this.list({ digest, cursor, limit: 500 });
      items.push(...page.items);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    if (items.length === 0) return undefined;
    const names = new Set<string>();
    for (const a of items) for (const s of a.subjects) if (s.digest === digest && s.name) names.add(s.name);
    return { digest, names: [...names].sort(), attestations: items };
  }
}
