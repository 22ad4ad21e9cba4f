import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leafHash, rootFromLeafHashes } from '../../src/tlog/merkle.ts';
import { TreeBuilder } from '../../src/tlog/tree-builder.ts';

describe('TreeBuilder', () => {
  it('gives the RFC 6962 root at every size from 0 to 300', () => {
    const leaves = Array.from({ length: 300 }, () => leafHash(randomBytes(20)));
    const b = new TreeBuilder();
    expect(Buffer.from(b.root())).toEqual(Buffer.from(rootFromLeafHashes([])));
    leaves.forEach((leaf, i) => {
      b.push(leaf);
      expect(b.size).toBe(i + 1);
      expect(Buffer.from(b.root()), `size ${i + 1}`).toEqual(Buffer.from(rootFromLeafHashes(leaves.slice(0, i + 1))));
    });
  });
});
