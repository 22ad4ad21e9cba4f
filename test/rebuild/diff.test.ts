import { describe, expect, it } from 'vitest';
import { diffProvenance, type ProvenanceDiff } from '../../src/rebuild/index.ts';
import {
  BUILDER_ID,
  COMMIT,
  commit,
  DEFAULT_DEPS,
  type Descriptor,
  migratedToV1,
  NODE_20_NEW,
  NODE_20_OLD,
  nodeImage,
  npm,
  REPO,
  sha256,
  source,
  v1Provenance,
  v02Provenance,
} from './fixtures.ts';

const RD = '/predicate/buildDefinition/resolvedDependencies';
const original = v1Provenance({ subjectDigest: sha256('a'), run: 1 });
/** The default dependencies with the entry whose uri starts with `prefix` replaced. */
const replacing = (prefix: string, by: Descriptor | null, deps = DEFAULT_DEPS): Descriptor[] =>
  deps.flatMap((d) => (String(d.uri).startsWith(prefix) ? (by ? [by] : []) : [d]));
const rebuildWith = (o: Parameters<typeof v1Provenance>[0] = {}) =>
  v1Provenance({ subjectDigest: sha256('b'), run: 2, ...o });

function expectShortSummary(d: ProvenanceDiff): void {
  expect(d.summary).not.toMatch(/\n/);
  expect(d.summary.length).toBeLessThan(240);
}

