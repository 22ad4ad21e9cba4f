import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { logId } from '../../src/tlog/checkpoint.ts';
import { chainOf, checkHead, type IndexedEntry, signHead } from '../../src/tlog/subject-index.ts';

const ORIGIN = 'waybill.test - 1';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyId = logId(publicKey);
const keys = new Map([[Buffer.from(keyId).toString('hex'), publicKey]]);

const entries: IndexedEntry[] = [
  { attestationId: '1'.repeat(64), logIndex: 3, predicateType: 'https://slsa.dev/provenance/v1', environment: null },
  {
    attestationId: '2'.repeat(64),
    logIndex: 9,
    predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
    environment: 'staging',
  },
];
const head = signHead(
  ORIGIN,
  { digest: DIGEST, entries: 2, lastLogIndex: 9, chain: chainOf(entries) },
  { privateKey, keyId },
);

describe('the signed subject index', () => {
  it('accepts exactly the rows the log signed', () => {
    expect(checkHead(ORIGIN, head, DIGEST, entries, keys)).toBeUndefined();
    expect(checkHead(ORIGIN, undefined, DIGEST, [], keys)).toBeUndefined();
  });

  it.each<[string, IndexedEntry[]]>([
    ['a row deleted', entries.slice(1)],
    ['a row added', [...entries, { ...entries[1]!, attestationId: '3'.repeat(64), logIndex: 12 }]],
    ['a predicate type edited', [entries[0]!, { ...entries[1]!, predicateType: 'https://spdx.dev/Document' }]],
    ['an environment edited', [entries[0]!, { ...entries[1]!, environment: 'dev' }]],
    ['an environment removed', [entries[0]!, { ...entries[1]!, environment: null }]],
    ['a log index edited', [{ ...entries[0]!, logIndex: 4 }, entries[1]!]],
    ['an id swapped', [{ ...entries[0]!, attestationId: '4'.repeat(64) }, entries[1]!]],
  ])('refuses the rows with %s', (_what, rows) => {
    expect(checkHead(ORIGIN, head, DIGEST, rows, keys)).toEqual(expect.any(String));
  });

  it('refuses a head that is not signed by a log key, or is for another digest or log', () => {
    const forged = { ...head, entries: 1, chain: chainOf(entries.slice(1)), lastLogIndex: 9 };
    expect(checkHead(ORIGIN, forged, DIGEST, entries.slice(1), keys)).toMatch(/valid log signature/);
    expect(checkHead(ORIGIN, head, `sha256:${'b'.repeat(64)}`, entries, keys)).toMatch(/not sha256:b/);
    expect(checkHead('elsewhere - 2', head, DIGEST, entries, keys)).toMatch(/valid log signature/);
    expect(checkHead(ORIGIN, head, DIGEST, entries, new Map())).toMatch(/unknown log key/);
    expect(checkHead(ORIGIN, undefined, DIGEST, entries, keys)).toMatch(/no signed index/);
  });
});
