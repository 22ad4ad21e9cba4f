// Rebuilds: the same source built again into a new digest. Detected from provenance (same
// subject name and source, another digest), explained by a provenance diff, and let through only
// under an approved, signed exception whose checklist holds.
import { AppError } from '../errors.ts';
import { signingIdentityOf } from '../identity/caller.ts';
import { assertMayActFor } from '../identity/grants.ts';
import { PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01 } from '../intoto/predicates.ts';
import {
  approvalStatement,
  exceptionStatement,
  REBUILD_REJECTION_V1,
  rejectionStatement,
  waybillUris,
} from '../intoto/waybill.ts';
import type { PolicySet } from '../policy/types.ts';
import {
  buildInputs,
  type ChecklistResult,
  diffProvenance,
  type ProvenanceDiff,
  rebuildChecklist,
  sameSource,
} from '../rebuild/index.ts';
import type { AttestationRecord, AttestationRepo } from '../storage/attestation-repo.ts';
import type { DeploymentRepo } from '../storage/deployment-repo.ts';
import type { ExceptionRepo, ExceptionRow, ExceptionStatus } from '../storage/exception-repo.ts';
import { parseDuration } from '../util/duration.ts';
import { newId } from '../util/ids.ts';
import type { AttestService } from './attest.ts';
import { policyFor } from './policies.ts';
import {
  decodeExceptionCursor,
  type ExceptionView,
  type RejectionView,
  type Relation,
  requestOf,
} from './rebuild-views.ts';
import type { Caller } from './tokens.ts';
import { type Emit, NO_EVENTS } from './webhooks.ts';

export type { ExceptionView, RejectionView, Relation } from './rebuild-views.ts';

const PROVENANCE_TYPES = [PROVENANCE_V1, PROVENANCE_V02];
const DEFAULT_EXCEPTION_TTL = '7d';

