/**
 * RFC 6962 / RFC 9162 Merkle tree maths over SHA-256. Pure: no I/O, no state.
 *
 * Storage model: the log stores only *complete* subtree hashes, named by
 * `NodeId {level, index}` = the subtree over leaves [index*2^level, (index+1)*2^level).
 * Complete nodes never change once written, so any proof at any tree size is
 * computed from O(log n) stored nodes: a "plan" lists the leaf ranges whose
 * MTH (Merkle Tree Hash) a proof needs, `nodesFor` turns ranges into node ids
 * to load, and `hashRanges` folds the loaded nodes back into range hashes.
 *
 * Sizes and indices are JS numbers (exact up to 2^53 - 1), so this file uses
 * arithmetic instead of 32-bit bitwise operators throughout.
 */
import { hash } from 'node:crypto';

/** A complete subtree: leaves [index * 2^level, (index + 1) * 2^level). Level 0 = leaf hashes. */
export type NodeId = { level: number; index: number };
/** A half-open leaf range [begin, end). */
export type Range = [begin: number, end: number];
/** A complete node with its hash, as produced by `appendNodes`. */
export type HashedNode = NodeId & { hash: Uint8Array };

/** Every hash in this tree is a SHA-256 digest. */
export const HASH_SIZE = 32;

// Scratch input for nodeHash: `hash` is synchronous, so one shared buffer is safe and
// saves an allocation per node (roughly half the cost of hashing 65 bytes).
const NODE_INPUT = new Uint8Array(1 + 2 * HASH_SIZE);
NODE_INPUT[0] = 0x01;

// Return digests as plain Uint8Array views (no copy; the digest Buffer is never pooled).
function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** RFC 6962 MTH({}) = SHA-256 of the empty string. Treat as read-only; functions return copies. */
export const EMPTY_ROOT: Uint8Array = view(hash('sha256', new Uint8Array(0), 'buffer'));

/** RFC 6962 leaf hash: SHA-256(0x00 || data). The 0x00 prefix separates leaves from nodes (second-preimage defence). */
export function leafHash(data: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + data.length);
  input.set(data, 1);
  return view(hash('sha256', input, 'buffer'));
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). Inputs must be 32-byte hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  // A wrong-sized child would silently hash a mix with stale scratch bytes: refuse instead.
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new RangeError(`nodeHash needs two ${HASH_SIZE}-byte hashes, got ${left.length} and ${right.length}`);
  }
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 1 + HASH_SIZE);
  return view(hash('sha256', NODE_INPUT, 'buffer'));
}

/** Map key for a node id (used by `hashRanges` / `appendNodes` lookups). */
export function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

/** Nodes as the map `hashRanges` / `appendNodes` look them up in. */
export function nodeMap(nodes: Iterable<HashedNode>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const n of nodes) out.set(nodeKey(n), n.hash);
  return out;
}

// ---------------------------------------------------------------------------
// Integer helpers (safe for values up to 2^53 - 1).

