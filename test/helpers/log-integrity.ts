// Checks the log's invariants directly on storage: indices 0..n-1 once each, every entry a
// stored attestation and vice versa, the tree's nodes hash to the latest checkpoint, and every
// signed checkpoint is consistent with the latest one.
import type { KeyObject } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { LogRepo } from '../../src/storage/log-repo.ts';
import { parseCheckpoint, verifyCheckpoint } from '../../src/tlog/checkpoint.ts';
import {
  consistencyPlan,
  hashRanges,
  leafHash,
  nodeMap,
  nodesFor,
  rootFromLeafHashes,
  verifyConsistency,
} from '../../src/tlog/merkle.ts';

const buf = (v: unknown) => new Uint8Array(v as Uint8Array);

export async function checkLogIntegrity(database: Database, key: { name: string; publicKey: KeyObject }) {
  const entries = await database.execute<{
    log_index: string | number;
    body: Uint8Array;
    leaf_hash: Uint8Array;
    attestation_id: string;
    a_index: string | number | null;
  }>(sql`
    select e.log_index, e.body, e.leaf_hash, e.attestation_id, a.log_index as a_index
    from log_entries e left join attestations a on a.id = e.attestation_id order by e.log_index`);
  const n = entries.length;
  entries.forEach((e, i) => {
    expect(Number(e.log_index)).toBe(i);
    expect(Number(e.a_index)).toBe(i);
    expect(Buffer.from(buf(e.leaf_hash)).equals(Buffer.from(leafHash(buf(e.body))))).toBe(true);
  });
  const [{ n: attestations }] = (await database.execute<{ n: number }>(
    sql`select count(*)::int as n from attestations`,
  )) as [{ n: number }];
  expect(attestations).toBe(n);

  const repo = new LogRepo(database);
  const latest = await repo.latestCheckpoint();
  if (n === 0) return { size: 0, checkpoints: 0 };
  expect(latest!.treeSize).toBe(n);
  const root = rootFromLeafHashes(entries.map((e) => buf(e.leaf_hash)));
  expect(Buffer.from(latest!.rootHash).equals(Buffer.from(root))).toBe(true);
  const parsedLatest = verifyCheckpoint(latest!.note, key);
  expect(parsedLatest.size).toBe(n);

  const checkpoints = await database.execute<{ tree_size: string | number; root_hash: Uint8Array; note: string }>(
    sql`select tree_size, root_hash, note from log_checkpoints order by tree_size`,
  );
  for (const cp of checkpoints) {
    const m = Number(cp.tree_size);
    verifyCheckpoint(cp.note, key);
    expect(parseCheckpoint(cp.note).size).toBe(m);
    if (m === n) continue;
    const plan = consistencyPlan(m, n);
    const proof = hashRanges(plan, nodeMap(await repo.nodes(nodesFor(plan))));
    expect(verifyConsistency(m, n, proof, buf(cp.root_hash), root)).toBe(true);
  }
  return { size: n, checkpoints: checkpoints.length };
}
