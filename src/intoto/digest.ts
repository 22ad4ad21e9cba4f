// DigestSet (../shared/specs/in-toto-attestation/v1/digest_set.md): algorithm -> lowercase hex.
// Known algorithms are checked for encoding and length; unknown ones are kept (the spec allows
// them, e.g. an ARN for a VM image) but never matched on; neither is md5.
import { z } from 'zod';
import { quote } from './issues.ts';

/** Allowed hex lengths (characters), or an even-length range for extendable-output functions. */
type HexLength = { readonly lengths: readonly number[] } | { readonly min: number; readonly max: number };
/** `matchable`: whether waybill matches artifacts on this algorithm (stores it, looks it up). */
type AlgorithmRule = HexLength & { readonly matchable: boolean };

const fixed = (...lengths: number[]): AlgorithmRule => ({ lengths, matchable: true });

/** Every algorithm digest_set.md names (plus v0.1's goModuleH1), with its encoding rule. */
export const DIGEST_ALGORITHMS: Readonly<Record<string, AlgorithmRule>> = Object.freeze({
  sha256: fixed(64),
  sha224: fixed(56),
  sha384: fixed(96),
  sha512: fixed(128),
  sha512_224: fixed(56),
  sha512_256: fixed(64),
  sha3_224: fixed(56),
  sha3_256: fixed(64),
  sha3_384: fixed(96),
  sha3_512: fixed(128),
  sm3: fixed(64),
  // Kept for git: every git object id is SHA-1 unless the repository uses SHA-256.
  sha1: fixed(40),
  gitCommit: fixed(40, 64),
  gitTree: fixed(40, 64),
  gitBlob: fixed(40, 64),
  gitTag: fixed(40, 64),
  // Go's directory Hash1 in hex: the heading says `dirHash`, its example uses `dirHash1`.
  dirHash: fixed(64),
  dirHash1: fixed(64),
  goModuleH1: fixed(64),
  // Valid, but not matched on: variable output lengths, an ambiguous name, or too weak.
  shake128: { min: 2, max: 1024, matchable: false },
  shake256: { min: 2, max: 1024, matchable: false },
  blake2b: { min: 2, max: 128, matchable: false },
  blake2s: { min: 2, max: 64, matchable: false },
  gost: { lengths: [64, 128], matchable: false },
  ripemd160: { lengths: [40], matchable: false },
  md5: { lengths: [32], matchable: false },
});

function ruleOf(alg: string): AlgorithmRule | undefined {
  return Object.hasOwn(DIGEST_ALGORITHMS, alg) ? DIGEST_ALGORITHMS[alg] : undefined;
}

function describeLength(rule: HexLength): string {
  return 'lengths' in rule
    ? `${rule.lengths.join(' or ')} lowercase hex characters`
    : `an even number (${rule.min}-${rule.max}) of lowercase hex characters`;
}

/** Why `value` is not a valid `alg` digest, or undefined if it is (unknown algorithms: any non-empty value). */
export function digestValueProblem(alg: string, value: string): string | undefined {
  const rule = ruleOf(alg);
  if (!rule) return value.length === 0 ? 'a digest value must not be empty' : undefined;
  const hex = /^[0-9a-f]+$/.test(value);
  const lengthOk =
    'lengths' in rule
      ? rule.lengths.includes(value.length)
      : value.length % 2 === 0 && value.length >= rule.min && value.length <= rule.max;
  return hex && lengthOk ? undefined : `${alg} must be ${describeLength(rule)}`;
}

/** Hex-digest algorithms we match on; unknown ones are kept but never used for matching, nor is md5. */
export function isMatchableAlgorithm(alg: string): boolean {
  return ruleOf(alg)?.matchable === true;
}

export const DigestSet = z
  .record(z.string().min(1, 'an algorithm name must not be empty').max(64), z.string().max(1024))
  .superRefine((set, ctx) => {
    if (Object.keys(set).length === 0)
      ctx.addIssue({ code: 'custom', message: 'a digest set needs at least one digest' });
    for (const [alg, value] of Object.entries(set)) {
      const problem = digestValueProblem(alg, value);
      if (problem) ctx.addIssue({ code: 'custom', path: [alg], message: problem });
    }
  });
export type DigestSet = z.infer<typeof DigestSet>;

const MATCHABLE_BY_LOWERCASE = new Map(
  Object.keys(DIGEST_ALGORITHMS)
    .filter(isMatchableAlgorithm)
    .map((alg) => [alg.toLowerCase(), alg] as const),
);

/** A stored `alg:hex` digest as the in-toto DigestSet `{ alg: hex }` (the one place that splits it). */
export function digestSetOf(digest: string): Record<string, string> {
  const colon = digest.indexOf(':');
  if (colon <= 0) throw new RangeError(`a digest must have the form <algorithm>:<hex>; got ${quote(digest)}`);
  return { [digest.slice(0, colon)]: digest.slice(colon + 1) };
}

/**
 * Parse an `alg:hex` digest (a URL parameter such as `sha256:ABC...`) into the stored form:
 * the algorithm's canonical name, lowercase hex of the right length. Only matchable
 * algorithms are accepted. Throws a RangeError saying what is wrong.
 */
export function normalizeDigest(input: string): string {
  if (typeof input !== 'string') throw new RangeError('a digest must be a string of the form <algorithm>:<hex>');
  const colon = input.indexOf(':');
  if (colon <= 0)
    throw new RangeError(
      `a digest must have the form <algorithm>:<hex>, e.g. sha256:<64 hex characters>; got ${quote(input)}`,
    );
  const given = input.slice(0, colon);
  const alg = MATCHABLE_BY_LOWERCASE.get(given.toLowerCase());
  if (!alg) {
    const known = ruleOf(given) ?? ruleOf(given.toLowerCase());
    const expected = [...MATCHABLE_BY_LOWERCASE.values()].join(', ');
    throw new RangeError(
      known
        ? `digest algorithm ${quote(given)} is not accepted for matching`
        : `unknown digest algorithm ${quote(given)}; expected one of ${expected}`,
    );
  }
  const hex = input.slice(colon + 1).toLowerCase();
  const problem = digestValueProblem(alg, hex);
  if (problem)
    throw new RangeError(
      `${problem}, got ${hex.length} characters${/^[0-9a-f]*$/.test(hex) ? '' : ' including non-hex ones'}`,
    );
  return `${alg}:${hex}`;
}
