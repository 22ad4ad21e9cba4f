// A Worker has no files: what it reads from policies/ must be imported into its bundle.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the Workers bundle', () => {
  it('carries every policy file of policies/', () => {
    const source = readFileSync(new URL('../../src/runtime/worker-material.ts', import.meta.url), 'utf8');
    const imported = [...source.matchAll(/from '\.\.\/\.\.\/policies\/([^']+)'/g)].map((m) => m[1]).sort();
    const bundled = [...source.matchAll(/file: 'policies\/([^']+)'/g)].map((m) => m[1]).sort();
    const files = readdirSync(new URL('../../policies/', import.meta.url)).filter((f) => f.endsWith('.yaml'));
    expect(imported).toEqual(files.sort());
    expect(bundled).toEqual(files);
  });
});
