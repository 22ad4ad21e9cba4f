import { describe, expect, it } from 'vitest';
import { DIGEST_ALGORITHMS } from '../../src/intoto/digest.ts';
import { DigestSet, isMatchableAlgorithm, normalizeDigest, subjectDigests } from '../../src/intoto/statement.ts';
import { hex } from './helpers.ts';

const issuesOf = (set: unknown) => {
  const r = DigestSet.safeParse(set);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('/'), message: i.message }));
};

describe('DigestSet (digest_set.md)', () => {
  it.each([
    ['sha256', 64],
    ['sha224', 56],
    ['sha384', 96],
    ['sha512', 128],
    ['sha512_224', 56],
    ['sha512_256', 64],
    ['sha3_224', 56],
    ['sha3_256', 64],
    ['sha3_384', 96],
    ['sha3_512', 128],
    ['sm3', 64],
    ['sha1', 40],
    ['md5', 32],
    ['ripemd160', 40],
    ['gitCommit', 40],
    ['gitCommit', 64],
    ['gitTree', 40],
    ['gitTree', 64],
    ['gitBlob', 40],
    ['gitBlob', 64],
    ['gitTag', 40],
    ['gitTag', 64],
    ['dirHash', 64],
    ['dirHash1', 64],
    ['goModuleH1', 64],
    ['gost', 64],
    ['gost', 128],
  ])('accepts %s with %i lowercase hex characters, and no other length', (alg, n) => {
    expect(issuesOf({ [alg]: hex(n, 'f') })).toEqual([]);
    expect(issuesOf({ [alg]: hex(n - 1, 'f') })).toEqual([
      { path: alg, message: expect.stringContaining(`${alg} must be`) },
    ]);
    expect(issuesOf({ [alg]: hex(n + 2, 'f') })).toHaveLength(1);
    expect(issuesOf({ [alg]: hex(n, 'F') })).toEqual([
      { path: alg, message: expect.stringContaining('lowercase hex') },
    ]);
    expect(issuesOf({ [alg]: `${hex(n - 1, 'f')}g` })).toHaveLength(1);
  });

  it('accepts even-length hex for extendable-output and variable-length algorithms', () => {
    expect(issuesOf({ shake128: hex(64), shake256: hex(128), blake2b: hex(128), blake2s: hex(64) })).toEqual([]);
    expect(issuesOf({ blake2b: hex(64) })).toEqual([]);
    expect(issuesOf({ shake256: hex(63) }).map((i) => i.path)).toEqual(['shake256']);
    expect(issuesOf({ blake2b: hex(130) }).map((i) => i.path)).toEqual(['blake2b']);
    expect(issuesOf({ blake2s: hex(66) }).map((i) => i.path)).toEqual(['blake2s']);
  });

  it('keeps unknown algorithms, whatever their encoding (digest_set.md: arn, somecoolhash)', () => {
    const set = { arn: 'arn:aws:ec2:region:123:image/ami-123abcd', somecoolhash: 'abcd', SHA256: 'ABC' };
    expect(DigestSet.parse(set)).toEqual(set);
  });

  it('rejects an empty set, empty values, and non-string values', () => {
    expect(issuesOf({})).toEqual([{ path: '', message: 'a digest set needs at least one digest' }]);
    expect(issuesOf({ custom: '' }).map((i) => i.path)).toEqual(['custom']);
    expect(issuesOf({ sha256: 42 }).map((i) => i.path)).toEqual(['sha256']);
    expect(issuesOf([hex(64)])).toHaveLength(1);
    expect(issuesOf(`sha256:${hex(64)}`)).toHaveLength(1);
  });

  it('reports every bad entry, each at its algorithm', () => {
    expect(
      issuesOf({ sha256: 'abc', sha512: hex(64), sha1: hex(40), md5: 'zz' })
        .map((i) => i.path)
        .sort(),
    ).toEqual(['md5', 'sha256', 'sha512']);
  });

  it('digest_set.md example values: the dirHash1 and gitBlob examples pass; "abcd"/"1234" placeholders do not', () => {
    expect(issuesOf({ dirHash1: '2a1bb6127fb481c60f67692e22285fb306f3c6ffe62075e0ccf674d7c3adcb8f' })).toEqual([]);
    expect(issuesOf({ gitBlob: '5ab2f8a4323abafb10abb68657d9d39f1a775057' })).toEqual([]);
    expect(
      issuesOf({ sha256: 'abcd', sha512: '1234' })
        .map((i) => i.path)
        .sort(),
    ).toEqual(['sha256', 'sha512']);
  });
});

