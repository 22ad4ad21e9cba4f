// The storage the log needs, declared by the log so that tlog imports no database code.
// storage/log-repo.ts implements it (checked where deps.ts plugs the two together).
import type { HashedNode, NodeId } from './merkle.ts';

export interface StoredCheckpoint {
  treeSize: number;
  rootHash: Uint8Array;
  note: string;
}

export interface StoredEntry {
  logIndex: number;
  body: Uint8Array;
  leafHash: Uint8Array;
  integratedTime: number;
  kind: string;
  attestationId: string;
}

/** The attestation row an entry logs; the log hands it to storage without looking inside. */
export interface RecordRow {
  id: string;
  predicateType: string;
  statement: unknown;
  statementSha256: string;
  bundle: unknown;
  signerSubject: string;
  signerIssuer: string;
  environment: string | null;
  origin: 'signed' | 'ingested';
  logIndex: number;
  createdAt: Date;
}

/** The attestation a log entry records: written in the same transaction as the entry. */
export interface LoggedRecord {
  row: RecordRow;
  subjects: Array<{ digest: string; name: string | null }>;
}

/** The (signer, statement) pair that is unique among attestations. */
export interface UniqueKey {
  signerSubject: string;
  statementSha256: string;
}

/** A stored attestation that a batch item would duplicate. */
export interface ExistingAttestation extends UniqueKey {
  id: string;
}

/** What the batch transaction found once it held the lock. */
export interface BatchStart {
  /** The tree size committed so far (by any process). */
  treeSize: number;
  /** Stored attestations with one of the batch's ids or (signer, statement) pairs. */
  existing: ExistingAttestation[];
}

export interface BatchRows {
  /** The tree size the batch was built on: its first entry's index. */
  oldSize: number;
  records: LoggedRecord[];
  entries: StoredEntry[];
  nodes: HashedNode[];
  checkpoint: StoredCheckpoint;
}

/** The open batch transaction, holding the log's lock. */
export interface LogTransaction {
  /** Complete nodes by id; missing ids are absent from the answer. */
  nodes(ids: readonly NodeId[]): Promise<HashedNode[]>;
  /** Write the batch; false (nothing written) when the tree size is no longer `rows.oldSize`. */
  write(rows: BatchRows): Promise<boolean>;
}

export interface LogStore {
  /** The database answers over a socket (PostgreSQL), not within this thread (PGlite). */
  readonly overSocket: boolean;
  /**
   * Run `fn` in one transaction holding the log's lock, with the committed tree size and the
   * stored attestations the batch would repeat.
   */
  batch<T>(
    lookup: { ids: readonly string[]; unique: readonly UniqueKey[] },
    fn: (tx: LogTransaction, start: BatchStart) => Promise<T>,
  ): Promise<T>;
  /**
   * Append a batch built on the head this process committed last, in one round trip:
   * `written`, `moved` (another process appended meanwhile; nothing written) or `conflict` (a
   * row repeats a stored attestation; nothing written).
   */
  appendAt(rows: BatchRows): Promise<'written' | 'moved' | 'conflict'>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  checkpointAt(treeSize: number): Promise<StoredCheckpoint | undefined>;
  nodes(ids: readonly NodeId[]): Promise<HashedNode[]>;
  entry(logIndex: number): Promise<StoredEntry | undefined>;
}
