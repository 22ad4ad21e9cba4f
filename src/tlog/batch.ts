// One batch of log appends, built in memory: the new tree nodes, the signed checkpoint, each
// entry with its SET and inclusion proof (as Sigstore bundles carry them), and the rows to write.
// Pure apart from signing; the sequencer (log.ts) decides when and on which head to build.
import type { KeyObject } from 'node:crypto';
import { toBase64 as b64 } from '../util/encoding.ts';
import { checkpointBody, signCheckpoint } from './checkpoint.ts';
import { inclusionPromise } from './entry.ts';
import {
  appendNodes,
  frontierIds,
  hashRanges,
  inclusionPlan,
  leafHash,
  type NodeId,
  nodeKey,
  nodesFor,
} from './merkle.ts';
import type {
  BatchRows,
  ExistingAttestation,
  HeadWrite,
  LoggedRecord,
  RecordRow,
  StoredCheckpoint,
  UniqueKey,
} from './store.ts';
import { EMPTY_CHAIN, extendChain, signHead } from './subject-index.ts';

/** A transparency log entry as Sigstore bundles carry it (protobuf-specs JSON form). */
export interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise: { signedEntryTimestamp: string };
  inclusionProof: InclusionProofJson;
  canonicalizedBody: string;
}

export interface InclusionProofJson {
  logIndex: string;
  rootHash: string;
  treeSize: string;
  hashes: string[];
  checkpoint: { envelope: string };
}

export interface AppendItem {
  /** The canonicalized entry body (the leaf data). */
  body: Uint8Array;
  kind: { kind: string; version: string };
  attestationId: string;
  /** The statement's subject digests (normalised `alg:hex`): the index heads this entry moves. */
  subjectDigests: readonly string[];
  /**
   * The attestation's (signer, statement) pair, unique among attestations. With it, an item
   * that repeats a stored attestation (or an earlier item of its batch) is not logged: its
   * append rejects with a `DuplicateAttestationError`.
   */
  unique?: UniqueKey;
  /** The attestation this entry logs (see `loggedRecord`); written in the batch's transaction. */
  record: PendingRecord;
}

/**
 * An attestation as data before it is logged: its row without what the log entry decides (log
 * index, time and, for bundles waybill logs, the bundle's tlog entry). Plain data, so an append
 * can cross to another isolate (the log's Durable Object on Workers) and be logged there the
 * same way as in this process.
 */
export interface PendingRecord {
  row: Omit<RecordRow, 'logIndex' | 'createdAt'>;
  subjects: Array<{ digest: string; name: string | null }>;
  /**
   * `entry`: the bundle (`row.bundle`, JSON without tlog entries) carries this log's entry as its
   * only tlog entry (what waybill signs or logs through its Rekor API); `none`: the bundle is
   * stored as given (an ingested bundle keeps its own log's entries).
   */
  bundleEntry: 'entry' | 'none';
}

/** The row a pending record becomes once logged as `entry`. Deterministic: callers rebuild it from the entry. */
export function loggedRecord(pending: PendingRecord, entry: TlogEntryJson): LoggedRecord {
  const { row, subjects, bundleEntry } = pending;
  return {
    row: {
      ...row,
      bundle: bundleEntry === 'entry' ? withTlogEntry(row.bundle, entry) : row.bundle,
      logIndex: Number(entry.logIndex),
      createdAt: new Date(Number(entry.integratedTime) * 1000),
    },
    subjects,
  };
}

type BundleJson = { verificationMaterial?: Record<string, unknown> };

// The bundle JSON as @sigstore/bundle's bundleToJSON writes it with this entry: tlogEntries after
// the key material and before timestampVerificationData, and protobuf's JSON leaves an empty
// list out (an entry alone in its tree has no proof hashes). test/tlog/batch.test.ts holds it to
// bundleToJSON.
function withTlogEntry(bundle: unknown, entry: TlogEntryJson): unknown {
  const {
    tlogEntries: _replaced,
    timestampVerificationData,
    ...material
  } = (bundle as BundleJson).verificationMaterial ?? {};
  const { hashes, ...proof } = entry.inclusionProof;
  const tlogEntry = hashes.length > 0 ? entry : { ...entry, inclusionProof: proof };
  return {
    ...(bundle as BundleJson),
    verificationMaterial: {
      ...material,
      tlogEntries: [tlogEntry],
      ...(timestampVerificationData !== undefined ? { timestampVerificationData } : {}),
    },
  };
}