describe('diffProvenance: v1 against v1', () => {
  it('only metadata differs: invocation id and times, nothing else', () => {
    const d = diffProvenance(original, rebuildWith());
    expect(d.dependencies).toEqual([]);
    expect(d.baseImages).toEqual([]);
    expect(d.builder).toEqual([]);
    expect(d.parameters).toEqual([]);
    expect(d.metadata).toEqual([
      {
        kind: 'changed',
        name: 'invocationId',
        old: `${REPO}/actions/runs/914601/attempts/1`,
        new: `${REPO}/actions/runs/914602/attempts/1`,
        pathA: '/predicate/runDetails/metadata/invocationId',
        pathB: '/predicate/runDetails/metadata/invocationId',
      },
      expect.objectContaining({ name: 'startedOn', old: '2024-06-01T10:00:00Z', new: '2024-06-02T10:00:00Z' }),
      expect.objectContaining({ name: 'finishedOn', pathA: '/predicate/runDetails/metadata/finishedOn' }),
    ]);
    expect(d.kinds).toEqual(['metadata-only']);
    expect(d.summary).toBe(
      'metadata only (invocationId, startedOn, finishedOn); dependencies, base images, builder and parameters same',
    );
    expect(d.formats).toEqual({ a: 'v1', b: 'v1' });
  });

  it('identical provenance', () => {
    const d = diffProvenance(original, structuredClone(original));
    expect(d.kinds).toEqual(['identical']);
    expect(d.summary).toBe('identical: no differences');
  });

  it('one npm dependency 1.2.3 -> 1.2.4', () => {
    const a = v1Provenance({ deps: [...DEFAULT_DEPS, npm('@octo-org/logger', '1.2.3', 'e')] });
    const b = rebuildWith({ deps: [...DEFAULT_DEPS, npm('@octo-org/logger', '1.2.4', 'f')] });
    const d = diffProvenance(a, b);
    expect(d.dependencies).toEqual([
      {
        kind: 'changed',
        name: 'pkg:npm/@octo-org/logger',
        display: '@octo-org/logger',
        old: { uri: 'pkg:npm/%40octo-org/logger@1.2.3', digest: { sha512: 'e'.repeat(128) } },
        new: { uri: 'pkg:npm/%40octo-org/logger@1.2.4', digest: { sha512: 'f'.repeat(128) } },
        pathA: `${RD}/5`,
        pathB: `${RD}/5`,
        oldVersion: '1.2.3',
        newVersion: '1.2.4',
        fields: ['version', 'digest'],
        oldDigest: { sha512: 'e'.repeat(128) },
        newDigest: { sha512: 'f'.repeat(128) },
      },
    ]);
    expect(d.baseImages).toEqual([]);
    expect(d.kinds).toEqual(['dependency-drift']);
    expect(d.summary).toBe(
      'dependency drift: 1 package changed (@octo-org/logger 1.2.3 -> 1.2.4); builder same; metadata only otherwise',
    );
    expectShortSummary(d);
  });

  it('lodash drift and the base image tag moved: the summary names both', () => {
    const deps = replacing(
      'pkg:docker/',
      nodeImage(NODE_20_NEW),
      replacing('pkg:npm/lodash@', npm('lodash', '4.17.21', 'd')),
    );
    const d = diffProvenance(original, rebuildWith({ deps }));
    expect(d.summary).toBe(
      'dependency drift: 1 package changed (lodash 4.17.20 -> 4.17.21); base image node:20 moved to ' +
        'sha256:222222222222; builder same; metadata only otherwise',
    );
    expect(d.kinds).toEqual(['dependency-drift', 'base-image-moved']);
  });

  it('base image tag node:20 moved to a new digest', () => {
    const d = diffProvenance(original, rebuildWith({ deps: replacing('pkg:docker/', nodeImage(NODE_20_NEW)) }));
    expect(d.dependencies).toEqual([]);
    expect(d.baseImages).toEqual([
      {
        kind: 'changed',
        name: 'docker.io/library/node',
        old: nodeImage(NODE_20_OLD),
        new: nodeImage(NODE_20_NEW),
        pathA: `${RD}/4`,
        pathB: `${RD}/4`,
        oldRef: 'node:20@sha256:111111111111',
        newRef: 'node:20@sha256:222222222222',
        oldTag: '20',
        newTag: '20',
        oldDigest: `sha256:${NODE_20_OLD}`,
        newDigest: `sha256:${NODE_20_NEW}`,
        fields: ['digest'],
      },
    ]);
    expect(d.kinds).toEqual(['base-image-moved']);
    expect(d.summary).toBe('base image node:20 moved to sha256:222222222222; builder same; metadata only otherwise');
  });

  it('base image referenced by tag only (in both): flagged, not a change', () => {
    const deps = replacing('pkg:docker/', nodeImage(null));
    const d = diffProvenance(v1Provenance({ deps }), rebuildWith({ deps }));
    expect(d.baseImages).toEqual([
      expect.objectContaining({
        kind: 'tag-only',
        name: 'docker.io/library/node',
        newRef: 'node:20',
        newDigest: null,
        pathA: `${RD}/4`,
        pathB: `${RD}/4`,
      }),
    ]);
    expect(d.kinds).toEqual(['metadata-only', 'base-image-tag-only']);
    expect(d.summary).toBe(
      'metadata only (invocationId, startedOn, finishedOn); base image node:20 by tag only (no digest); ' +
        'dependencies, base images, builder and parameters same',
    );
  });

  it('base image pinned before, by tag only now: digest dropped', () => {
    const d = diffProvenance(original, rebuildWith({ deps: replacing('pkg:docker/', nodeImage(null)) }));
    expect(d.baseImages.map((c) => [c.kind, c.fields, c.oldDigest, c.newDigest])).toEqual([
      ['changed', ['digest'], `sha256:${NODE_20_OLD}`, null],
      ['tag-only', [], `sha256:${NODE_20_OLD}`, null],
    ]);
    expect(d.kinds).toEqual(['base-image-tag-only']);
    expect(d.summary).toBe('base image node:20 by tag only (digest dropped); builder same; metadata only otherwise');
  });

  it('a digest in the reference itself pins the image; other spellings of the same image match', () => {
    const a = v1Provenance({ deps: replacing('pkg:docker/', { uri: `docker://node:20@sha256:${NODE_20_OLD}` }) });
    const b = rebuildWith({
      deps: replacing('pkg:docker/', { uri: 'pkg:docker/node@20', digest: { sha256: NODE_20_OLD } }),
    });
    const d = diffProvenance(a, b);
    expect(d.baseImages).toEqual([
      expect.objectContaining({
        kind: 'changed',
        fields: ['uri'],
        oldDigest: `sha256:${NODE_20_OLD}`,
        newDigest: `sha256:${NODE_20_OLD}`,
      }),
    ]);
    expect(d.summary).toContain('1 base image reference rewritten (node:20)');
  });

  it('base image retagged node:18 -> node:20, and an added build stage image', () => {
    const a = v1Provenance({
      deps: replacing('pkg:docker/', { uri: 'pkg:docker/node@18', digest: { sha256: sha256('8') } }),
    });
    const b = rebuildWith({
      deps: [
        ...replacing('pkg:docker/', { uri: 'pkg:docker/node@20', digest: { sha256: NODE_20_NEW } }),
        { uri: `oci://gcr.io/distroless/nodejs20-debian12@sha256:${sha256('9')}` },
      ],
    });
    const d = diffProvenance(a, b);
    expect(d.baseImages.map((c) => [c.kind, c.name, c.oldRef, c.newRef, c.fields])).toEqual([
      [
        'changed',
        'docker.io/library/node',
        'node:18@sha256:888888888888',
        'node:20@sha256:222222222222',
        ['tag', 'digest'],
      ],
      [
        'added',
        'gcr.io/distroless/nodejs20-debian12',
        null,
        'gcr.io/distroless/nodejs20-debian12@sha256:999999999999',
        [],
      ],
    ]);
    expect(d.kinds).toEqual(['base-image-changed']);
    expect(d.summary).toBe(
      'base image node:18 -> node:20; 1 base image added (gcr.io/distroless/nodejs20-debian12@sha256:999999999999); ' +
        'builder same; metadata only otherwise',
    );
  });

  it('builder version changed', () => {
    const d = diffProvenance(original, rebuildWith({ builderVersion: { 'actions/runner': '2.318.0' } }));
    expect(d.builder).toEqual([
      {
        kind: 'changed',
        field: 'version',
        name: 'actions/runner',
        old: '2.317.0',
        new: '2.318.0',
        pathA: '/predicate/runDetails/builder/version/actions~1runner',
        pathB: '/predicate/runDetails/builder/version/actions~1runner',
      },
    ]);
    expect(d.kinds).toEqual(['builder-version-changed']);
    expect(d.summary).toBe('builder version changed (actions/runner 2.317.0 -> 2.318.0); metadata only otherwise');
  });

  it('builder id and builder dependencies changed', () => {
    const selfHosted = 'https://github.com/actions/runner/self-hosted';
    const a = v1Provenance({
      builderDependencies: [
        { uri: 'git+https://github.com/actions/runner@v2.317.0', digest: { gitCommit: commit('1') } },
      ],
    });
    const b = rebuildWith({
      builderId: selfHosted,
      builderDependencies: [
        { uri: 'git+https://github.com/actions/runner@v2.318.0', digest: { gitCommit: commit('2') } },
      ],
    });
    const d = diffProvenance(a, b);
    expect(d.builder.map((c) => [c.field, c.kind, c.name, c.pathB])).toEqual([
      ['id', 'changed', 'id', '/predicate/runDetails/builder/id'],
      [
        'builderDependencies',
        'changed',
        'git+https://github.com/actions/runner',
        '/predicate/runDetails/builder/builderDependencies/0',
      ],
    ]);
    expect(d.builder[0]).toMatchObject({ old: BUILDER_ID, new: selfHosted });
    expect(d.kinds).toEqual(['builder-id-changed', 'builder-dependencies-changed']);
    expect(d.summary).toBe(
      `builder id changed (${BUILDER_ID} -> ${selfHosted}), 1 dependency changed; metadata only otherwise`,
    );
  });

  it('parameters changed, by JSON path in each provenance', () => {
    const b = rebuildWith({
      externalParameters: {
        workflow: { ref: 'refs/heads/hotfix', repository: REPO, path: '.github/workflows/release.yml' },
        inputs: { 'dry/run': true },
      },
      internalParameters: {
        github: {
          event_name: 'workflow_dispatch',
          repository_id: '706251001',
          repository_owner_id: '1042001',
          runner_environment: 'github-hosted',
        },
      },
    });
    const d = diffProvenance(original, b);
    expect(d.parameters).toEqual([
      {
        kind: 'changed',
        name: '/externalParameters/workflow/ref',
        old: 'refs/heads/main',
        new: 'refs/heads/hotfix',
        pathA: '/predicate/buildDefinition/externalParameters/workflow/ref',
        pathB: '/predicate/buildDefinition/externalParameters/workflow/ref',
      },
      {
        kind: 'changed',
        name: '/internalParameters/github/event_name',
        old: 'push',
        new: 'workflow_dispatch',
        pathA: '/predicate/buildDefinition/internalParameters/github/event_name',
        pathB: '/predicate/buildDefinition/internalParameters/github/event_name',
      },
      {
        kind: 'added',
        name: '/externalParameters/inputs/dry~1run',
        old: null,
        new: true,
        pathB: '/predicate/buildDefinition/externalParameters/inputs/dry~1run',
      },
    ]);
    expect(d.kinds).toEqual(['parameters-changed']);
    expect(d.summary).toBe(
      'builder same; 3 parameters changed (/externalParameters/workflow/ref, /internalParameters/github/event_name, ' +
        '/externalParameters/inputs/dry~1run); plus metadata',
    );
  });

  it('one parameter: the summary shows old and new value', () => {
    const d = diffProvenance(
      original,
      rebuildWith({
        externalParameters: {
          workflow: { ref: 'refs/heads/hotfix', repository: REPO, path: '.github/workflows/release.yml' },
        },
      }),
    );
    expect(d.summary).toBe(
      'builder same; parameter /externalParameters/workflow/ref changed (refs/heads/main -> refs/heads/hotfix); plus ' +
        'metadata',
    );
  });

  it('a new buildType is a parameter change within one format', () => {
    const b = rebuildWith();
    b.predicate.buildDefinition.buildType = 'https://actions.github.io/buildtypes/workflow/v2';
    expect(diffProvenance(original, b).parameters).toEqual([
      expect.objectContaining({ name: '/buildType', pathB: '/predicate/buildDefinition/buildType' }),
    ]);
  });

  it('dependencies added, removed, unpinned; the source commit moved', () => {
    const deps = [
      source(commit('d')),
      npm('express', '4.19.2', 'a'),
      npm('lodash', '4.17.20', 'b'),
      { uri: 'pkg:npm/left-pad@1.3.0' },
      nodeImage(),
    ];
    const d = diffProvenance(original, rebuildWith({ deps }));
    expect(d.dependencies.map((c) => [c.kind, c.name, c.pathA, c.pathB, c.fields])).toEqual([
      ['changed', 'git+https://github.com/octo-org/shop-api', `${RD}/0`, `${RD}/0`, ['digest']],
      ['added', 'pkg:npm/left-pad', undefined, `${RD}/3`, []],
      ['unpinned', 'pkg:npm/left-pad', undefined, `${RD}/3`, []],
      ['removed', 'pkg:npm/@types/node', `${RD}/3`, undefined, []],
    ]);
    expect(d.kinds).toEqual(['dependency-drift', 'unpinned-dependencies']);
    expect(d.summary).toBe(
      `dependency drift: 1 package changed (github.com/octo-org/shop-api refs/heads/main ${COMMIT.slice(0, 7)} -> ` +
        `ddddddd), 1 added (left-pad 1.3.0), 1 removed (@types/node 20.11.30); 1 dependency unpinned (left-pad ` +
        `1.3.0); builder same; metadata only otherwise`,
    );
  });

  it('resolvedDependencies are unordered: a reordering is no change', () => {
    const d = diffProvenance(original, rebuildWith({ deps: [...DEFAULT_DEPS].reverse() }));
    expect(d.dependencies).toEqual([]);
    expect(d.baseImages).toEqual([]);
  });

  it('two versions of one package match by version', () => {
    const a = v1Provenance({ deps: [...DEFAULT_DEPS, npm('lodash', '3.10.1', 'e')] });
    const b = rebuildWith({
      deps: [npm('lodash', '3.10.1', 'e'), ...replacing('pkg:npm/lodash@', npm('lodash', '4.17.21', 'd'))],
    });
    const d = diffProvenance(a, b);
    expect(d.dependencies.map((c) => [c.kind, c.oldVersion, c.newVersion])).toEqual([
      ['changed', '4.17.20', '4.17.21'],
    ]);
  });

  it('a digest-only change and an annotation change are told apart', () => {
    const a = v1Provenance({
      deps: [
        ...DEFAULT_DEPS,
        {
          uri: 'git+https://github.com/actions/runner',
          digest: { sha1: commit('5') },
          annotations: { twoPartyReview: true },
        },
      ],
    });
    const b = rebuildWith({
      deps: [
        ...replacing('pkg:npm/express@', { uri: 'pkg:npm/express@4.19.2', digest: { sha512: '9'.repeat(128) } }),
        {
          uri: 'git+https://github.com/actions/runner',
          digest: { sha1: commit('5') },
          annotations: { twoPartyReview: false },
        },
      ],
    });
    const d = diffProvenance(a, b);
    expect(d.dependencies.map((c) => [c.name, c.fields])).toEqual([
      ['pkg:npm/express', ['digest']],
      ['git+https://github.com/actions/runner', ['annotations']],
    ]);
    expect(d.summary).toContain(
      '2 packages changed (express 4.19.2 (new digest), github.com/actions/runner (annotations))',
    );
  });

  it('throws for a statement that is no SLSA provenance', () => {
    expect(() =>
      diffProvenance(original, { ...original, predicateType: 'https://in-toto.io/attestation/test-result/v0.1' }),
    ).toThrow(/not a SLSA provenance statement/);
  });
});

