// Where the log's time goes, for the profiler (bench/profile.ts): TransparencyLog.observe()
// reports every batch and every append here, and nothing is measured when no one observes.
import { loggedRecord, type PendingRecord, type TlogEntryJson } from './batch.ts';
import type { LoggedRecord, LogTransaction } from './store.ts';

export interface BatchStats {
  /** Items handed to the batch (duplicates included). */
  items: number;
  /** Attestation rows made from pending records (more than the items logged when a batch was built twice). */
  records: number;
  recordMs: number;
  /** The one-round-trip append on the cached head, when tried: its time and outcome. */
  flight?: { ms: number; outcome: 'written' | 'moved' | 'conflict' };
  /** The long way, when taken: the whole transaction and its parts. */
  locked?: {
    ms: number;
    /** BEGIN, the lock, the tree size and the duplicate lookup. */
    openMs: number;
    nodeReadMs: number;
    writeMs: number;
    /** From the end of the batch's work to the end of the transaction. */
    commitMs: number;
  };
}

export interface LogStats {
  batch(stats: BatchStats): void;
  /** One append, from the call to its entry. */
  append(ms: number): void;
}

/** `loggedRecord`, timed into `stats`. */
export function timedRecord(stats: BatchStats): (pending: PendingRecord, entry: TlogEntryJson) => LoggedRecord {
  return (pending, entry) => {
    const t0 = performance.now();
    try {
      return loggedRecord(pending, entry);
    } finally {
      stats.records++;
      stats.recordMs += performance.now() - t0;
    }
  };
}

/** The transaction with its node reads and write timed into `locked`. */
export function timedTransaction(tx: LogTransaction, locked: NonNullable<BatchStats['locked']>): LogTransaction {
  return {
    async nodes(ids) {
      const t0 = performance.now();
      try {
        return await tx.nodes(ids);
      } finally {
        locked.nodeReadMs += performance.now() - t0;
      }
    },
    async write(rows) {
      const t0 = performance.now();
      try {
        return await tx.write(rows);
      } finally {
        locked.writeMs += performance.now() - t0;
      }
    },
  };
}
