import { describe, expect, it } from 'vitest';
import { validateStatement } from '../../src/intoto/statement.ts';
import { buildInputs, buildSources, isRebuild, sameSource, sourceKey } from '../../src/rebuild/index.ts';
import {
  ARTIFACT,
  COMMIT,
  commit,
  DEFAULT_DEPS,
  migratedToV1,
  SOURCE_URI,
  sha256,
  source,
  v1Provenance,
  v02Provenance,
} from './fixtures.ts';

const original = v1Provenance({ subjectDigest: sha256('a'), run: 1 });
const rebuild = v1Provenance({ subjectDigest: sha256('b'), run: 2 });

describe('fixtures', () => {
  it('are valid statements with valid provenance predicates', () => {
    for (const s of [original, rebuild, v02Provenance(), migratedToV1(v02Provenance())]) {
      const r = validateStatement(s);
      expect(r.ok ? [] : r.errors).toEqual([]);
    }
  });
});

describe('buildInputs', () => {
  it('v1: the subject name with the resolved dependency carrying a gitCommit', () => {
    expect(buildInputs(original)).toEqual([
      { name: ARTIFACT, source: { uri: SOURCE_URI, digest: `gitCommit:${COMMIT}` } },
    ]);
  });

  it('v1: every dependency with a gitCommit, for every named subject', () => {
    const s = v1Provenance({
      deps: [...DEFAULT_DEPS, source(commit('c'), 'git+https://github.com/octo-org/shared-config@v3')],
    });
    s.subject.push({ name: `${ARTIFACT}-sbom`, digest: { sha256: sha256('e') } }, { digest: { sha256: sha256('f') } });
    const inputs = buildInputs(s);
    expect(inputs.map((i) => [i.name, i.source.uri])).toEqual([
      [ARTIFACT, SOURCE_URI],
      [ARTIFACT, 'git+https://github.com/octo-org/shared-config@v3'],
      [`${ARTIFACT}-sbom`, SOURCE_URI],
      [`${ARTIFACT}-sbom`, 'git+https://github.com/octo-org/shared-config@v3'],
    ]);
  });

  it('v0.2: invocation.configSource uri and digest (sha1 before others)', () => {
    expect(buildInputs(v02Provenance())).toEqual([
      { name: ARTIFACT, source: { uri: SOURCE_URI, digest: `sha1:${COMMIT}` } },
    ]);
    const tarball = v02Provenance({
      configSource: { uri: 'https://example.com/example-1.2.3.tar.gz', digest: { sha256: sha256('9') } },
    });
    expect(buildSources(tarball)).toEqual([
      { uri: 'https://example.com/example-1.2.3.tar.gz', digest: `sha256:${sha256('9')}` },
    ]);
  });

  it('nothing for a provenance without a source, or another predicate', () => {
    expect(buildInputs(v1Provenance({ deps: [] }))).toEqual([]);
    expect(buildInputs(v02Provenance({ configSource: { entryPoint: 'build.yaml' } }))).toEqual([]);
    expect(buildInputs({ ...original, predicateType: 'https://in-toto.io/attestation/test-result/v0.1' })).toEqual([]);
  });
});

describe('sameSource', () => {
  const a = { uri: SOURCE_URI, digest: `gitCommit:${COMMIT}` };
  it('same repository and commit, whatever the ref, .git suffix or sha1/gitCommit spelling', () => {
    expect(
      sameSource(a, { uri: 'git+https://github.com/octo-org/shop-api.git@refs/tags/v1.0.0', digest: `sha1:${COMMIT}` }),
    ).toBe(true);
    expect(
      sameSource(a, { uri: 'git+https://github.com/octo-org/shop-api', digest: `gitCommit:${COMMIT.toUpperCase()}` }),
    ).toBe(true);
    expect(sourceKey(a)).toBe(`git+https://github.com/octo-org/shop-api@${COMMIT}`);
  });
  it('another commit or another repository is another source', () => {
    expect(sameSource(a, { uri: SOURCE_URI, digest: `gitCommit:${commit('d')}` })).toBe(false);
    expect(
      sameSource(a, { uri: 'git+https://github.com/octo-org/fork@refs/heads/main', digest: `gitCommit:${COMMIT}` }),
    ).toBe(false);
    expect(sameSource(a, { uri: SOURCE_URI, digest: `sha256:${COMMIT}` })).toBe(false);
  });
});

