// Rebuild detection (DESIGN.md section 8): two provenances describe the same build input when
// they share a subject name and the source, and a rebuild when that subject's digests differ.
// The source is what the build was made from:
//   - v1: each resolvedDependency whose digest has a `gitCommit` (all of them if several);
//   - v0.2: `invocation.configSource` (uri + digest: gitCommit, else sha1, else another
//     matchable algorithm such as the spec example's sha256 of a tarball).
// Two sources are the same when they name the same repository (git URIs compare without their
// ref and `.git` suffix: the commit is the input, not the branch that pointed at it) and the
// same commit (`sha1` and `gitCommit` of one commit are the same value).
import { isMatchableAlgorithm, normalizeDigest } from '../intoto/digest.ts';
import { subjectDigests } from '../intoto/statement.ts';
import { packageIdentity } from './identity.ts';
import { asArray, asObject, asString, isObject } from './json.ts';
import { provenanceFormat, type StatementInput } from './normalize.ts';

export interface BuildSource {
  /** The uri as the provenance records it, e.g. `git+https://github.com/o/r@refs/heads/main`. */
  uri: string;
  /** `alg:hex`, e.g. `gitCommit:7fd1a60b01f91b314f59955a4e4d4e80d8edf11d`. */
  digest: string;
}

export interface BuildInput {
  /** A subject name of the statement. */
  name: string;
  source: BuildSource;
}

export interface BuildSide {
  statement: StatementInput;
  /**
   * The artifact digests in question (`alg:hex`, normalised here). Only subjects carrying one
   * of them take part; omitted or empty means every subject.
   */
  digests?: readonly string[];
}

export interface RebuildMatch {
  /** The subject name both provenances share. */
  sharedName: string;
  /** The shared source, as the newer provenance records it. */
  source: BuildSource;
  /** That subject's digests in each provenance (`alg:hex`); they differ. */
  olderDigests: string[];
  newerDigests: string[];
}

const GIT_ALGORITHMS = new Set(['gitCommit', 'sha1']);

function splitDigest(digest: string): { alg: string; hex: string } {
  const colon = digest.indexOf(':');
  return colon < 0
    ? { alg: '', hex: digest.toLowerCase() }
    : { alg: digest.slice(0, colon), hex: digest.slice(colon + 1).toLowerCase() };
}

/** The repository a source names: its uri without ref (`git+https://github.com/o/r`). */
export function sourceRepository(source: BuildSource): string {
  const { alg, hex } = splitDigest(source.digest);
  // A commit digest marks the uri as a git repository even when written `https://...`.
  const digest = GIT_ALGORITHMS.has(alg) ? { gitCommit: hex } : {};
  return packageIdentity({ uri: source.uri, digest }).name;
}

function sameSourceDigest(a: string, b: string): boolean {
  const da = splitDigest(a);
  const db = splitDigest(b);
  if (da.hex !== db.hex) return false;
  if (da.alg === db.alg) return true;
  const pair = new Set([da.alg, db.alg]);
  // A commit id is a SHA-1 (or, in SHA-256 repositories, SHA-256) object id.
  if (!pair.has('gitCommit')) return false;
  return (pair.has('sha1') && da.hex.length === 40) || (pair.has('sha256') && da.hex.length === 64);
}

/** Whether two sources are the same repository at the same commit. */
export function sameSource(a: BuildSource, b: BuildSource): boolean {
  return sameSourceDigest(a.digest, b.digest) && sourceRepository(a) === sourceRepository(b);
}

/** A stable lookup key for a source: `<repository>@<hex>` (the algorithm name is dropped). */
export function sourceKey(source: BuildSource): string {
  return `${sourceRepository(source)}@${splitDigest(source.digest).hex}`;
}

function lowerHex(value: unknown): string | undefined {
  const s = asString(value);
  return s && /^[0-9a-fA-F]+$/.test(s) ? s.toLowerCase() : undefined;
}

