import { describe, expect, it } from 'vitest';
import type { NodeId, Range } from '../../src/tlog/merkle.ts';
import {
  appendNodes,
  consistencyPlan,
  EMPTY_ROOT,
  frontierIds,
  hashRanges,
  inclusionPlan,
  leafHash,
  nodeHash,
  nodeKey,
  nodesFor,
  rangeNodes,
  rootFromLeafHashes,
  rootPlan,
  verifyConsistency,
  verifyInclusion,
} from '../../src/tlog/merkle.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// Deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function flipped(proof: Uint8Array[], i: number): Uint8Array[] {
  return proof.map((h, j) => {
    if (j !== i) return h;
    const c = h.slice();
    c[j % 32] = (c[j % 32] as number) ^ 0x01;
    return c;
  });
}

// Vectors from transparency-dev/merkle testonly/constants.go and proof/verify_test.go
// (the same 8-leaf tree the certificate-transparency test suites use).
const LEAF_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// [index (0-based), size, proof]
const INCLUSION_VECTORS: Array<[number, number, string[]]> = [
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];
const CONSISTENCY_VECTORS: Array<[number, number, string[]]> = [
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
  [
    6,
    7,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];

// Build a node store holding every complete node of the vector tree, through appendNodes.
function vectorStore(): Map<string, Uint8Array> {
  const store = new Map<string, Uint8Array>();
  const { nodes } = appendNodes(0, store, LEAF_INPUTS.map(leafHash));
  for (const n of nodes) store.set(nodeKey(n), n.hash);
  return store;
}

describe('hashing primitives', () => {
  it('empty root, leaf and node hashes match RFC 6962', () => {
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0]);
    expect(hex(rootFromLeafHashes([]))).toBe(ROOTS[0]);
    expect(hex(leafHash(new Uint8Array()))).toBe(ROOTS[1]);
    const l0 = leafHash(LEAF_INPUTS[0] as Uint8Array);
    const l1 = leafHash(LEAF_INPUTS[1] as Uint8Array);
    expect(hex(nodeHash(l0, l1))).toBe(ROOTS[2]);
  });

  it('reference MTH matches the known roots for sizes 0..8', () => {
    for (let n = 0; n <= 8; n++) {
      expect(hex(rootFromLeafHashes(LEAF_INPUTS.slice(0, n).map(leafHash)))).toBe(ROOTS[n]);
    }
  });

  it('does not hand out the shared EMPTY_ROOT buffer', () => {
    const r = rootFromLeafHashes([]);
    r[0] = 0;
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0]);
  });
});

describe('known proof vectors', () => {
  const store = vectorStore();

  it('inclusion proofs equal the published ones and verify', () => {
    for (const [index, size, want] of INCLUSION_VECTORS) {
      const proof = hashRanges(inclusionPlan(index, size), store);
      expect(proof.map(hex)).toEqual(want);
      const leaf = leafHash(LEAF_INPUTS[index] as Uint8Array);
      expect(verifyInclusion(leaf, index, size, proof, unhex(ROOTS[size] as string))).toBe(true);
    }
  });

  it('consistency proofs equal the published ones and verify', () => {
    for (const [m, n, want] of CONSISTENCY_VECTORS) {
      const proof = hashRanges(consistencyPlan(m, n), store);
      expect(proof.map(hex)).toEqual(want);
      expect(verifyConsistency(m, n, proof, unhex(ROOTS[m] as string), unhex(ROOTS[n] as string))).toBe(true);
    }
  });

  it('roots from the store equal the known roots', () => {
    for (let n = 0; n <= 8; n++) expect(hashRanges(rootPlan(n), store).map(hex)).toEqual([ROOTS[n]]);
  });
});

