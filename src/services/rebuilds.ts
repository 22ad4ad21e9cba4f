// Rebuilds: the same source built again into a new digest. Detected from provenance (same
// subject name and source, another digest), explained by a provenance diff, and let through only
// under an approved, signed exception whose checklist holds.
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { AppError } from '../errors.ts';
import { PROVENANCE_V1, PROVENANCE_V02 } from '../intoto/predicates.ts';
import { exceptionStatement, waybillUris } from '../intoto/waybill.ts';
import type { Policy, PolicySet, RebuildRequirement } from '../policy/types.ts';
import {
  buildInputs,
  type ChecklistResult,
  diffProvenance,
  type ProvenanceDiff,
  rebuildChecklist,
  sameSource,
} from '../rebuild/index.ts';
import type { Database } from '../storage/database.ts';
import { attestationSubjects, attestations, exceptionApprovals, rebuildExceptions } from '../storage/schema.ts';
import { parseDuration } from '../util/duration.ts';
import type { AttestationRecord, AttestService } from './attest.ts';
import type { IntakeService } from './intake.ts';
import type { Caller } from './tokens.ts';

const PROVENANCE_TYPES = [PROVENANCE_V1, PROVENANCE_V02];
const DEFAULT_EXCEPTION_TTL = '7d';

export interface Relation {
  digest: string;
  name: string;
  source: { uri: string; digest: string };
  provenanceId: string;
  firstSeen: string;
}

export interface ExceptionView {
  id: string;
  original: string;
  rebuild: string;
  environment: string;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
  approvers: string[];
  minApprovals: number;
  expiresAt: string | null;
  createdAt: string;
  attestationId: string | null;
  summary: string;
  checklist: ChecklistResult[];
  bundle?: unknown;
}

type ExceptionRow = typeof rebuildExceptions.$inferSelect;