export class RebuildService {
  readonly #emit: Emit;
  readonly #attestations: AttestationRepo;
  readonly #exceptions: ExceptionRepo;
  readonly #deployments: DeploymentRepo;
  readonly #attest: AttestService;
  readonly #policies: PolicySet;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: {
    attestations: AttestationRepo;
    exceptions: ExceptionRepo;
    deployments: DeploymentRepo;
    attest: AttestService;
    policies: PolicySet;
    issuer: string;
    now?: () => Date;
    emit?: Emit;
  }) {
    this.#emit = opts.emit ?? NO_EVENTS;
    this.#attestations = opts.attestations;
    this.#exceptions = opts.exceptions;
    this.#deployments = opts.deployments;
    this.#attest = opts.attest;
    this.#policies = opts.policies;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The provenance attestations about a digest, oldest first. */
  async provenanceOf(digest: string): Promise<AttestationRecord[]> {
    return (await this.#attestations.about(digest, { predicateTypes: PROVENANCE_TYPES })).reverse();
  }

  /** Digests built from the same input: older ones this digest rebuilds, newer ones that rebuild it. */
  async relations(digest: string): Promise<{ rebuildOf: Relation[]; rebuilds: Relation[] }> {
    const mine = await this.provenanceOf(digest);
    if (mine.length === 0) return { rebuildOf: [], rebuilds: [] };
    const myFirst = mine[0]!.logIndex;
    const inputs = mine.flatMap((r) => buildInputs(r.statement));
    const names = [...new Set(inputs.map((i) => i.name))];
    if (names.length === 0) return { rebuildOf: [], rebuilds: [] };
    const rows = await this.#attestations.namedOtherwise(names, PROVENANCE_TYPES, digest);
    const seen = new Map<string, Relation & { logIndex: number }>();
    for (const row of rows) {
      if (seen.has(row.digest)) continue;
      const theirs = buildInputs(row.attestation.statement as Record<string, unknown>);
      const shared = inputs.find((i) =>
        theirs.some((t) => t.name === i.name && i.name === row.name && sameSource(t.source, i.source)),
      );
      if (!shared) continue;
      seen.set(row.digest, {
        digest: row.digest,
        name: shared.name,
        source: shared.source,
        provenanceId: row.attestation.id,
        firstSeen: row.attestation.createdAt.toISOString(),
        logIndex: row.attestation.logIndex,
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

  async request(
    input: {
      original: string;
      rebuild: string;
      environment: string;
      reason: string;
      ticket?: string | undefined;
      expiresIn?: string | undefined;
      acceptedBuilderDependencies?: string[] | undefined;
    },
    caller: Caller,
  ): Promise<ExceptionView> {
    const policy = policyFor(this.#policies, input.environment);
    assertMayActFor(caller, input.environment, ['deployer']);
    if (!policy.rebuilds.allowWithException) {
      throw new AppError(
        'CONFLICT',
        `the ${input.environment} policy does not allow rebuilds with an exception ` +
          '(rebuilds.allowWithException is false)',
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
    const id = newId('rx');
    const row = await this.#exceptions.insert({
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
      acceptedBuilderDependencies: [...new Set(input.acceptedBuilderDependencies ?? [])],
    });
    const view = this.#view(row, [], d.diff, await this.#checklist(row, [], d.diff));
    await this.#emit('exception.requested', view);
    return view;
  }

  async approve(id: string, caller: Caller): Promise<ExceptionView> {
    const row = await this.#row(id);
    const now = this.#now();
    if (row.requestedBy === caller.subject)
      throw new AppError('FORBIDDEN', 'the requester of an exception may not approve it');
    if (row.status !== 'pending') throw new AppError('CONFLICT', `exception ${id} is ${row.status}, not pending`);
    this.#assertNamedApprover(row, caller);
    if (row.expiresAt && row.expiresAt.getTime() <= now.getTime())
      throw new AppError('CONFLICT', `exception ${id} expired at ${row.expiresAt.toISOString()}`);
    if (!(await this.#exceptions.addApproval(id, caller.subject, now)))
      throw new AppError('CONFLICT', `${caller.subject} already approved exception ${id}`);
    // Each approval is its own attestation, signed as the approver.
    const approval = approvalStatement({
      issuer: this.#issuer,
      exceptionId: id,
      request: requestOf(row),
      approver: caller.subject,
      approvedAt: now,
    });
    const signedApproval = await this.#attest.sign(approval, signingIdentityOf(caller));
    await this.#exceptions.setApprovalAttestation(id, caller.subject, signedApproval.record.id);
    const approvers = await this.#exceptions.approvers(id);
    const policy = policyFor(this.#policies, row.environment);
    const d = await this.diff(row.original, row.rebuild);
    if (approvers.length < policy.rebuilds.minApprovals)
      return this.#view(row, approvers, d.diff, await this.#checklist(row, approvers, d.diff));

    // Enough approvals: sign the exception, then mark it approved (only one approver wins).
    const checklist = await this.#checklist(row, approvers, d.diff);
    const statement = exceptionStatement({
      issuer: this.#issuer,
      request: requestOf(row),
      approvers,
      approvals: await this.#exceptions.approvalAttestations(id),
      diffSummary: d.diff.summary,
      checklist,
      policy,
      approvedAt: now,
      expiresAt: row.expiresAt,
    });
    const verifier = waybillUris(this.#issuer).verifier;
    const signed = await this.#attest.sign(statement, verifier, { environment: row.environment });
    const updated = await this.#exceptions.markApproved(id, signed.record.id);
    const final = updated ?? (await this.#row(id));
    const view = this.#view(final, approvers, d.diff, checklist);
    if (updated) await this.#emit('exception.decided', { ...view, decision: 'approved' });
    return { ...view, bundle: signed.record.bundle };
  }

  /** Reject a pending exception (a named approver, not the requester): signed as the approver, with a reason. */
  async reject(id: string, reason: string, caller: Caller): Promise<ExceptionView & { rejection: string }> {
    const row = await this.#row(id);
    if (row.requestedBy === caller.subject)
      throw new AppError('FORBIDDEN', 'the requester of an exception may not reject it (let it expire)');
    if (row.status !== 'pending') throw new AppError('CONFLICT', `exception ${id} is ${row.status}, not pending`);
    this.#assertNamedApprover(row, caller);
    const statement = rejectionStatement({
      issuer: this.#issuer,
      exceptionId: id,
      request: requestOf(row),
      rejectedBy: caller.subject,
      reason,
      rejectedAt: this.#now(),
    });
    const signed = await this.#attest.sign(statement, signingIdentityOf(caller));
    const updated = await this.#exceptions.markRejected(id);
    if (!updated) throw new AppError('CONFLICT', `exception ${id} is no longer pending`);
    const view = await this.get(id);
    await this.#emit('exception.decided', {
      ...view,
      decision: 'rejected',
      decisionReason: reason,
      decidedBy: caller.subject,
    });
    return { ...view, rejection: signed.record.id };
  }

  /** Report that an approved exception was revoked (after its attestation's revocation was signed and logged). */
  async revoked(id: string, reason: string, caller: Caller, revocation: string): Promise<void> {
    const view = await this.get(id);
    await this.#emit('exception.decided', {
      ...view,
      decision: 'revoked',
      decisionReason: reason,
      decidedBy: caller.subject,
      revocation,
    });
  }

  /** Who rejected exception `id`, when and why, read from its signed rejection; undefined if none is stored. */
  async rejectionOf(id: string): Promise<RejectionView | undefined> {
    const row = await this.#row(id);
    if (row.status !== 'rejected') return undefined;
    const uri = waybillUris(this.#issuer).exception(id);
    const signed = await this.#attestations.about(row.rebuild, { predicateTypes: [REBUILD_REJECTION_V1] });
    for (const a of signed) {
      const p = (a.statement.predicate ?? {}) as Record<string, unknown>;
      // Signed here, as the approver it names.
      if (a.origin !== 'signed' || p.exception !== uri || p.rejectedBy !== a.signer.subject) continue;
      return {
        id: a.id,
        rejectedBy: a.signer.subject,
        reason: typeof p.reason === 'string' ? p.reason : '',
        rejectedAt: typeof p.rejectedAt === 'string' ? p.rejectedAt : a.createdAt,
        logIndex: a.logIndex,
      };
    }
    return undefined;
  }

  /**
   * Who may revoke an approved exception: an admin, or an approver the environment's policy
   * names (any approver when it names none). Answers the exception's signed attestation id.
   */
  async revocable(id: string, caller: Caller): Promise<string> {
    const row = await this.#row(id);
    if (!row.attestationId) throw new AppError('CONFLICT', `exception ${id} is ${row.status}, not approved`);
    if (caller.roles.includes('admin')) return row.attestationId;
    const named = policyFor(this.#policies, row.environment).rebuilds.approvers;
    const issuer = caller.issuer ?? this.#issuer;
    const approver = caller.roles.includes('approver');
    if (!approver || (named && !named.some((a) => a.issuer === issuer && a.subjectPattern.test(caller.subject)))) {
      throw new AppError(
        'FORBIDDEN',
        `only an admin or a ${row.environment} rebuild approver may revoke exception ${id}`,
      );
    }
    return row.attestationId;
  }

  async #checklist(row: ExceptionRow, approvers: string[], diff: ProvenanceDiff): Promise<ChecklistResult[]> {
    const newer = await this.provenanceOf(row.rebuild);
    // Only a PASSED result of the rebuild itself counts as its own tests.
    const ownTests = (await this.#attestations.about(row.rebuild, { predicateTypes: [TEST_RESULT_V01] })).some(
      (a) => (a.statement.predicate as { result?: unknown } | undefined)?.result === 'PASSED',
    );
    return rebuildChecklist({
      diff,
      newer: newer[newer.length - 1]!.statement,
      exception: {
        reason: row.reason,
        ticket: row.ticket ?? undefined,
        requestedBy: row.requestedBy,
        approvers,
        acceptedBuilderDependencies: row.acceptedBuilderDependencies,
      },
      ownTests,
    });
  }

  /** The id of the exception whose signed attestation is `attestationId` (for display), if stored. */
  async exceptionIdOf(attestationId: string): Promise<string | undefined> {
    return (await this.#exceptions.byAttestation(attestationId))?.id;
  }

  async get(id: string): Promise<ExceptionView> {
    const row = await this.#row(id);
    const approvers = await this.#exceptions.approvers(id);
    const d = await this.diff(row.original, row.rebuild);
    return this.#view(row, approvers, d.diff, await this.#checklist(row, approvers, d.diff));
  }

  /** The exceptions requested for `rebuild` as a rebuild of `original`, with their checklists. */
  async between(original: string, rebuild: string): Promise<ExceptionView[]> {
    const rows = await this.#exceptions.between(original, rebuild);
    return Promise.all(rows.map((r) => this.get(r.id)));
  }

  /** A page of exceptions, newest first; `nextCursor` continues it. */
  async list(
    status: ExceptionStatus | undefined,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<{ items: ExceptionView[]; nextCursor: string | null }> {
    const rows = await this.#exceptions.list(status, {
      after: decodeExceptionCursor(page.cursor),
      limit: page.limit + 1,
    });
    const shown = rows.slice(0, page.limit);
    const last = shown.at(-1);
    return {
      items: await Promise.all(shown.map(async (r) => this.get(r.id))),
      nextCursor: rows.length > page.limit && last ? `${last.createdAt.toISOString()}|${last.id}` : null,
    };
  }

  /** Every rebuild seen, its diff summary, and whether and how it was promoted. */
  async report() {
    const items = [];
    for (const digest of await this.#attestations.digestsWith(PROVENANCE_TYPES, 10_000)) {
      const rel = await this.relations(digest);
      for (const original of rel.rebuildOf) {
        const d = await this.diff(original.digest, digest);
        const exceptions = await this.#exceptions.between(original.digest, digest);
        items.push({
          rebuild: digest,
          original: original.digest,
          name: original.name,
          source: original.source,
          summary: d.diff.summary,
          promotions: (await this.#deployments.ofDigest(digest)).map((p) => ({
            environment: p.environment,
            deploymentId: p.id,
            at: p.createdAt.toISOString(),
          })),
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

  /** The policy's named approvers (`rebuilds.approvers`), when it names them, include the caller. */
  #assertNamedApprover(row: ExceptionRow, caller: Caller): void {
    const named = policyFor(this.#policies, row.environment).rebuilds.approvers;
    const issuer = caller.issuer ?? this.#issuer;
    if (named && !named.some((a) => a.issuer === issuer && a.subjectPattern.test(caller.subject))) {
      throw new AppError(
        'FORBIDDEN',
        `${caller.subject} is not one of the ${row.environment} policy's rebuild approvers ` +
          `(${named.map((a) => a.subject).join(', ')})`,
      );
    }
  }

  async #row(id: string): Promise<ExceptionRow> {
    const row = await this.#exceptions.get(id);
    if (!row) throw new AppError('NOT_FOUND', `no rebuild exception ${id}`);
    return row;
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
      ...requestOf(row),
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