describe('diffProvenance: v0.2', () => {
  it('v0.2 against v1: the same build in the two formats differs only in metadata', () => {
    const v02 = v02Provenance();
    const d = diffProvenance(v02, migratedToV1(v02));
    expect(d.dependencies).toEqual([]);
    expect(d.baseImages).toEqual([]);
    expect(d.builder).toEqual([]);
    expect(d.parameters).toEqual([]);
    expect(d.metadata.map((c) => [c.name, c.pathA, c.pathB])).toEqual([
      ['invocationId', '/predicate/metadata/buildInvocationId', '/predicate/runDetails/metadata/invocationId'],
      ['startedOn', '/predicate/metadata/buildStartedOn', '/predicate/runDetails/metadata/startedOn'],
      ['finishedOn', '/predicate/metadata/buildFinishedOn', '/predicate/runDetails/metadata/finishedOn'],
      ['completeness', '/predicate/metadata/completeness', undefined],
      ['reproducible', '/predicate/metadata/reproducible', undefined],
      ['predicateType', '/predicateType', '/predicateType'],
      ['buildType', '/predicate/buildType', '/predicate/buildDefinition/buildType'],
    ]);
    expect(d.formats).toEqual({ a: 'v0.2', b: 'v1' });
    expect(d.kinds).toEqual(['metadata-only', 'format-change']);
    expect(d.summary).toBe(
      'v0.2 -> v1 provenance; metadata only (invocationId, startedOn, finishedOn, +2 more); dependencies, base ' +
        'images, builder and parameters same',
    );
  });

  it('v0.2 against v1 with drift: paths point into each format', () => {
    const v02 = v02Provenance();
    const v1 = migratedToV1(v02);
    v1.predicate.buildDefinition.resolvedDependencies = replacing(
      'pkg:npm/lodash@',
      npm('lodash', '4.17.21', 'd'),
      v1.predicate.buildDefinition.resolvedDependencies,
    );
    const d = diffProvenance(v02, v1);
    expect(d.dependencies).toEqual([
      expect.objectContaining({
        kind: 'changed',
        name: 'pkg:npm/lodash',
        pathA: '/predicate/materials/2',
        pathB: `${RD}/2`,
        oldVersion: '4.17.20',
        newVersion: '4.17.21',
      }),
    ]);
    expect(d.summary).toBe(
      'v0.2 -> v1 provenance; dependency drift: 1 package changed (lodash 4.17.20 -> 4.17.21); builder same; ' +
        'metadata only otherwise',
    );
    // And the other way round.
    expect(diffProvenance(v1, v02).dependencies).toEqual([
      expect.objectContaining({
        pathA: `${RD}/2`,
        pathB: '/predicate/materials/2',
        oldVersion: '4.17.21',
        newVersion: '4.17.20',
      }),
    ]);
  });

  it('v0.2 against a GitHub v1 provenance: the builder version v0.2 cannot record shows as added', () => {
    const d = diffProvenance(v02Provenance(), v1Provenance({ run: 2 }));
    expect(d.builder).toEqual([
      expect.objectContaining({ kind: 'added', field: 'version', name: 'actions/runner', old: null, new: '2.317.0' }),
    ]);
    expect(d.dependencies).toEqual([]);
    expect(d.summary).toMatch(
      /^v0\.2 -> v1 provenance; builder version changed \(actions\/runner unset -> 2\.317\.0\); \d+ parameters changed/,
    );
  });

  it('v0.2 against v0.2: configSource, entryPoint, environment and buildConfig', () => {
    const a = v02Provenance();
    const b = v02Provenance({
      subjectDigest: sha256('b'),
      run: 2,
      configSource: { uri: SOURCE_URI_V02, digest: { sha1: commit('d') }, entryPoint: '.github/workflows/hotfix.yml' },
    });
    b.predicate.buildConfig = { steps: [{ command: ['npm', 'ci'] }] };
    const d = diffProvenance(a, b);
    // The source listed among the materials is unchanged; configSource is a dependency of its own now.
    expect(d.dependencies.map((c) => [c.kind, c.pathA, c.pathB])).toEqual([
      ['added', undefined, '/predicate/invocation/configSource'],
    ]);
    expect(d.parameters.map((c) => [c.name, c.pathA, c.pathB])).toEqual([
      [
        '/externalParameters/entryPoint',
        '/predicate/invocation/configSource/entryPoint',
        '/predicate/invocation/configSource/entryPoint',
      ],
      [
        '/internalParameters/github_run_id',
        '/predicate/invocation/environment/github_run_id',
        '/predicate/invocation/environment/github_run_id',
      ],
      ['/buildConfig/steps/0/command/0', undefined, '/predicate/buildConfig/steps/0/command/0'],
      ['/buildConfig/steps/0/command/1', undefined, '/predicate/buildConfig/steps/0/command/1'],
    ]);
    expect(d.metadata.map((c) => c.name)).toEqual(['invocationId', 'startedOn', 'finishedOn']);
  });
});

const SOURCE_URI_V02 = 'git+https://github.com/octo-org/shop-api@refs/heads/main';