export class RebuildService {
  readonly #database: Database;
  readonly #attest: AttestService;
  readonly #intake: IntakeService;
  readonly #policies: PolicySet;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: {
    database: Database;
    attest: AttestService;
    intake: IntakeService;
    policies: PolicySet;
    issuer: string;
    now?: () => Date;
  }) {
    this.#database = opts.database;
    this.#attest = opts.attest;
    this.#intake = opts.intake;
    this.#policies = opts.policies;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The provenance attestations about a digest, oldest first. */
  async provenanceOf(digest: string): Promise<AttestationRecord[]> {
    const all = (await this.#intake.artifact(digest))?.attestations ?? [];
    return all.filter((a) => PROVENANCE_TYPES.includes(a.predicateType)).reverse();
  }

  /** Digests built from the same input: older ones this digest rebuilds, newer ones that rebuild it. */
  async relations(digest: string): Promise<{ rebuildOf: Relation[]; rebuilds: Relation[] }> {
    const mine = await this.provenanceOf(digest);
    if (mine.length === 0) return { rebuildOf: [], rebuilds: [] };
    const myFirst = mine[0]!.logIndex;
    const inputs = mine.flatMap((r) => buildInputs(r.statement));
    const names = [...new Set(inputs.map((i) => i.name))];
    if (names.length === 0) return { rebuildOf: [], rebuilds: [] };
    const rows = await this.#database.db
      .select({ a: attestations, name: attestationSubjects.name, digest: attestationSubjects.digest })
      .from(attestationSubjects)
      .innerJoin(attestations, eq(attestations.id, attestationSubjects.attestationId))
      .where(
        and(
          inArray(attestationSubjects.name, names),
          inArray(attestations.predicateType, PROVENANCE_TYPES),
          sql`${attestationSubjects.digest} <> ${digest}`,
        ),
      )
      .orderBy(asc(attestations.logIndex));
    const seen = new Map<string, Relation & { logIndex: number }>();
    for (const row of rows) {
      if (seen.has(row.digest)) continue;
      const theirs = buildInputs(row.a.statement as Record<string, unknown>);
      const shared = inputs.find((i) =>
        theirs.some((t) => t.name === i.name && i.name === row.name && sameSource(t.source, i.source)),
      );
      if (!shared) continue;
      seen.set(row.digest, {
        digest: row.digest,
        name: shared.name,
        source: shared.source,
        provenanceId: row.a.id,
        firstSeen: row.a.createdAt.toISOString(),
        logIndex: row.a.logIndex,
      });
    }
    const strip = ({ logIndex: _l, ...r }: Relation & { logIndex: number }): Relation => r;
    const related = [...seen.values()];
    return {
      rebuildOf: related.filter((r) => r.logIndex < myFirst).map(strip),
      rebuilds: related.filter((r) => r.logIndex > myFirst).map(strip),
    };
  }

  /** The provenance diff of two digests (the latest provenance of each). */
  async diff(a: string, b: string): Promise<{ a: string; b: string; rebuild: boolean; diff: ProvenanceDiff }> {
    const [pa, pb] = await Promise.all([this.provenanceOf(a), this.provenanceOf(b)]);
    if (pa.length === 0) throw new AppError('NOT_FOUND', `no provenance for ${a}`);
    if (pb.length === 0) throw new AppError('NOT_FOUND', `no provenance for ${b}`);
    const sa = pa[pa.length - 1]!.statement;
    const sb = pb[pb.length - 1]!.statement;
    const ia = buildInputs(sa);
    const rebuild = buildInputs(sb).some((i) => ia.some((j) => j.name === i.name && sameSource(i.source, j.source)));
    return { a, b, rebuild, diff: diffProvenance(sa, sb) };
  }

  #policy(environment: string): Policy {
    const policy = this.#policies.policies.get(environment);
    if (!policy) {
      throw new AppError('VALIDATION_FAILED', `unknown environment "${environment}"`, {
        errors: [{ path: '/environment', message: `must be one of: ${this.#policies.order.join(', ')}` }],
      });
    }
    return policy;
  }

  async request(
    input: {
      original: string;
      rebuild: string;
      environment: string;
      reason: string;
      ticket?: string | undefined;
      expiresIn?: string | undefined;
    },
    caller: Caller,
  ): Promise<ExceptionView> {
    const policy = this.#policy(input.environment);
    if (!policy.rebuilds.allowWithException) {
      throw new AppError(
        'CONFLICT',
        `the ${input.environment} policy does not allow rebuilds with an exception (rebuilds.allowWithException is false)`,
      );
    }
    const d = await this.diff(input.original, input.rebuild);
    if (!d.rebuild) {
      throw new AppError(
        'VERIFICATION_FAILED',
        `${input.rebuild} is not a rebuild of ${input.original}: their provenance names no shared subject and source`,
      );
    }
    const rel = await this.relations(input.rebuild);
    if (!rel.rebuildOf.some((r) => r.digest === input.original)) {
      throw new AppError(
        'VERIFICATION_FAILED',
        `${input.rebuild} is not a rebuild of ${input.original}: the original must be the older build`,
      );
    }
    const now = this.#now();
    const id = `rx_${randomBytes(12).toString('base64url')}`;
    const [row] = await this.#database.db
      .insert(rebuildExceptions)
      .values({
        id,
        original: input.original,
        rebuild: input.rebuild,
        environment: input.environment,
        reason: input.reason,
        ticket: input.ticket ?? null,
        requestedBy: caller.subject,
        status: 'pending',
        expiresAt: new Date(now.getTime() + parseDuration(input.expiresIn ?? DEFAULT_EXCEPTION_TTL)),
        createdAt: now,
      })
      .returning();
    return this.#view(row!, [], d.diff, await this.#checklist(row!, [], d.diff));
  }

  async approve(id: string, caller: Caller): Promise<ExceptionView> {
    const row = await this.#row(id);
    const now = this.#now();
    if (row.requestedBy === caller.subject)
      throw new AppError('FORBIDDEN', 'the requester of an exception may not approve it');
    if (row.status !== 'pending') throw new AppError('CONFLICT', `exception ${id} is ${row.status}, not pending`);
    if (row.expiresAt && row.expiresAt.getTime() <= now.getTime())
      throw new AppError('CONFLICT', `exception ${id} expired at ${row.expiresAt.toISOString()}`);
    const inserted = await this.#database.db
      .insert(exceptionApprovals)
      .values({ exceptionId: id, approver: caller.subject, createdAt: now })
      .onConflictDoNothing()
      .returning();
    if (inserted.length === 0) throw new AppError('CONFLICT', `${caller.subject} already approved exception ${id}`);
    const approvers = await this.#approvers(id);
    const policy = this.#policy(row.environment);
    const d = await this.diff(row.original, row.rebuild);
    if (approvers.length < policy.rebuilds.minApprovals)
      return this.#view(row, approvers, d.diff, await this.#checklist(row, approvers, d.diff));

    // Enough approvals: sign the exception, then mark it approved (only one approver wins).
    const checklist = await this.#checklist(row, approvers, d.diff);
    const statement = exceptionStatement({
      issuer: this.#issuer,
      original: row.original,
      rebuild: row.rebuild,
      environment: row.environment,
      reason: row.reason,
      ticket: row.ticket,
      requestedBy: row.requestedBy,
      approvers,
      diffSummary: d.diff.summary,
      checklist,
      policy,
      approvedAt: now,
      expiresAt: row.expiresAt,
    });
    const verifier = waybillUris(this.#issuer).verifier;
    const signed = await this.#attest.sign(statement, verifier, { environment: row.environment });
    const [updated] = await this.#database.db
      .update(rebuildExceptions)
      .set({ status: 'approved', attestationId: signed.record.id })
      .where(and(eq(rebuildExceptions.id, id), eq(rebuildExceptions.status, 'pending')))
      .returning();
    const final = updated ?? (await this.#row(id));
    return { ...this.#view(final, approvers, d.diff, checklist), bundle: signed.record.bundle };
  }

  async #checklist(row: ExceptionRow, approvers: string[], diff: ProvenanceDiff): Promise<ChecklistResult[]> {
    const newer = await this.provenanceOf(row.rebuild);
    const own = (await this.#intake.artifact(row.rebuild))?.attestations ?? [];
    const ownTests = own.some((a) => a.predicateType === 'https://in-toto.io/attestation/test-result/v0.1');
    return rebuildChecklist({
      diff,
      newer: newer[newer.length - 1]!.statement,
      exception: { reason: row.reason, ticket: row.ticket ?? undefined, requestedBy: row.requestedBy, approvers },
      ownTests,
    });
  }

  /**
   * The approved, unexpired exception letting `rebuild` into `environment`, if its required
   * checklist items hold; undefined otherwise (a rebuild then has only its own history).
   */
  async approvedFor(
    rebuild: string,
    environment: string,
  ): Promise<{ view: ExceptionView; attestationId: string } | undefined> {
    const policy = this.#policies.policies.get(environment);
    if (!policy?.rebuilds.allowWithException) return undefined;
    const now = this.#now();
    const rows = await this.#database.db
      .select()
      .from(rebuildExceptions)
      .where(
        and(
          eq(rebuildExceptions.rebuild, rebuild),
          eq(rebuildExceptions.environment, environment),
          eq(rebuildExceptions.status, 'approved'),
        ),
      )
      .orderBy(desc(rebuildExceptions.createdAt));
    for (const row of rows) {
      if (!row.attestationId || !row.expiresAt || row.expiresAt.getTime() <= now.getTime()) continue;
      const approvers = await this.#approvers(row.id);
      const d = await this.diff(row.original, row.rebuild);
      const checklist = await this.#checklist(row, approvers, d.diff);
      const required = new Set<string>(policy.rebuilds.require as readonly RebuildRequirement[]);
      if (checklist.every((c) => !required.has(c.item) || c.ok)) {
        return { view: this.#view(row, approvers, d.diff, checklist), attestationId: row.attestationId };
      }
    }
    return undefined;
  }

  async get(id: string): Promise<ExceptionView> {
    const row = await this.#row(id);
    const approvers = await this.#approvers(id);
    const d = await this.diff(row.original, row.rebuild);
    return this.#view(row, approvers, d.diff, await this.#checklist(row, approvers, d.diff));
  }

  async list(status?: ExceptionRow['status']): Promise<ExceptionView[]> {
    const rows = await this.#database.db
      .select()
      .from(rebuildExceptions)
      .where(status ? eq(rebuildExceptions.status, status) : undefined)
      .orderBy(desc(rebuildExceptions.createdAt))
      .limit(500);
    return Promise.all(rows.map(async (r) => this.get(r.id)));
  }

  /** Every rebuild seen, its diff summary, and whether and how it was promoted. */
  async report(
    promotedTo: (digest: string) => Promise<Array<{ environment: string; deploymentId: string; at: string }>>,
  ) {
    const rows = await this.#database.db
      .select({ digest: attestationSubjects.digest })
      .from(attestationSubjects)
      .innerJoin(attestations, eq(attestations.id, attestationSubjects.attestationId))
      .where(inArray(attestations.predicateType, PROVENANCE_TYPES))
      .groupBy(attestationSubjects.digest)
      .limit(10_000);
    const items = [];
    for (const { digest } of rows) {
      const rel = await this.relations(digest);
      for (const original of rel.rebuildOf) {
        const d = await this.diff(original.digest, digest);
        const exceptions = await this.#database.db
          .select()
          .from(rebuildExceptions)
          .where(and(eq(rebuildExceptions.original, original.digest), eq(rebuildExceptions.rebuild, digest)));
        items.push({
          rebuild: digest,
          original: original.digest,
          name: original.name,
          source: original.source,
          summary: d.diff.summary,
          promotions: await promotedTo(digest),
          exceptions: exceptions.map((e) => ({
            id: e.id,
            environment: e.environment,
            status: e.status,
            attestationId: e.attestationId,
          })),
        });
      }
    }
    return { items };
  }

  async #row(id: string): Promise<ExceptionRow> {
    const [row] = await this.#database.db.select().from(rebuildExceptions).where(eq(rebuildExceptions.id, id));
    if (!row) throw new AppError('NOT_FOUND', `no rebuild exception ${id}`);
    return row;
  }

  async #approvers(id: string): Promise<string[]> {
    const rows = await this.#database.db
      .select({ approver: exceptionApprovals.approver })
      .from(exceptionApprovals)
      .where(eq(exceptionApprovals.exceptionId, id))
      .orderBy(asc(exceptionApprovals.createdAt), asc(exceptionApprovals.approver));
    return rows.map((r) => r.approver);
  }

  #view(
    row: ExceptionRow,
    approvers: string[],
    diff: ProvenanceDiff,
    checklist: ChecklistResult[] = [],
  ): ExceptionView {
    const now = this.#now();
    const expired = row.status !== 'rejected' && row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime();
    return {
      id: row.id,
      original: row.original,
      rebuild: row.rebuild,
      environment: row.environment,
      reason: row.reason,
      ticket: row.ticket,
      requestedBy: row.requestedBy,
      status: expired ? 'expired' : row.status,
      approvers,
      minApprovals: this.#policies.policies.get(row.environment)?.rebuilds.minApprovals ?? 0,
      expiresAt: row.expiresAt?.toISOString() ?? null,
      createdAt: row.createdAt.toISOString(),
      attestationId: row.attestationId,
      summary: diff.summary,
      checklist,
    };
  }
}