describe('isMatchableAlgorithm', () => {
  it('matches on the standard fixed-length hashes and git/dirhash ids', () => {
    for (const alg of [
      'sha256',
      'sha224',
      'sha384',
      'sha512',
      'sha512_224',
      'sha512_256',
      'sha3_224',
      'sha3_256',
      'sha3_384',
      'sha3_512',
      'sha1',
      'sm3',
      'gitCommit',
      'gitTree',
      'gitBlob',
      'gitTag',
      'dirHash',
      'dirHash1',
      'goModuleH1',
    ]) {
      expect(isMatchableAlgorithm(alg), alg).toBe(true);
    }
  });
  it('never matches on md5, unknown algorithms, variable-length or ambiguous ones', () => {
    for (const alg of [
      'md5',
      'arn',
      'somecoolhash',
      'SHA256',
      'shake128',
      'shake256',
      'blake2b',
      'blake2s',
      'gost',
      'ripemd160',
      '__proto__',
      'toString',
      'constructor',
    ]) {
      expect(isMatchableAlgorithm(alg), alg).toBe(false);
    }
  });
  it('every algorithm in the table is either matchable or deliberately not', () => {
    expect(
      Object.keys(DIGEST_ALGORITHMS)
        .filter((a) => !isMatchableAlgorithm(a))
        .sort(),
    ).toEqual(['blake2b', 'blake2s', 'gost', 'md5', 'ripemd160', 'shake128', 'shake256']);
  });
});

describe('normalizeDigest', () => {
  it('lowercases the hex and canonicalises the algorithm name', () => {
    expect(normalizeDigest(`sha256:${hex(64, 'A')}`)).toBe(`sha256:${hex(64, 'a')}`);
    expect(normalizeDigest(`SHA256:${hex(64, 'a')}`)).toBe(`sha256:${hex(64, 'a')}`);
    expect(normalizeDigest(`sha512:${hex(128, 'E')}`)).toBe(`sha512:${hex(128, 'e')}`);
    expect(normalizeDigest(`gitcommit:${hex(40, 'D')}`)).toBe(`gitCommit:${hex(40, 'd')}`);
    expect(normalizeDigest(`gitCommit:${hex(64)}`)).toBe(`gitCommit:${hex(64)}`);
    expect(normalizeDigest(`sha1:${hex(40)}`)).toBe(`sha1:${hex(40)}`);
  });

  it.each([
    ['', /form <algorithm>:<hex>/],
    [hex(64), /form <algorithm>:<hex>/],
    [`:${hex(64)}`, /form <algorithm>:<hex>/],
    ['sha256:', /sha256 must be 64 lowercase hex characters, got 0/],
    [`sha256:${hex(63)}`, /sha256 must be 64 lowercase hex characters, got 63/],
    [`sha256:${hex(65)}`, /got 65/],
    [`sha256:${hex(63)}g`, /non-hex/],
    [`sha256: ${hex(64)}`, /non-hex/],
    [`sha256:${hex(64)}:x`, /non-hex/],
    [`sha1:${hex(64)}`, /sha1 must be 40/],
    [`gitCommit:${hex(50)}`, /gitCommit must be 40 or 64/],
    [`md5:${hex(32)}`, /"md5" is not accepted for matching/],
    [`shake256:${hex(64)}`, /not accepted for matching/],
    [`foo:${hex(64)}`, /unknown digest algorithm "foo"; expected one of sha256/],
    [`__proto__:${hex(64)}`, /unknown digest algorithm/],
  ])('rejects %j with a RangeError', (input, message) => {
    expect(() => normalizeDigest(input)).toThrow(RangeError);
    expect(() => normalizeDigest(input)).toThrow(message);
  });

  it('does not echo a long input back in full', () => {
    let err: unknown;
    try {
      normalizeDigest('x'.repeat(10_000));
    } catch (e) {
      err = e;
    }
    expect((err as Error).message.length).toBeLessThan(200);
  });
});

describe('subjectDigests', () => {
  it('lists matchable subject digests as alg:hex with the subject name, deduplicated', () => {
    const statement = {
      subject: [
        { name: 'app', digest: { sha256: hex(64), md5: hex(32), arn: 'arn:aws:x', sha512: hex(128) } },
        { digest: { gitCommit: hex(40, 'c') } },
        { name: 'again', digest: { sha256: hex(64) } },
      ],
    };
    expect(subjectDigests(statement)).toEqual([
      { digest: `sha256:${hex(64)}`, name: 'again' },
      { digest: `sha512:${hex(128)}`, name: 'app' },
      { digest: `gitCommit:${hex(40, 'c')}`, name: null },
    ]);
  });
  it('skips values that are not valid for their algorithm', () => {
    expect(subjectDigests({ subject: [{ name: 'x', digest: { sha256: 'abcd' } }] })).toEqual([]);
  });
});
