// The storage the log needs, declared by the log so that tlog imports no database code.
// storage/log-repo.ts implements it (checked where deps.ts plugs the two together).
import type { HashedNode, NodeId } from './merkle.ts';
import type { SubjectHead } from './subject-index.ts';

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
  /** The SET signed when the entry was logged (null for entries logged before it was kept). */
  set: Uint8Array | null;
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

/** A subject digest's signed index head as stored. */
export type StoredHead = SubjectHead;

/** A head a batch writes, with the entry count it was built on (the write is guarded by it). */
export interface HeadWrite extends StoredHead {
  prevEntries: number;
}

/** What the batch transaction found once it held the lock. */
export interface BatchStart {
  /** The tree size committed so far (by any process). */
  treeSize: number;
  /** Stored attestations with one of the batch's ids or (signer, statement) pairs. */
  existing: ExistingAttestation[];
  /** The stored index heads of the batch's subject digests. */
  heads: StoredHead[];
}

export interface BatchRows {
  /** The tree size the batch was built on: its first entry's index. */
  oldSize: number;
  records: LoggedRecord[];
  entries: StoredEntry[];
  nodes: HashedNode[];
  checkpoint: StoredCheckpoint;
  /** The subject index heads the batch moves on; written only if each still has `prevEntries`. */
  heads: HeadWrite[];
}

/** The open batch transaction, holding the log's lock. */
export interface LogTransaction {
  /** Complete nodes by id; missing ids are absent from the answer. */
  nodes(ids: readonly NodeId[]): Promise<HashedNode[]>;
  /**
   * Write the batch; false (nothing written) when the tree size is no longer `rows.oldSize` or an
   * index head no longer has the entry count the batch was built on.
   */
  write(rows: BatchRows): Promise<boolean>;
}

/** Work for `LogStore.seal`: sign what an older version of waybill did not keep signed. */
export interface Sealer {
  /** The SET for a stored entry that has none. */
  set(entry: { logIndex: number; body: Uint8Array; integratedTime: number }): Uint8Array;
  /** The signed index head over a digest's rows (in log order), for a digest that has none. */
  head(
    digest: string,
    rows: ReadonlyArray<{ attestationId: string; logIndex: number; predicateType: string; environment: string | null }>,
  ): StoredHead;
}

export interface LogStore {
  /**
   * Under the log's lock, give every stored entry without a SET its SET and every subject digest
   * without an index head its head (data written before waybill kept them). Returns the counts.
   */
  seal(sealer: Sealer): Promise<{ sets: number; heads: number }>;
  /** The database answers over a socket (PostgreSQL), not within this thread (PGlite). */
  readonly overSocket: boolean;
  /**
   * Run `fn` in one transaction holding the log's lock, with the committed tree size and the
   * stored attestations the batch would repeat.
   */
  batch<T>(
    lookup: { ids: readonly string[]; unique: readonly UniqueKey[]; digests: readonly string[] },
    fn: (tx: LogTransaction, start: BatchStart) => Promise<T>,
  ): Promise<T>;
  /**
   * Append a batch built on the head this process committed last, in one round trip:
   * `written`, `moved` (another process appended meanwhile, to the tree or to an index head the
   * batch moves; nothing written) or `conflict` (a row repeats a stored attestation; nothing
   * written).
   */
  appendAt(rows: BatchRows): Promise<'written' | 'moved' | 'conflict'>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  checkpointAt(treeSize: number): Promise<StoredCheckpoint | undefined>;
  nodes(ids: readonly NodeId[]): Promise<HashedNode[]>;
  entry(logIndex: number): Promise<StoredEntry | undefined>;
}