describe('isRebuild', () => {
  it('same subject name and source, different digest: a rebuild', () => {
    expect(isRebuild({ statement: original }, { statement: rebuild })).toEqual({
      sharedName: ARTIFACT,
      source: { uri: SOURCE_URI, digest: `gitCommit:${COMMIT}` },
      olderDigests: [`sha256:${sha256('a')}`],
      newerDigests: [`sha256:${sha256('b')}`],
    });
  });

  it('takes the digests in question, normalised', () => {
    const m = isRebuild(
      { statement: original, digests: [`SHA256:${sha256('a').toUpperCase()}`] },
      { statement: rebuild, digests: [`sha256:${sha256('b')}`] },
    );
    expect(m === false ? undefined : m.sharedName).toBe(ARTIFACT);
    // A digest the statement does not carry: nothing to compare.
    expect(isRebuild({ statement: original, digests: [`sha256:${sha256('c')}`] }, { statement: rebuild })).toBe(false);
    expect(() => isRebuild({ statement: original, digests: ['sha256:xyz'] }, { statement: rebuild })).toThrow(
      RangeError,
    );
  });

  it('same digest: the same artifact, not a rebuild', () => {
    expect(
      isRebuild({ statement: original }, { statement: v1Provenance({ subjectDigest: sha256('a'), run: 2 }) }),
    ).toBe(false);
  });

  it('different source commit: a new build, not a rebuild', () => {
    const other = v1Provenance({ subjectDigest: sha256('b'), deps: [source(commit('d')), ...DEFAULT_DEPS.slice(1)] });
    expect(isRebuild({ statement: original }, { statement: other })).toBe(false);
  });

  it('different subject name: not a rebuild', () => {
    expect(
      isRebuild(
        { statement: original },
        { statement: v1Provenance({ subjectDigest: sha256('b'), subjectName: 'ghcr.io/octo-org/other' }) },
      ),
    ).toBe(false);
  });

  it('no source recorded on one side: not a rebuild', () => {
    expect(
      isRebuild({ statement: original }, { statement: v1Provenance({ subjectDigest: sha256('b'), deps: [] }) }),
    ).toBe(false);
  });

  it('a shared toolchain repository does not make two builds of different commits one input', () => {
    const tool = source(commit('e'), 'git+https://github.com/octo-org/build-tools@v2');
    const a = v1Provenance({ deps: [source(), tool] });
    const b = v1Provenance({ subjectDigest: sha256('b'), deps: [source(commit('d')), tool] });
    expect(isRebuild({ statement: a }, { statement: b })).toBe(false);
    // ...but the same commits of both, with a new digest, are a rebuild.
    const c = v1Provenance({ subjectDigest: sha256('b'), deps: [source(), tool] });
    expect(isRebuild({ statement: a }, { statement: c })).toMatchObject({ sharedName: ARTIFACT });
  });

  it('across formats: a v0.2 configSource (sha1) and a v1 gitCommit of the same commit', () => {
    const old = v02Provenance({ subjectDigest: sha256('a') });
    const m = isRebuild({ statement: old }, { statement: rebuild });
    expect(m).toMatchObject({ sharedName: ARTIFACT, source: { uri: SOURCE_URI, digest: `gitCommit:${COMMIT}` } });
    expect(isRebuild({ statement: rebuild }, { statement: old })).toMatchObject({
      source: { digest: `sha1:${COMMIT}` },
    });
  });

  it('digests in algorithms that cannot be compared are not called different', () => {
    const b = v1Provenance({ run: 2 });
    b.subject[0].digest = { sha512: 'f'.repeat(128) };
    expect(isRebuild({ statement: original }, { statement: b })).toBe(false);
  });
});