describe('plans', () => {
  it('rangeNodes decomposes into aligned complete subtrees, largest first', () => {
    expect(rangeNodes(0, 0)).toEqual([]);
    expect(rangeNodes(0, 13)).toEqual([
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    expect(rangeNodes(8, 14)).toEqual([
      { level: 2, index: 2 },
      { level: 1, index: 6 },
    ]);
    expect(frontierIds(7)).toEqual(rangeNodes(0, 7));
    expect(() => rangeNodes(2, 6)).toThrow(RangeError);
    expect(() => rangeNodes(5, 4)).toThrow(RangeError);
  });

  it('plans follow RFC 6962 PATH and SUBPROOF', () => {
    expect(inclusionPlan(0, 1)).toEqual([]);
    expect(inclusionPlan(5, 8)).toEqual([
      [4, 5],
      [6, 8],
      [0, 4],
    ]);
    expect(inclusionPlan(6, 7)).toEqual([
      [4, 6],
      [0, 4],
    ]);
    expect(consistencyPlan(3, 3)).toEqual([]);
    expect(consistencyPlan(4, 8)).toEqual([[4, 8]]);
    expect(consistencyPlan(3, 7)).toEqual([
      [2, 3],
      [3, 4],
      [0, 2],
      [4, 7],
    ]);
  });

  it('nodesFor de-duplicates', () => {
    const ranges: Range[] = [
      [0, 4],
      [0, 4],
      [4, 6],
    ];
    expect(nodesFor(ranges)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
    ]);
  });

  it('hashRanges reports a missing node', () => {
    expect(() => hashRanges([[0, 3]], new Map())).toThrow(/missing tree node level=0 index=2/);
  });

  it('guards inputs', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      expect(() => inclusionPlan(0, bad)).toThrow(RangeError);
      expect(() => rangeNodes(bad, 4)).toThrow(RangeError);
      expect(() => rootPlan(bad)).toThrow(RangeError);
      expect(() => verifyInclusion(EMPTY_ROOT, bad, 4, [], EMPTY_ROOT)).toThrow(RangeError);
      expect(() => verifyConsistency(1, bad, [], EMPTY_ROOT, EMPTY_ROOT)).toThrow(RangeError);
    }
    expect(() => inclusionPlan(4, 4)).toThrow(RangeError);
    expect(() => consistencyPlan(0, 4)).toThrow(RangeError);
    expect(() => consistencyPlan(5, 4)).toThrow(RangeError);
    expect(() => appendNodes(0, new Map(), [new Uint8Array(31)])).toThrow(/31 bytes/);
    expect(() => appendNodes(3, new Map(), [])).toThrow(/missing tree node/);
    // Largest sizes still plan exactly.
    const big = Number.MAX_SAFE_INTEGER;
    expect(inclusionPlan(0, big)).toHaveLength(53);
    expect(inclusionPlan(big - 1, big)).toHaveLength(52);
    expect(rangeNodes(0, big)).toHaveLength(53);
    expect(consistencyPlan(2 ** 52 + 1, big).length).toBeGreaterThan(0);
  });

  it('consistency edge cases', () => {
    const r = unhex(ROOTS[3] as string);
    expect(verifyConsistency(3, 3, [], r, r)).toBe(true);
    expect(verifyConsistency(3, 3, [r], r, r)).toBe(false);
    expect(verifyConsistency(3, 3, [], r, EMPTY_ROOT)).toBe(false);
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toBe(true);
    expect(verifyConsistency(0, 3, [], EMPTY_ROOT, r)).toBe(false);
    expect(verifyConsistency(4, 3, [], r, r)).toBe(false);
    expect(verifyInclusion(r, 3, 3, [], r)).toBe(false);
    expect(verifyInclusion(r, 0, 1, [], r)).toBe(true);
    expect(verifyInclusion(r, 0, 1, [r], r)).toBe(false);
    expect(verifyInclusion(r.subarray(1), 0, 1, [], r.subarray(1))).toBe(false);
  });
});