/**
 * The appended item repeats an attestation that is stored (committed) by the time this is
 * thrown: same id, or same signer and statement. Nothing was logged for it.
 */
export class DuplicateAttestationError extends Error {
  readonly attestationId: string;
  constructor(attestationId: string) {
    super(`the attestation is already stored as ${attestationId}`);
    this.name = 'DuplicateAttestationError';
    this.attestationId = attestationId;
  }
}

/** Who signs: the log's identity and key. */
export interface LogSigner {
  /** The checkpoint signer name and origin prefix: the issuer URL's host. */
  keyName: string;
  origin: string;
  /** SHA-256 of the log key's SPKI DER. */
  logId: Uint8Array;
  privateKey: KeyObject;
}

/** The log head: enough to append without reading the tree. */
export interface Head {
  size: number;
  frontier: Map<string, Uint8Array>;
}

/** A subject digest's index state: what the next entry about it extends. */
export interface HeadState {
  entries: number;
  lastLogIndex: number;
  chain: Uint8Array;
}

export const NO_HEAD: HeadState = Object.freeze({ entries: 0, lastLogIndex: -1, chain: EMPTY_CHAIN });

export interface BuiltBatch {
  entries: TlogEntryJson[];
  rows: BatchRows;
  head: Head;
  /** The index state of every subject digest the batch moved. */
  heads: Map<string, HeadState>;
}

/** The entry JSON for a logged body at `logIndex`, with a proof against `checkpoint`. */
export function entryJson(
  signer: LogSigner,
  e: {
    body: Uint8Array;
    kind: { kind: string; version: string };
    logIndex: number;
    integratedTime: number;
    /** The SET made when the entry was logged; signed now when absent. */
    set?: Uint8Array | null;
    /** The log id of the key that signed `set` (a retired key after a rotation); default the signer's. */
    setLogId?: Uint8Array | undefined;
  },
  proof: { checkpoint: StoredCheckpoint; hashes: readonly Uint8Array[] },
): TlogEntryJson {
  const set =
    e.set ??
    inclusionPromise(
      { body: e.body, integratedTime: e.integratedTime, logId: signer.logId, logIndex: e.logIndex },
      signer.privateKey,
    );
  const logIndex = String(e.logIndex);
  return {
    logIndex,
    logId: { keyId: b64(e.set ? (e.setLogId ?? signer.logId) : signer.logId) },
    kindVersion: e.kind,
    integratedTime: String(e.integratedTime),
    inclusionPromise: { signedEntryTimestamp: b64(set) },
    inclusionProof: {
      logIndex,
      rootHash: b64(proof.checkpoint.rootHash),
      treeSize: String(proof.checkpoint.treeSize),
      hashes: proof.hashes.map(b64),
      checkpoint: { envelope: proof.checkpoint.note },
    },
    canonicalizedBody: b64(e.body),
  };
}

/** The signed checkpoint note of a tree. */
export function checkpointNote(signer: LogSigner, size: number, rootHash: Uint8Array): string {
  return signCheckpoint(checkpointBody({ origin: signer.origin, size, rootHash }), {
    name: signer.keyName,
    privateKey: signer.privateKey,
  });
}

/**
 * Build a batch on top of the tree of size `oldSize` whose frontier (and any older proof nodes)
 * `known` holds. When a proof needs nodes `known` lacks, returns their ids instead.
 */
