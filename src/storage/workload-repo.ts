// Certificates waybill issued to CI workloads through its Fulcio-compatible API: what the
// workload was allowed when its ID token was verified, found again by the certificate's
// fingerprint when it logs an entry signed under it.
import { eq, lt } from 'drizzle-orm';
import type { Database } from './driver.ts';
import { workloadCertificates } from './schema.ts';

export type WorkloadCertificateRow = typeof workloadCertificates.$inferSelect;

export class WorkloadRepo {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  /** Record an issued certificate, forgetting those that expired before `forgetBefore`. */
  async issued(row: typeof workloadCertificates.$inferInsert, forgetBefore: Date): Promise<void> {
    await this.#database.db.delete(workloadCertificates).where(lt(workloadCertificates.expiresAt, forgetBefore));
    await this.#database.db.insert(workloadCertificates).values(row);
  }

  async byFingerprint(fingerprint: string): Promise<WorkloadCertificateRow | undefined> {
    const [row] = await this.#database.db
      .select()
      .from(workloadCertificates)
      .where(eq(workloadCertificates.fingerprint, fingerprint));
    return row;
  }
}
