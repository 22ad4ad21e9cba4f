// Deployments, and the reconciliation read that joins each one to its verdict and to the
// rebuild exception that verdict rested on (one query for the whole drift report).
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { deployments, rebuildExceptions, verdicts } from './schema.ts';

export type DeploymentRow = typeof deployments.$inferSelect;

/** A deployment with its verdict (null if missing) and the exception the verdict cites, if any. */
export interface ReconciledDeployment {
  deployment: DeploymentRow;
  verdict: typeof verdicts.$inferSelect | null;
  /** The exception the verdict cites; `expiresAt` is null when it has none or does not exist. */
  exception: { id: string; expiresAt: Date | null } | null;
}

export class DeploymentRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  async insert(row: typeof deployments.$inferInsert): Promise<DeploymentRow> {
    const [stored] = await this.#database.db.insert(deployments).values(row).returning();
    return stored!;
  }

  async get(id: string): Promise<DeploymentRow | undefined> {
    const [row] = await this.#database.db.select().from(deployments).where(eq(deployments.id, id));
    return row;
  }

  /** Every deployment, oldest first. */
  async all(): Promise<DeploymentRow[]> {
    return this.#database.db.select().from(deployments).orderBy(asc(deployments.createdAt), asc(deployments.id));
  }

  /** The deployments of a digest to an environment. */
  async of(digest: string, environment: string): Promise<DeploymentRow[]> {
    return this.#database.db
      .select()
      .from(deployments)
      .where(and(eq(deployments.digest, digest), eq(deployments.environment, environment)));
  }

  /** A digest's deployments, oldest first. */
  /** (At most the latest `limit`, when given.) */
  async ofDigest(digest: string, limit?: number): Promise<DeploymentRow[]> {
    return this.#database.db
      .select()
      .from(deployments)
      .where(eq(deployments.digest, digest))
      .orderBy(desc(deployments.createdAt), desc(deployments.id))
      .limit(limit ?? Number.MAX_SAFE_INTEGER)
      .then((rows) => rows.reverse());
  }

  /** An environment's latest deployments, newest first. */
  async latest(environment: string, limit: number): Promise<DeploymentRow[]> {
    return this.#database.db
      .select()
      .from(deployments)
      .where(eq(deployments.environment, environment))
      .orderBy(desc(deployments.createdAt), desc(deployments.id))
      .limit(limit);
  }

  /** Every deployment to `environments`, oldest first, each with its verdict and cited exception. */
  async reconcile(environments: readonly string[]): Promise<ReconciledDeployment[]> {
    const exceptionId = sql<string | null>`${verdicts.result} -> 'exception' ->> 'id'`;
    const rows = await this.#database.db
      .select({
        deployment: deployments,
        verdict: verdicts,
        exceptionId,
        exceptionExpiresAt: rebuildExceptions.expiresAt,
      })
      .from(deployments)
      .leftJoin(verdicts, eq(verdicts.id, deployments.verdictId))
      .leftJoin(rebuildExceptions, eq(rebuildExceptions.id, exceptionId))
      .where(inArray(deployments.environment, [...environments]))
      .orderBy(asc(deployments.createdAt), asc(deployments.id));
    return rows.map((r) => ({
      deployment: r.deployment,
      verdict: r.verdict,
      exception: r.exceptionId ? { id: r.exceptionId, expiresAt: r.exceptionExpiresAt } : null,
    }));
  }

  /** Which of `digests` were ever deployed to `environment`. */
  async deployedAmong(digests: readonly string[], environment: string): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const rows = await this.#database.db
      .selectDistinct({ digest: deployments.digest })
      .from(deployments)
      .where(and(inArray(deployments.digest, [...digests]), eq(deployments.environment, environment)));
    return new Set(rows.map((r) => r.digest));
  }
}