export function buildBatch(
  signer: LogSigner,
  items: AppendItem[],
  oldSize: number,
  known: ReadonlyMap<string, Uint8Array>,
  integratedTime: number,
  headOf: (digest: string) => HeadState,
  record: (pending: PendingRecord, entry: TlogEntryJson) => LoggedRecord = loggedRecord,
): BuiltBatch | NodeId[] {
  const leaves = items.map((it) => leafHash(it.body));
  const { nodes, root, size } = appendNodes(oldSize, known, leaves);
  // Proof nodes: the new ones are in memory, older ones are in `known`.
  const all = new Map<string, Uint8Array>(known);
  for (const n of nodes) all.set(nodeKey(n), n.hash);
  const plans = items.map((_, i) => inclusionPlan(oldSize + i, size));
  const missing = nodesFor(plans.flat()).filter((id) => !all.has(nodeKey(id)));
  if (missing.length > 0) return missing;

  const checkpoint = { treeSize: size, rootHash: root, note: checkpointNote(signer, size, root) };
  const entries = items.map((item, i) =>
    entryJson(
      signer,
      { body: item.body, kind: item.kind, logIndex: oldSize + i, integratedTime },
      { checkpoint, hashes: hashRanges(plans[i]!, all) },
    ),
  );
  const records = items.map((item, i) => record(item.record, entries[i]!));
  const { heads, writes } = moveHeads(signer, records, oldSize, headOf);
  const rows: BatchRows = {
    oldSize,
    records,
    entries: items.map((item, i) => ({
      logIndex: oldSize + i,
      body: item.body,
      leafHash: leaves[i]!,
      integratedTime,
      kind: item.kind.kind,
      attestationId: item.attestationId,
      set: Buffer.from(entries[i]!.inclusionPromise.signedEntryTimestamp, 'base64'),
    })),
    nodes,
    checkpoint,
    heads: writes,
  };
  const frontier = new Map<string, Uint8Array>();
  for (const id of frontierIds(size)) frontier.set(nodeKey(id), all.get(nodeKey(id))!);
  return { entries, rows, head: { size, frontier }, heads };
}

/** Extend the index of every subject digest the batch's records name, and sign each new head once. */
function moveHeads(
  signer: LogSigner,
  records: readonly LoggedRecord[],
  oldSize: number,
  headOf: (digest: string) => HeadState,
): { heads: Map<string, HeadState>; writes: HeadWrite[] } {
  const moved = new Map<string, { prev: HeadState; next: HeadState }>();
  records.forEach((record, i) => {
    const logIndex = oldSize + i;
    const entry = {
      attestationId: record.row.id,
      logIndex,
      predicateType: record.row.predicateType,
      environment: record.row.environment,
    };
    for (const digest of new Set(record.subjects.map((s) => s.digest))) {
      const seen = moved.get(digest);
      const prev = seen?.prev ?? headOf(digest);
      const cur = seen?.next ?? prev;
      moved.set(digest, {
        prev,
        next: { entries: cur.entries + 1, lastLogIndex: logIndex, chain: extendChain(cur.chain, entry) },
      });
    }
  });
  const key = { privateKey: signer.privateKey, keyId: signer.logId };
  const heads = new Map<string, HeadState>();
  const writes: HeadWrite[] = [];
  for (const [digest, { prev, next }] of moved) {
    heads.set(digest, next);
    writes.push({ ...signHead(signer.origin, { digest, ...next }, key), prevEntries: prev.entries });
  }
  return { heads, writes };
}

export type Outcome = TlogEntryJson | DuplicateAttestationError;

/**
 * Split a batch into the items to log (their positions) and the duplicates: an item whose id or
 * (signer, statement) is stored already, or was taken by an earlier item of the batch. A
 * duplicate's outcome is settled only after the batch commits, so the attestation it names is
 * stored by then.
 */
export function dedupe(
  all: AppendItem[],
  existing: ExistingAttestation[],
): { items: number[]; outcomes: Array<Outcome | undefined> } {
  const outcomes: Array<Outcome | undefined> = new Array(all.length);
  const byId = new Map<string, string>();
  const byKey = new Map<string, string>();
  const keyOf = (u: UniqueKey) => `${u.signerSubject}\n${u.statementSha256}`;
  for (const e of existing) {
    byId.set(e.id, e.id);
    byKey.set(keyOf(e), e.id);
  }
  const items: number[] = [];
  all.forEach((it, i) => {
    const taken = byId.get(it.attestationId) ?? (it.unique ? byKey.get(keyOf(it.unique)) : undefined);
    if (taken !== undefined) {
      outcomes[i] = new DuplicateAttestationError(taken);
      return;
    }
    byId.set(it.attestationId, it.attestationId);
    if (it.unique) byKey.set(keyOf(it.unique), it.attestationId);
    items.push(i);
  });
  return { items, outcomes };
}
