// Rebuild exceptions and their approvals.
import { and, asc, desc, eq, lt, or } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { exceptionApprovals, rebuildExceptions } from './schema.ts';

export type ExceptionRow = typeof rebuildExceptions.$inferSelect;
export type ExceptionStatus = ExceptionRow['status'];

export class ExceptionRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async insert(row: typeof rebuildExceptions.$inferInsert): Promise<ExceptionRow> {
    const [stored] = await this.#database.db.insert(rebuildExceptions).values(row).returning();
    return stored!;
  }

  async get(id: string): Promise<ExceptionRow | undefined> {
    const [row] = await this.#database.db.select().from(rebuildExceptions).where(eq(rebuildExceptions.id, id));
    return row;
  }

  async byAttestation(attestationId: string): Promise<ExceptionRow | undefined> {
    const [row] = await this.#database.db
      .select()
      .from(rebuildExceptions)
      .where(eq(rebuildExceptions.attestationId, attestationId));
    return row;
  }

  /** Every exception, oldest first. */
  async all(): Promise<ExceptionRow[]> {
    return this.#database.db.select().from(rebuildExceptions).orderBy(asc(rebuildExceptions.createdAt));
  }

  /** Newest first, at most `limit`. */
  async list(
    status: ExceptionStatus | undefined,
    page: { after?: { createdAt: Date; id: string } | undefined; limit: number },
  ): Promise<ExceptionRow[]> {
    const { createdAt, id } = rebuildExceptions;
    const after =
      page.after &&
      or(lt(createdAt, page.after.createdAt), and(eq(createdAt, page.after.createdAt), lt(id, page.after.id)));
    return this.#database.db
      .select()
      .from(rebuildExceptions)
      .where(and(status ? eq(rebuildExceptions.status, status) : undefined, after))
      .orderBy(desc(createdAt), desc(id))
      .limit(page.limit);
  }

  async between(original: string, rebuild: string): Promise<ExceptionRow[]> {
    return this.#database.db
      .select()
      .from(rebuildExceptions)
      .where(and(eq(rebuildExceptions.original, original), eq(rebuildExceptions.rebuild, rebuild)));
  }

  /** Record an approval; false when this approver already approved. */
  async addApproval(id: string, approver: string, at: Date): Promise<boolean> {
    const inserted = await this.#database.db
      .insert(exceptionApprovals)
      .values({ exceptionId: id, approver, createdAt: at })
      .onConflictDoNothing()
      .returning();
    return inserted.length > 0;
  }

  /** Record the attestation an approver signed for their approval. */
  async setApprovalAttestation(id: string, approver: string, attestationId: string): Promise<void> {
    await this.#database.db
      .update(exceptionApprovals)
      .set({ attestationId })
      .where(and(eq(exceptionApprovals.exceptionId, id), eq(exceptionApprovals.approver, approver)));
  }

  /** The signed approval attestations, in the order approved (approvals signed before they were kept are absent). */
  async approvalAttestations(id: string): Promise<string[]> {
    const rows = await this.#database.db
      .select({ attestationId: exceptionApprovals.attestationId })
      .from(exceptionApprovals)
      .where(eq(exceptionApprovals.exceptionId, id))
      .orderBy(asc(exceptionApprovals.createdAt), asc(exceptionApprovals.approver));
    return rows.flatMap((r) => (r.attestationId ? [r.attestationId] : []));
  }

  /** Approvers in the order they approved. */
  async approvers(id: string): Promise<string[]> {
    const rows = await this.#database.db
      .select({ approver: exceptionApprovals.approver })
      .from(exceptionApprovals)
      .where(eq(exceptionApprovals.exceptionId, id))
      .orderBy(asc(exceptionApprovals.createdAt), asc(exceptionApprovals.approver));
    return rows.map((r) => r.approver);
  }

  /** Mark a pending exception approved with its signed attestation; undefined if it was not pending. */
  async markApproved(id: string, attestationId: string): Promise<ExceptionRow | undefined> {
    const [updated] = await this.#database.db
      .update(rebuildExceptions)
      .set({ status: 'approved', attestationId })
      .where(and(eq(rebuildExceptions.id, id), eq(rebuildExceptions.status, 'pending')))
      .returning();
    return updated;
  }

  /** Mark a pending exception rejected; undefined if it was not pending. */
  async markRejected(id: string): Promise<ExceptionRow | undefined> {
    const [updated] = await this.#database.db
      .update(rebuildExceptions)
      .set({ status: 'rejected' })
      .where(and(eq(rebuildExceptions.id, id), eq(rebuildExceptions.status, 'pending')))
      .returning();
    return updated;
  }
}
