// The log's sequencer on Workers: one Durable Object per log (named by the log's origin) runs the
// same TransparencyLog a Node process runs, so concurrent appends from every Worker request are
// batched in one place again. Each batch still takes the transaction-scoped advisory lock and
// writes with the guarded statement (storage/log-repo.ts), so Node instances and this object can
// append to one database together with no gap and no duplicate index.
import { DurableObject } from 'cloudflare:workers';
import { buildServices } from '../deps.ts';
import { openPostgres } from '../storage/postgres.ts';
import { type AppendItem, DuplicateAttestationError } from '../tlog/batch.ts';
import type { TransparencyLog } from '../tlog/log.ts';
import { type AppendResult, isolateOf, type WorkerEnv } from './worker-isolate.ts';

export class LogSequencer extends DurableObject<WorkerEnv> {
  #log: Promise<TransparencyLog> | undefined;

  /** Log one item; a repeat of a stored attestation comes back as `{ duplicate }` (see sequencerOf). */
  async append(item: AppendItem): Promise<AppendResult> {
    const log = await this.#open();
    try {
      return { entry: await log.append(item) };
    } catch (err) {
      if (err instanceof DuplicateAttestationError) return { duplicate: err.attestationId };
      throw err;
    }
  }

  /** What a Node instance does at start-up (TransparencyLog.seal), asked once per Worker isolate. */
  async seal(): Promise<{ sets: number; heads: number }> {
    return (await this.#open()).seal();
  }

  // The object's own database handle: it outlives single requests, which a Worker's cannot.
  #open(): Promise<TransparencyLog> {
    this.#log ??= (async () => {
      const { config, logger, material } = await isolateOf(this.env);
      const database = await openPostgres({ url: this.env.HYPERDRIVE.connectionString, max: 2 });
      return buildServices(config, database, logger, material).log;
    })();
    this.#log.catch(() => {
      this.#log = undefined;
    });
    return this.#log;
  }
}