/** The sources of a provenance statement (empty for any other predicate type). */
export function buildSources(statement: StatementInput): BuildSource[] {
  const format = provenanceFormat(statement);
  const predicate = asObject(statement.predicate) ?? {};
  const out: BuildSource[] = [];
  if (format === 'v1') {
    const deps = asArray(asObject(predicate.buildDefinition)?.resolvedDependencies);
    for (const d of deps) {
      if (!isObject(d)) continue;
      const uri = asString(d.uri);
      const commit = lowerHex(asObject(d.digest)?.gitCommit);
      if (uri && commit) out.push({ uri, digest: `gitCommit:${commit}` });
    }
  } else if (format === 'v0.2') {
    const cs = asObject(asObject(predicate.invocation)?.configSource);
    const uri = asString(cs?.uri);
    const digest = asObject(cs?.digest) ?? {};
    if (uri) {
      const alg =
        ['gitCommit', 'sha1'].find((a) => lowerHex(digest[a])) ??
        Object.keys(digest)
          .filter((a) => isMatchableAlgorithm(a) && lowerHex(digest[a]))
          .sort()[0];
      if (alg) out.push({ uri, digest: `${alg}:${lowerHex(digest[alg])!}` });
    }
  }
  return out.filter((s, i) => out.findIndex((t) => sameSource(s, t)) === i);
}

interface NamedSubject {
  name: string;
  digests: string[];
}

function namedSubjects(statement: StatementInput): NamedSubject[] {
  const out: NamedSubject[] = [];
  for (const s of asArray(statement.subject)) {
    if (!isObject(s)) continue;
    const name = asString(s.name);
    const digest = asObject(s.digest);
    if (!name || !digest) continue;
    const digests = subjectDigests({ subject: [{ name, digest: digest as Record<string, string> }] }).map(
      (d) => d.digest,
    );
    const existing = out.find((o) => o.name === name);
    if (existing) existing.digests.push(...digests.filter((d) => !existing.digests.includes(d)));
    else out.push({ name, digests });
  }
  return out;
}

/**
 * The (subject name, source) keys of a provenance statement: one per named subject and source.
 * Empty when the statement records no source or is no SLSA provenance v1/v0.2.
 */
export function buildInputs(statement: StatementInput): BuildInput[] {
  const sources = buildSources(statement);
  return namedSubjects(statement).flatMap((s) => sources.map((source) => ({ name: s.name, source })));
}

function candidates(side: BuildSide): NamedSubject[] {
  const subjects = namedSubjects(side.statement);
  if (!side.digests || side.digests.length === 0) return subjects;
  const wanted = new Set(side.digests.map(normalizeDigest));
  return subjects.filter((s) => s.digests.some((d) => wanted.has(d)));
}

/**
 * Different artifacts: no digest in common, and at least one algorithm in common (so that
 * the difference is known, not just two algorithms that cannot be compared).
 */
function digestsDiffer(a: readonly string[], b: readonly string[]): boolean {
  if (a.some((d) => b.includes(d))) return false;
  const algs = new Set(a.map((d) => splitDigest(d).alg));
  return b.some((d) => algs.has(splitDigest(d).alg));
}

/**
 * Every repository both provenances record must be at the same commit in both, and they must
 * share at least one source. The shared source, as `newer` records it, or undefined.
 */
function sharedSource(older: readonly BuildSource[], newer: readonly BuildSource[]): BuildSource | undefined {
  let shared: BuildSource | undefined;
  for (const [mine, theirs] of [
    [older, newer],
    [newer, older],
  ] as const) {
    for (const s of mine) {
      const repo = sourceRepository(s);
      const sameRepo = theirs.filter((t) => sourceRepository(t) === repo);
      if (sameRepo.length === 0) continue;
      const match = sameRepo.find((t) => sameSourceDigest(s.digest, t.digest));
      if (!match) return undefined;
      if (mine === newer) shared ??= s;
    }
  }
  return shared;
}

/**
 * Whether `newer` is a rebuild of `older`: they share a subject name and the source, and that
 * subject's digests differ. Same digest (the same artifact), different sources, or no source
 * recorded: false. Throws a RangeError for a malformed entry in `digests`.
 */
export function isRebuild(older: BuildSide, newer: BuildSide): false | RebuildMatch {
  const source = sharedSource(buildSources(older.statement), buildSources(newer.statement));
  if (!source) return false;
  const newerSubjects = candidates(newer);
  for (const o of candidates(older)) {
    for (const n of newerSubjects) {
      if (n.name !== o.name || !digestsDiffer(o.digests, n.digests)) continue;
      return { sharedName: o.name, source, olderDigests: [...o.digests], newerDigests: [...n.digests] };
    }
  }
  return false;
}
