// Attestation intake: what build systems and test stages submit. Provenance comes as a complete
// Statement or as build facts waybill turns into one; test results and other evidence come as
// Statements for an environment. Everything is validated field by field before anything is
// signed, so a bad request stores nothing and logs nothing.

import { AppError } from '../errors.ts';
import { signingIdentityOf } from '../identity/caller.ts';
import { assertMayActFor, evidenceRoles } from '../identity/grants.ts';
import { bindProvenance, completeFacts } from '../identity/provenance.ts';
import { PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01 } from '../intoto/predicates.ts';
import { ENVIRONMENT_EXTENSION } from '../intoto/signed-environment.ts';
import { STATEMENT_V1, type Statement, validateStatement } from '../intoto/statement.ts';
import { type BuildFacts, provenanceStatement, waybillUris } from '../intoto/waybill.ts';
import type { PolicySet } from '../policy/types.ts';
import type { AttestationRecord, AttestationRepo } from '../storage/attestation-repo.ts';
import type { AttestService } from './attest.ts';
import { policyFor } from './policies.ts';
import { assertBuilderId, type Caller } from './tokens.ts';

function validated(json: unknown, allowedPredicates?: string[]): Statement {
  const result = validateStatement(json, allowedPredicates ? { allowedPredicates } : {});
  if (!result.ok)
    throw new AppError('VALIDATION_FAILED', 'invalid in-toto statement', {
      errors: result.errors.map((e) => ({ ...e, path: `/statement${e.path === '/' ? '' : e.path}` })),
    });
  if (result.version !== 'v1')
    throw new AppError('VALIDATION_FAILED', 'waybill signs in-toto Statement v1 only', {
      errors: [{ path: '/statement/_type', message: `must be ${STATEMENT_V1}` }],
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

// A cursor is the log index of the last item of the previous page.
function decodeCursor(cursor: string): number {
  const n = /^[0-9]{1,16}$/.test(cursor) ? Number(cursor) : NaN;
  if (!Number.isSafeInteger(n))
    throw new AppError('VALIDATION_FAILED', 'invalid cursor', {
      errors: [{ path: '/cursor', message: 'not a cursor from a previous page' }],
    });
  return n;
}

export class IntakeService {
  readonly #attestations: AttestationRepo;
  readonly #attest: AttestService;
  readonly #issuer: string;
  readonly #policies: PolicySet;
  readonly #allowedPredicates: string[];

  constructor(opts: {
    attestations: AttestationRepo;
    attest: AttestService;
    issuer: string;
    policies: PolicySet;
    allowedPredicates: string[];
  }) {
    this.#attestations = opts.attestations;
    this.#attest = opts.attest;
    this.#issuer = opts.issuer;
    this.#policies = opts.policies;
    this.#allowedPredicates = opts.allowedPredicates;
  }

  /** A 400 unless `name` is a configured environment. */
  checkEnvironment(name: string, path = '/environment'): void {
    policyFor(this.#policies, name, path);
  }

  /** POST /v1/provenance: sign SLSA v1 provenance as the caller. */
  async provenance(body: { statement: unknown } | BuildFacts, caller: Caller) {
    // Hook (workload identity): a CI identity's verified claims fill in and bind the provenance
    // (identity/provenance.ts); other callers give builder, buildType and externalParameters.
    const json =
      'statement' in body ? structuredClone(body.statement) : provenanceStatement(completeFacts(body, caller.workload));
    if (caller.workload && json !== null && typeof json === 'object' && !Array.isArray(json))
      bindProvenance(json as Record<string, unknown>, caller.workload);
    const statement = validated(json, [PROVENANCE_V1]);
    assertBuilderId(
      caller,
      (statement.predicate as { runDetails?: { builder?: { id?: unknown } } }).runDetails?.builder?.id,
    );
    return this.#attest.sign(statement, signingIdentityOf(caller));
  }

  /** POST /v1/attestations: test results and other allowed evidence for an environment. */
  async evidence(body: { environment: string; statement: unknown }, caller: Caller) {
    this.checkEnvironment(body.environment);
    assertMayActFor(caller, body.environment, evidenceRoles(body.statement));
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
    else this.#bindExtension(statement, body.environment);
    return this.#attest.sign(statement, signingIdentityOf(caller), { environment: body.environment });
  }

  // Other evidence (scans, SBOMs) has no field of its own for where it was produced: waybill signs
  // the environment into the statement's `waybillEnvironment` extension field instead.
  #bindExtension(statement: Statement, environment: string): void {
    const uri = waybillUris(this.#issuer).environment(environment);
    const given = (statement as Record<string, unknown>)[ENVIRONMENT_EXTENSION];
    if (given !== undefined && given !== uri) {
      throw new AppError('VALIDATION_FAILED', `the statement names another environment than "${environment}"`, {
        errors: [{ path: `/statement/${ENVIRONMENT_EXTENSION}`, message: `must be ${uri}` }],
      });
    }
    (statement as Record<string, unknown>)[ENVIRONMENT_EXTENSION] = uri;
  }

  // The environment the tests ran in becomes part of what is signed, so a test result cannot be
  // replayed as evidence for another environment.
  #bindEnvironment(statement: Statement, environment: string): void {
    statement.predicate ??= {};
    const predicate = statement.predicate as { configuration?: Array<{ name?: string; uri?: string }> };
    predicate.configuration ??= [];
    const configuration = predicate.configuration;
    const uri = waybillUris(this.#issuer).environment(environment);
    const existing = configuration.filter((c) => c.name === 'environment');
    if (existing.some((c) => c.uri !== uri)) {
      throw new AppError('VALIDATION_FAILED', `the statement names another environment than "${environment}"`, {
        errors: [{ path: '/statement/predicate/configuration', message: `the "environment" entry must be ${uri}` }],
      });
    }
    if (existing.length === 0) configuration.push({ name: 'environment', uri });
  }

  async list(q: ListQuery): Promise<{ items: AttestationRecord[]; nextCursor: string | null }> {
    const filter = {
      digest: q.digest,
      predicateTypes: q.predicateType === undefined ? undefined : [q.predicateType],
      environment: q.environment,
    };
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const page = await this.#attestations.page(filter, { before, limit: q.limit });
    return { items: page.items, nextCursor: page.next === null ? null : String(page.next) };
  }

  /** GET /v1/artifacts/{digest}: the digest, its names, its attestations newest first. */
  async artifact(
    digest: string,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<
    { digest: string; names: string[]; attestations: AttestationRecord[]; nextCursor: string | null } | undefined
  > {
    const before = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const [items, names] = await Promise.all([
      this.#attestations.page({ digest }, { before, limit: page.limit }),
      this.#attestations.namesOf(digest),
    ]);
    if (items.items.length === 0 && before === undefined) return undefined;
    return {
      digest,
      names,
      attestations: items.items,
      nextCursor: items.next === null ? null : String(items.next),
    };
  }
}
