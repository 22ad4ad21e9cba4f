// Policy file versions: one row per (environment, file digest), with when it was first and last
// loaded. Written at start-up only.
import { asc, sql } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { policyVersions } from './schema.ts';

export type PolicyVersionRow = typeof policyVersions.$inferSelect;

export class PolicyVersionRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  /** Record that these files are loaded now: new versions are added, known ones get `lastSeen = now`. */
  async loaded(
    files: ReadonlyArray<{ environment: string; sha256: string; file: string; content: string }>,
    now: Date,
  ): Promise<void> {
    if (files.length === 0) return;
    await this.#database.db
      .insert(policyVersions)
      .values(files.map((f) => ({ ...f, firstSeen: now, lastSeen: now })))
      .onConflictDoUpdate({
        target: [policyVersions.environment, policyVersions.sha256],
        set: { lastSeen: sql`greatest(${policyVersions.lastSeen}, excluded.last_seen)` },
      });
  }

  /** Every version, by environment, oldest first. */
  async all(): Promise<PolicyVersionRow[]> {
    return this.#database.db
      .select()
      .from(policyVersions)
      .orderBy(asc(policyVersions.environment), asc(policyVersions.firstSeen), asc(policyVersions.sha256));
  }
}