// Reject anything that is not a non-negative safe integer: sizes beyond 2^53 would silently lose precision.
function assertCount(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${String(v)}`);
  }
}

// Largest power of two <= n (n >= 1); corrected by loops because Math.log2 rounds near 2^53.
function pow2AtMost(n: number): number {
  let p = 2 ** Math.floor(Math.log2(n));
  while (p > n) p /= 2;
  while (p * 2 <= n) p *= 2;
  return p;
}

// RFC 6962 split point: the largest power of two strictly less than n (n >= 2).
function splitPoint(n: number): number {
  return pow2AtMost(n - 1);
}

// Exponent of an exact power of two (Math.log2 is exact on powers of two, checked anyway).
function log2Exact(p: number): number {
  const l = Math.round(Math.log2(p));
  if (2 ** l !== p) throw new Error(`internal: ${p} is not a power of two`);
  return l;
}

function isPow2(n: number): boolean {
  return n >= 1 && pow2AtMost(n) === n;
}

// Proof verification only ever needs equality on public data, so no constant-time compare.
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Reference MTH.

/** RFC 6962 MTH over a list of leaf hashes, by the recursive definition. For tests and small trees: O(n). */
export function rootFromLeafHashes(leaves: Uint8Array[]): Uint8Array {
  const mth = (begin: number, end: number): Uint8Array => {
    const n = end - begin;
    if (n === 0) return EMPTY_ROOT.slice();
    if (n === 1) return (leaves[begin] as Uint8Array).slice();
    const k = splitPoint(n);
    return nodeHash(mth(begin, begin + k), mth(begin + k, end));
  };
  return mth(0, leaves.length);
}

// ---------------------------------------------------------------------------
// Ranges -> complete nodes.

/**
 * Decompose [begin, end) into maximal complete aligned subtrees, largest first.
 * The pieces are the binary digits of (end - begin), so the range must start on a
 * multiple of its largest piece (true for every subtree RFC 6962 recursion produces).
 * Empty range -> [].
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  assertCount('begin', begin);
  assertCount('end', end);
  if (end < begin) throw new RangeError(`range [${begin}, ${end}) has end < begin`);
  let remaining = end - begin;
  if (remaining === 0) return [];
  const top = pow2AtMost(remaining);
  // Misaligned ranges would need nodes that straddle subtree boundaries: not a right-edge RFC 6962 subtree.
  if (begin % top !== 0) {
    throw new RangeError(`range [${begin}, ${end}) is not aligned: begin must be a multiple of ${top}`);
  }
  const out: NodeId[] = [];
  let pos = begin;
  for (let p = top, level = log2Exact(top); remaining > 0; p /= 2, level--) {
    if (remaining >= p) {
      out.push({ level, index: pos / p });
      pos += p;
      remaining -= p;
    }
  }
  return out;
}

/** Ranges whose MTH form the tree head: just [[0, size]] (size 0 -> the empty root). */
export function rootPlan(size: number): Range[] {
  assertCount('size', size);
  return [[0, size]];
}

/** The complete nodes of a tree of `size` leaves that every future append builds on (largest first). */
export function frontierIds(size: number): NodeId[] {
  return rangeNodes(0, size);
}

/**
 * RFC 6962 PATH(index, D[0:size]): the ranges whose MTH make the audit path,
 * leaf-to-root (the order proofs are sent and verified in).
 */
export function inclusionPlan(index: number, size: number): Range[] {
  assertCount('index', index);
  assertCount('size', size);
  if (index >= size) throw new RangeError(`index ${index} is not in a tree of size ${size}`);
  const rootFirst: Range[] = [];
  let begin = 0;
  let end = size;
  // Walk down from the root; at each split the sibling subtree joins the path.
  while (end - begin > 1) {
    const split = begin + splitPoint(end - begin);
    if (index < split) {
      rootFirst.push([split, end]);
      end = split;
    } else {
      rootFirst.push([begin, split]);
      begin = split;
    }
  }
  return rootFirst.reverse();
}

/**
 * RFC 6962 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true): the ranges whose MTH
 * form the consistency proof, in RFC order. Requires 0 < m <= n; m == n -> [].
 */
export function consistencyPlan(m: number, n: number): Range[] {
  assertCount('m', m);
  assertCount('n', n);
  if (m === 0 || m > n) throw new RangeError(`consistency needs 0 < m <= n, got m=${m}, n=${n}`);
  const rootFirst: Range[] = [];
  let begin = 0;
  let end = n;
  // `whole` is SUBPROOF's b flag: true while the old tree is a prefix-aligned subtree the verifier already knows.
  let whole = true;
  for (;;) {
    if (m === end) {
      // The old tree's last subtree is complete here; send it unless the verifier holds it as the old root.
      if (!whole) rootFirst.push([begin, end]);
      break;
    }
    const split = begin + splitPoint(end - begin);
    if (m <= split) {
      rootFirst.push([split, end]);
      end = split;
    } else {
      rootFirst.push([begin, split]);
      begin = split;
      whole = false;
    }
  }
  return rootFirst.reverse();
}

/** De-duplicated complete-node ids needed to compute the hashes of `ranges`. */
export function nodesFor(ranges: readonly Range[]): NodeId[] {
  const seen = new Set<string>();
  const out: NodeId[] = [];
  for (const [begin, end] of ranges) {
    for (const id of rangeNodes(begin, end)) {
      const key = nodeKey(id);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(id);
      }
    }
  }
  return out;
}

// Fetch a node hash or fail loudly: a missing node means the store is incomplete, never "empty".
function getNode(nodes: ReadonlyMap<string, Uint8Array>, id: NodeId): Uint8Array {
  const h = nodes.get(nodeKey(id));
  if (h === undefined) {
    throw new Error(`missing tree node level=${id.level} index=${id.index} (key ${nodeKey(id)})`);
  }
  return h;
}

/**
 * MTH of each range from its complete nodes. A right-edge range made of descending
 * power-of-two pieces p1..pk has MTH = H(p1, H(p2, ... H(pk-1, pk))).
 */
export function hashRanges(ranges: readonly Range[], nodes: ReadonlyMap<string, Uint8Array>): Uint8Array[] {
  return ranges.map(([begin, end]) => {
    const ids = rangeNodes(begin, end);
    if (ids.length === 0) return EMPTY_ROOT.slice();
    let acc = getNode(nodes, ids[ids.length - 1] as NodeId);
    for (let i = ids.length - 2; i >= 0; i--) acc = nodeHash(getNode(nodes, ids[i] as NodeId), acc);
    return acc;
  });
}

/**
 * Append leaves to a tree of `oldSize` leaves whose frontier (`frontierIds(oldSize)`)
 * hashes are in `frontier` (extra entries are ignored). Returns every node that becomes
 * complete (the new leaves included), children before parents, and the new root.
 * O(count + log n): only the frontier is read, each new node is hashed once.
 */
export function appendNodes(
  oldSize: number,
  frontier: ReadonlyMap<string, Uint8Array>,
  newLeafHashes: readonly Uint8Array[],
): { nodes: HashedNode[]; root: Uint8Array; size: number } {
  assertCount('oldSize', oldSize);
  if (!Number.isSafeInteger(oldSize + newLeafHashes.length)) {
    throw new RangeError(`appending ${newLeafHashes.length} leaves to ${oldSize} exceeds 2^53 - 1`);
  }
  // The frontier is a stack of strictly decreasing levels: the binary digits of the size.
  const stack: HashedNode[] = frontierIds(oldSize).map((id) => ({ ...id, hash: getNode(frontier, id) }));
  const nodes: HashedNode[] = [];
  let size = oldSize;
  for (const leaf of newLeafHashes) {
    if (leaf.length !== HASH_SIZE)
      throw new Error(`leaf hash at index ${size} has ${leaf.length} bytes, want ${HASH_SIZE}`);
    let node: HashedNode = { level: 0, index: size, hash: leaf };
    nodes.push(node);
    // Like a binary counter increment: equal-level neighbours merge into their parent.
    let top = stack[stack.length - 1];
    while (top !== undefined && top.level === node.level) {
      stack.pop();
      node = { level: node.level + 1, index: top.index / 2, hash: nodeHash(top.hash, node.hash) };
      nodes.push(node);
      top = stack[stack.length - 1];
    }
    stack.push(node);
    size++;
  }
  // The root folds the frontier right to left, exactly as hashRanges does for [0, size).
  let root = stack.length === 0 ? EMPTY_ROOT.slice() : (stack[stack.length - 1] as HashedNode).hash;
  for (let i = stack.length - 2; i >= 0; i--) root = nodeHash((stack[i] as HashedNode).hash, root);
  return { nodes, root, size };
}

// ---------------------------------------------------------------------------
// Verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2).
//
// Both verifiers throw RangeError only for numbers that are not non-negative safe
// integers (a caller bug: parse input first). Well-formed numbers that cannot
// describe a valid proof (index >= size, m > n, m == 0 < n) and hashes of the
// wrong length simply make the proof fail (false).

function allHashSized(hashes: readonly Uint8Array[]): boolean {
  return hashes.every((h) => h.length === HASH_SIZE);
}

/** RFC 9162 2.1.3.2: does `proof` show `leafHash` at `index` in the tree of `size` with head `root`? */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  assertCount('index', index);
  assertCount('size', size);
  if (index >= size) return false;
  if (!allHashSized([leafHash, root, ...proof])) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    // A proof longer than the path has nowhere to go.
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // Skip levels where our node is a lone right-edge node (no sibling, no hash in the proof).
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * RFC 9162 2.1.4.2: is the tree (n, newRoot) an append-only extension of (m, oldRoot)?
 * m == n: needs an empty proof and equal roots. m == 0 < n: returns false, because
 * RFC 9162 defines no proof for it (every tree extends the empty one; callers that
 * want that should not ask for a proof).
 */
export function verifyConsistency(
  m: number,
  n: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): boolean {
  assertCount('m', m);
  assertCount('n', n);
  if (m > n) return false;
  if (!allHashSized([oldRoot, newRoot, ...proof])) return false;
  if (m === n) return proof.length === 0 && bytesEqual(oldRoot, newRoot);
  if (m === 0 || proof.length === 0) return false;
  // When the old tree is a complete subtree the proof omits it: the verifier already knows it as oldRoot.
  const path = isPow2(m) ? [oldRoot, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  // Climb past levels where the old tree's last node is a right child (its sibling is inside the old tree).
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, oldRoot) && bytesEqual(sr, newRoot);
}
