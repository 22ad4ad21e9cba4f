// The root of a log recomputed from its leaves, in one pass: a compact range (the perfect
// subtrees of the tree so far, one per set bit of its size) takes leaf hashes in order, and
// gives the RFC 6962 root at the current size at any time. O(log n) memory, so a whole log can
// be streamed from storage and checked against every signed checkpoint on the way.
import { EMPTY_ROOT, nodeHash } from './merkle.ts';

export class TreeBuilder {
  /** Perfect subtrees, largest (leftmost) first, with their heights. */
  readonly #stack: Array<{ height: number; hash: Uint8Array }> = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(leafHash: Uint8Array): void {
    let node = { height: 0, hash: leafHash };
    // Two subtrees of one height merge into the next: the binary carry of size + 1.
    for (let top = this.#stack.at(-1); top && top.height === node.height; top = this.#stack.at(-1)) {
      this.#stack.pop();
      node = { height: node.height + 1, hash: nodeHash(top.hash, node.hash) };
    }
    this.#stack.push(node);
    this.#size++;
  }

  /** MTH of the leaves pushed so far (RFC 6962: the right-hand subtrees fold in first). */
  root(): Uint8Array {
    if (this.#stack.length === 0) return EMPTY_ROOT.slice();
    let hash = this.#stack.at(-1)!.hash;
    for (let i = this.#stack.length - 2; i >= 0; i--) hash = nodeHash(this.#stack[i]!.hash, hash);
    return hash.slice();
  }
}