describe('exhaustive small trees (sizes 1..300)', () => {
  const N = 300;
  const leaves = Array.from({ length: N }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
  const roots = [EMPTY_ROOT];
  for (let n = 1; n <= N; n++) roots.push(rootFromLeafHashes(leaves.slice(0, n)));

  // Complete nodes never change, so one store grown in random batches serves every size.
  const store = new Map<string, Uint8Array>();

  it('appendNodes in random batches emits exactly the new complete nodes and the right roots', () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const local = new Map<string, Uint8Array>();
      let size = 0;
      while (size < N) {
        const count = Math.min(N - size, Math.floor(rand() * 17));
        const before = local.size;
        // Pass only the frontier, to prove nothing else is read.
        const frontier = new Map(frontierIds(size).map((id) => [nodeKey(id), local.get(nodeKey(id)) as Uint8Array]));
        const out = appendNodes(size, frontier, leaves.slice(size, size + count));
        for (const node of out.nodes) {
          expect(local.has(nodeKey(node)), `node ${nodeKey(node)} emitted twice`).toBe(false);
          local.set(nodeKey(node), node.hash);
        }
        size += count;
        expect(out.size).toBe(size);
        expect(hex(out.root), `root at ${size} (seed ${seed})`).toBe(hex(roots[size] as Uint8Array));
        // A tree of n leaves has 2n - popcount(n) complete nodes.
        const popcount = (x: number) => x.toString(2).split('1').length - 1;
        expect(local.size).toBe(2 * size - popcount(size));
        expect(local.size - before).toBe(out.nodes.length);
      }
      if (seed === 1) for (const [k, v] of local) store.set(k, v);
    }
    // Every stored node equals the reference MTH of its range.
    for (const [key, h] of store) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      const span = 2 ** level;
      expect(hex(h)).toBe(hex(rootFromLeafHashes(leaves.slice(index * span, (index + 1) * span))));
    }
  });

  it('appendNodes one leaf at a time gives the root at every size', () => {
    const local = new Map<string, Uint8Array>();
    for (let n = 0; n < N; n++) {
      const out = appendNodes(n, local, [leaves[n] as Uint8Array]);
      for (const node of out.nodes) local.set(nodeKey(node), node.hash);
      expect(hex(out.root)).toBe(hex(roots[n + 1] as Uint8Array));
      expect(hex(hashRanges(rootPlan(n + 1), local)[0] as Uint8Array)).toBe(hex(out.root));
    }
  });

  // One negative probe per case, rotating through the kinds, keeps the file fast; over
  // ~45k cases every kind still runs thousands of times at every proof position. Failures are
  // collected and asserted once, because expect() in a hot loop dominates the run time.
  it('every inclusion proof verifies; a flipped byte, wrong index or wrong size fails', () => {
    const bad: string[] = [];
    let probe = 0;
    for (let size = 1; size <= N; size++) {
      const root = roots[size] as Uint8Array;
      for (let index = 0; index < size; index++) {
        const leaf = leaves[index] as Uint8Array;
        const proof = hashRanges(inclusionPlan(index, size), store);
        if (!verifyInclusion(leaf, index, size, proof, root)) bad.push(`good ${index}/${size}`);
        if (size === 1) continue;
        // Wrong sizes follow transparency-dev's probes (x2, /2): a size off by one can share the
        // proof's shape and still verify, since only the checkpoint binds a root to its size.
        const half = Math.floor(size / 2);
        const probes: Array<[string, () => boolean]> = [
          ['flip', () => verifyInclusion(leaf, index, size, flipped(proof, probe % proof.length), root)],
          ['index+1', () => verifyInclusion(leaf, (index + 1) % size, size, proof, root)],
          ['index^2', () => index + 2 < size && verifyInclusion(leaf, index ^ 2, size, proof, root)],
          ['size*2', () => verifyInclusion(leaf, index, size * 2, proof, root)],
          ['size/2', () => index < half && verifyInclusion(leaf, index, half, proof, root)],
          ['leaf', () => verifyInclusion(root, index, size, proof, root)],
          ['extra', () => verifyInclusion(leaf, index, size, [...proof, root], root)],
          ['short', () => verifyInclusion(leaf, index, size, proof.slice(1), root)],
        ];
        const [name, run] = probes[probe % probes.length] as [string, () => boolean];
        if (run()) bad.push(`${name} ${index}/${size}`);
        probe++;
      }
    }
    expect(bad).toEqual([]);
  });

  it('every consistency proof verifies; a flipped byte, wrong m or wrong n fails', () => {
    const bad: string[] = [];
    let probe = 0;
    for (let n = 1; n <= N; n++) {
      const newRoot = roots[n] as Uint8Array;
      for (let m = 1; m <= n; m++) {
        const oldRoot = roots[m] as Uint8Array;
        const proof = hashRanges(consistencyPlan(m, n), store);
        if (!verifyConsistency(m, n, proof, oldRoot, newRoot)) bad.push(`good ${m}->${n}`);
        if (m === n) continue;
        const probes: Array<[string, () => boolean]> = [
          ['flip', () => verifyConsistency(m, n, flipped(proof, probe % proof.length), oldRoot, newRoot)],
          ['m+1', () => verifyConsistency(m + 1, n, proof, oldRoot, newRoot)],
          ['m-1', () => m > 1 && verifyConsistency(m - 1, n, proof, oldRoot, newRoot)],
          ['n*2', () => verifyConsistency(m, n * 2, proof, oldRoot, newRoot)],
          ['n/2', () => m <= Math.floor(n / 2) && verifyConsistency(m, Math.floor(n / 2), proof, oldRoot, newRoot)],
          ['swap', () => verifyConsistency(m, n, proof, newRoot, oldRoot)],
          ['short', () => verifyConsistency(m, n, proof.slice(0, -1), oldRoot, newRoot)],
          ['extra', () => verifyConsistency(m, n, [...proof, newRoot], oldRoot, newRoot)],
        ];
        const [name, run] = probes[probe % probes.length] as [string, () => boolean];
        if (run()) bad.push(`${name} ${m}->${n}`);
        probe++;
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('large trees (up to 10^6 leaves) without materialising them', () => {
  // Synthetic level-0 hashes (index in big-endian, padded to 32 bytes): the maths does
  // not care what a leaf hash is, and skipping a hash per leaf halves the test's cost.
  const leafAt = (i: number): Uint8Array => {
    const b = new Uint8Array(32);
    for (let k = 31, v = i; v > 0; k--, v = Math.floor(v / 256)) b[k] = v % 256;
    return b;
  };
  // Only nodes at level >= 4 are memoised (lower ones are recomputed, <= 16 leaves each),
  // copied into one slab: a million separately allocated digests make GC the bottleneck.
  const slab = new Uint8Array(32 * 200_000);
  let used = 0;
  const memo = new Map<string, Uint8Array>();
  const node = (level: number, index: number): Uint8Array => {
    if (level === 0) return leafAt(index);
    const key = `${level}/${index}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const h = nodeHash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1));
    if (level < 4) return h;
    const kept = slab.subarray(used, used + 32);
    kept.set(h);
    used += 32;
    memo.set(key, kept);
    return kept;
  };
  // A Map-like view that computes nodes on demand, so hashRanges reads "storage" lazily.
  const lazyStore = {
    get: (key: string) => {
      const [level, index] = key.split('/').map(Number) as [number, number];
      return node(level, index);
    },
  } as unknown as ReadonlyMap<string, Uint8Array>;
  const proofFor = (ranges: Range[]) => {
    const ids: NodeId[] = nodesFor(ranges);
    expect(ids.length).toBeLessThanOrEqual(2 * 21);
    return hashRanges(ranges, lazyStore);
  };

  it('random inclusion and consistency proofs verify', () => {
    const rand = rng(42);
    const sizes = [1_000_000, 2 ** 19, 2 ** 19 + 1, 999_999];
    for (let k = 0; k < 6; k++) sizes.push(1 + Math.floor(rand() * 1_000_000));
    for (const size of sizes) {
      const root = hashRanges(rootPlan(size), lazyStore)[0] as Uint8Array;
      for (let k = 0; k < 20; k++) {
        const index = k === 0 ? size - 1 : Math.floor(rand() * size);
        const proof = proofFor(inclusionPlan(index, size));
        expect(verifyInclusion(leafAt(index), index, size, proof, root), `incl ${index}/${size}`).toBe(true);
        expect(verifyInclusion(leafAt(index), index, size, flipped(proof, k % Math.max(proof.length, 1)), root)).toBe(
          proof.length === 0,
        );
        if (size > 1) expect(verifyInclusion(leafAt(index), (index + 1) % size, size, proof, root)).toBe(false);

        const m = k === 0 ? size : 1 + Math.floor(rand() * size);
        const oldRoot = hashRanges(rootPlan(m), lazyStore)[0] as Uint8Array;
        const cproof = proofFor(consistencyPlan(m, size));
        expect(verifyConsistency(m, size, cproof, oldRoot, root), `cons ${m}->${size}`).toBe(true);
        if (m < size) {
          expect(verifyConsistency(m, size, flipped(cproof, k % cproof.length), oldRoot, root)).toBe(false);
          expect(verifyConsistency(m, size * 2, cproof, oldRoot, root)).toBe(false);
        }
      }
      // appendNodes from the frontier alone continues the same tree.
      const frontier = new Map(frontierIds(size).map((id) => [nodeKey(id), node(id.level, id.index)]));
      const out = appendNodes(size, frontier, [leafAt(size), leafAt(size + 1)]);
      expect(hex(out.root)).toBe(hex(hashRanges(rootPlan(size + 2), lazyStore)[0] as Uint8Array));
    }
  });
});
