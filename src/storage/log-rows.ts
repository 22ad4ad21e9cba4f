// The transparency log's rows as the schema has them; tlog/store.ts declares the same shapes from
// the log's side, and deps.ts checks that they fit.
import type { attestations, logCheckpoints, logEntries, logNodes, subjectHeads } from './schema.ts';

export type StoredCheckpoint = Omit<typeof logCheckpoints.$inferSelect, 'createdAt'>;
export type StoredEntry = typeof logEntries.$inferSelect;
export type NodeRow = typeof logNodes.$inferSelect;
export type NodeId = Omit<NodeRow, 'hash'>;
export type AttestationRow = typeof attestations.$inferSelect;
export type UniqueKey = Pick<AttestationRow, 'signerSubject' | 'statementSha256'>;

export type HeadRow = typeof subjectHeads.$inferSelect;

/** What the batch transaction found once it held the lock. */
export interface BatchStart {
  treeSize: number;
  existing: Array<Pick<AttestationRow, 'id' | 'signerSubject' | 'statementSha256'>>;
  heads: HeadRow[];
}

/** One batch: the attestations it logs (with their subjects), entries, new nodes, checkpoint. */
export interface BatchRows {
  oldSize: number;
  records: Array<{
    row: typeof attestations.$inferInsert;
    subjects: Array<{ digest: string; name: string | null }>;
  }>;
  entries: StoredEntry[];
  nodes: NodeRow[];
  checkpoint: StoredCheckpoint;
  /** Subject index heads, each written only if the stored one still counts `prevEntries`. */
  heads: Array<HeadRow & { prevEntries: number }>;
}
