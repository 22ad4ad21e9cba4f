// One log, two kinds of instance: the Worker (its appends batched by the log's Durable Object)
// and a Node waybill on the same PostgreSQL database and keys, signing at the same time. The
// transaction-scoped lock and the guarded write keep one log: no gap, no index twice, every
// checkpoint consistent with the next, every entry provable under the last.
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCheckpoint, verifyCheckpoint } from '../../src/tlog/checkpoint.ts';
import { leafHash, verifyConsistency, verifyInclusion } from '../../src/tlog/merkle.ts';
import { buildFacts, ISSUER, mint, node, worker } from '../helpers/workerd.ts';

const EACH = 24;
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

interface Signed {
  logIndex: number;
  bundle: { verificationMaterial: { tlogEntries: Array<{ inclusionProof: { checkpoint: { envelope: string } } }> } };
}

describe('the Worker and a Node instance appending to one log', () => {
  it('leave no gap and no duplicate, with every checkpoint consistent', async () => {
    const root = (await (await worker('GET', '/v1/trust/root')).json()) as {
      tlogs: Array<{ publicKey: { rawBytes: string } }>;
    };
    const logKey = createPublicKey({
      key: Buffer.from(root.tlogs[0]!.publicKey.rawBytes, 'base64'),
      format: 'der',
      type: 'spki',
    });
    const checkpoint = async (via: typeof worker) =>
      verifyCheckpoint(await (await via('GET', '/v1/log/checkpoint')).text(), {
        name: new URL(ISSUER).host,
        publicKey: logKey,
      });
    const start = (await checkpoint(worker)).size;

    const builder = await mint(['builder'], 'https://ci.example.com/pipelines/shared-log');
    const sign = async (via: typeof worker) => {
      const res = await via('POST', '/v1/provenance', { token: builder, body: buildFacts() });
      expect(res.status).toBe(201);
      return (await res.json()) as Signed;
    };
    const signed = await Promise.all([
      ...Array.from({ length: EACH }, () => sign(worker)),
      ...Array.from({ length: EACH }, () => sign(node)),
    ]);

    // Every acknowledged statement has its own index, and together they fill the range.
    const indices = signed.map((s) => s.logIndex).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 2 * EACH }, (_, i) => start + i));
    const end = await checkpoint(node);
    expect(end.size).toBe(start + 2 * EACH);
    expect((await checkpoint(worker)).rootHash).toEqual(end.rootHash);

    // Each batch's checkpoint (from either instance) is consistent with the next one.
    const notes = new Map<number, Uint8Array>([[end.size, end.rootHash]]);
    for (const s of signed) {
      const cp = parseCheckpoint(s.bundle.verificationMaterial.tlogEntries[0]!.inclusionProof.checkpoint.envelope);
      notes.set(cp.size, cp.rootHash);
    }
    const sizes = [...notes.keys()].sort((a, b) => a - b);
    for (const [i, from] of sizes.slice(0, -1).entries()) {
      const to = sizes[i + 1]!;
      const proof = (await (await worker('GET', `/v1/log/proof/consistency?from=${from}&to=${to}`)).json()) as {
        hashes: string[];
      };
      expect(verifyConsistency(from, to, proof.hashes.map(b64), notes.get(from)!, notes.get(to)!)).toBe(true);
    }

    // Every entry is in the final tree, and records its own attestation.
    for (const index of indices) {
      const entry = (await (await node('GET', `/v1/log/entries/${index}`)).json()) as {
        canonicalizedBody: string;
        inclusionProof: { hashes: string[]; treeSize: string };
      };
      const proof = entry.inclusionProof;
      expect(Number(proof.treeSize)).toBe(end.size);
      expect(
        verifyInclusion(leafHash(b64(entry.canonicalizedBody)), index, end.size, proof.hashes.map(b64), end.rootHash),
      ).toBe(true);
    }
  });
});
