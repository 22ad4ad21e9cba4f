import { describe, expect, expectTypeOf, it } from 'vitest';
import { REBUILD_REQUIREMENTS, type RebuildRequirement } from '../../src/policy/types.ts';
import {
  CHECKLIST_ITEMS,
  type ChecklistItem,
  diffProvenance,
  type RebuildExceptionInput,
  rebuildChecklist,
} from '../../src/rebuild/index.ts';
import {
  DEFAULT_DEPS,
  type Descriptor,
  migratedToV1,
  NODE_20_NEW,
  nodeImage,
  npm,
  sha256,
  v1Provenance,
  v02Provenance,
} from './fixtures.ts';

const original = v1Provenance({ subjectDigest: sha256('a'), run: 1 });
const rebuild = v1Provenance({ subjectDigest: sha256('b'), run: 2 });
const exception: RebuildExceptionInput = {
  reason: 'The registry lost the original image; rebuilt from the same commit.',
  ticket: 'OPS-1234',
  requestedBy: 'alice@example.com',
  approvers: ['bob@example.com', 'carol@example.com'],
};

function check(
  newer: Record<string, unknown>,
  o: { older?: Record<string, unknown>; exception?: Partial<RebuildExceptionInput>; ownTests?: boolean } = {},
) {
  const results = rebuildChecklist({
    diff: diffProvenance(o.older ?? original, newer),
    newer,
    exception: { ...exception, ...o.exception },
    ownTests: o.ownTests ?? true,
  });
  return Object.fromEntries(results.map((r) => [r.item, r])) as Record<ChecklistItem, (typeof results)[number]>;
}

describe('CHECKLIST_ITEMS', () => {
  it('covers every policy rebuild requirement, plus own-tests', () => {
    expectTypeOf<RebuildRequirement>().toExtend<ChecklistItem>();
    for (const r of REBUILD_REQUIREMENTS) expect(CHECKLIST_ITEMS).toContain(r);
    expect(CHECKLIST_ITEMS).toContain('own-tests');
  });

  it('one result per item, in that order', () => {
    const results = rebuildChecklist({
      diff: diffProvenance(original, rebuild),
      newer: rebuild,
      exception,
      ownTests: true,
    });
    expect(results.map((r) => r.item)).toEqual([...CHECKLIST_ITEMS]);
  });
});

describe('rebuildChecklist', () => {
  it('a clean rebuild: everything holds', () => {
    const c = check(rebuild);
    expect(Object.values(c).map((r) => [r.item, r.ok])).toEqual(CHECKLIST_ITEMS.map((i) => [i, true]));
    expect(c['pinned-dependencies'].detail).toBe('all 4 recorded dependencies are pinned by digest');
    expect(c['pinned-base-images'].detail).toBe('the one base image is pinned by digest');
    expect(c['same-builder'].detail).toBe(
      'same builder https://github.com/actions/runner/github-hosted (actions/runner 2.317.0)',
    );
    expect(c['documented-reason'].detail).toBe('reason given, ticket OPS-1234');
    expect(c['distinct-approvers'].detail).toBe(
      '2 distinct approvers other than the requester: bob@example.com, carol@example.com',
    );
    expect(c['own-tests'].detail).toBe('the rebuild has a PASSED test result of its own');
  });

  it(
    'pinned-dependencies: every dependency of the rebuild needs a digest; the unpinned ones are named with their ' +
      'path',
    () => {
      const deps: Descriptor[] = [
        ...DEFAULT_DEPS,
        { uri: 'pkg:npm/left-pad@1.3.0' },
        { uri: 'https://example.com/tools/protoc-25.1.zip' },
      ];
      const c = check(v1Provenance({ subjectDigest: sha256('b'), deps }));
      expect(c['pinned-dependencies']).toEqual({
        item: 'pinned-dependencies',
        ok: false,
        detail:
          '2 of 6 recorded dependencies have no digest: pkg:npm/left-pad@1.3.0 ' +
          '(/predicate/buildDefinition/resolvedDependencies/5), https://example.com/tools/protoc-25.1.zip ' +
          '(/predicate/buildDefinition/resolvedDependencies/6)',
      });
    },
  );

  it('pinned-dependencies looks at the rebuild, not the original', () => {
    const older = v1Provenance({ deps: [...DEFAULT_DEPS, { uri: 'pkg:npm/left-pad@1.3.0' }] });
    expect(check(rebuild, { older })['pinned-dependencies'].ok).toBe(true);
  });

  it('pinned-dependencies fails closed when the rebuild records no dependencies', () => {
    const c = check(v1Provenance({ subjectDigest: sha256('b'), deps: [] }));
    expect(c['pinned-dependencies']).toMatchObject({
      ok: false,
      detail: expect.stringContaining('records no dependencies'),
    });
  });

  it('pinned-dependencies reads v0.2 materials and configSource', () => {
    const newer = v02Provenance({ subjectDigest: sha256('b'), materials: [{ uri: 'pkg:npm/lodash@4.17.21' }], run: 2 });
    const c = check(newer, { older: v02Provenance() });
    expect(c['pinned-dependencies']).toMatchObject({
      ok: false,
      detail: '1 of 2 recorded dependencies has no digest: pkg:npm/lodash@4.17.21 (/predicate/materials/0)',
    });
  });

  it('pinned-base-images: a base image by tag only fails; a digest in the reference passes', () => {
    const tagOnly = check(
      v1Provenance({ subjectDigest: sha256('b'), deps: [...DEFAULT_DEPS.slice(0, 4), nodeImage(null)] }),
    );
    expect(tagOnly['pinned-base-images']).toEqual({
      item: 'pinned-base-images',
      ok: false,
      detail:
        '1 of 1 base image is referenced by tag only: node:20 (/predicate/buildDefinition/resolvedDependencies/4)',
    });
    // The base image moved but is pinned: pinning holds (the move shows in the diff).
    expect(
      check(v1Provenance({ subjectDigest: sha256('b'), deps: [...DEFAULT_DEPS.slice(0, 4), nodeImage(NODE_20_NEW)] }))[
        'pinned-base-images'
      ].ok,
    ).toBe(true);
    const inRef = check(
      v1Provenance({
        subjectDigest: sha256('b'),
        deps: [...DEFAULT_DEPS.slice(0, 4), { uri: `docker://node:20@sha256:${NODE_20_NEW}` }],
      }),
    );
    expect(inRef['pinned-base-images'].ok).toBe(true);
    expect(
      check(v1Provenance({ subjectDigest: sha256('b'), deps: DEFAULT_DEPS.slice(0, 4) }))['pinned-base-images'],
    ).toMatchObject({
      ok: true,
      detail: 'the rebuild provenance records no base images',
    });
  });

  it('same-builder: a changed builder version or id fails', () => {
    const c = check(v1Provenance({ subjectDigest: sha256('b'), builderVersion: { 'actions/runner': '2.318.0' } }));
    expect(c['same-builder']).toEqual({
      item: 'same-builder',
      ok: false,
      detail: 'version actions/runner 2.317.0 -> 2.318.0',
    });
    const id = check(
      v1Provenance({ subjectDigest: sha256('b'), builderId: 'https://github.com/actions/runner/self-hosted' }),
    );
    expect(id['same-builder']).toMatchObject({
      ok: false,
      detail:
        'builder id https://github.com/actions/runner/github-hosted -> https://github.com/actions/runner/self-hosted',
    });
  });

  it('same-builder: a version only one side records cannot be shown the same', () => {
    const c = check(v1Provenance({ subjectDigest: sha256('b') }), { older: v02Provenance() });
    expect(c['same-builder']).toMatchObject({
      ok: false,
      detail: 'version actions/runner 2.317.0 not recorded for the original build',
    });
    // v0.2 against its migration: same id, no versions anywhere.
    const v02 = v02Provenance();
    const migrated = migratedToV1(v02);
    migrated.subject = [{ name: migrated.subject[0].name, digest: { sha256: sha256('b') } }];
    expect(check(migrated, { older: v02 })['same-builder']).toMatchObject({
      ok: true,
      detail: 'same builder https://github.com/actions/runner/github-hosted, version not recorded',
    });
  });

  it('same-builder ignores dependency drift; a changed builder dependency fails unless accepted', () => {
    const deps = DEFAULT_DEPS.map((d) => (d.uri === 'pkg:npm/lodash@4.17.20' ? npm('lodash', '4.17.21', 'd') : d));
    expect(check(v1Provenance({ subjectDigest: sha256('b'), deps }))['same-builder'].ok).toBe(true);
    const older = v1Provenance({
      builderDependencies: [{ uri: 'git+https://github.com/actions/runner@v2', digest: { gitCommit: '1'.repeat(40) } }],
    });
    const newer = v1Provenance({
      subjectDigest: sha256('b'),
      builderDependencies: [{ uri: 'git+https://github.com/actions/runner@v2', digest: { gitCommit: '2'.repeat(40) } }],
    });
    expect(check(newer, { older })['same-builder']).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^builder dependency \S+ changed$/),
    });
    const name = check(newer, { older })['same-builder'].detail.split(' ')[2]!;
    expect(check(newer, { older, exception: { acceptedBuilderDependencies: [name] } })['same-builder']).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/; 1 builder dependency changed \(accepted\)$/),
    });
  });

  it.each([
    [{ reason: '', ticket: 'OPS-1' }, 'the exception has no reason'],
    [{ reason: '   ', ticket: 'OPS-1' }, 'the exception has no reason'],
    [{ ticket: undefined }, 'the exception has no ticket'],
    [{ ticket: null }, 'the exception has no ticket'],
    [{ reason: '', ticket: ' ' }, 'the exception has no reason and no ticket'],
  ])('documented-reason needs a reason and a ticket: %j', (e, detail) => {
    expect(check(rebuild, { exception: e })['documented-reason']).toEqual({
      item: 'documented-reason',
      ok: false,
      detail,
    });
  });

  it.each([
    [[], 'no approvals'],
    [['alice@example.com', 'bob@example.com'], 'the requester alice@example.com approved their own exception'],
    [[' Alice@Example.com '], 'the requester alice@example.com approved their own exception'],
    [['bob@example.com', 'Bob@example.com'], 'approved more than once by bob@example.com'],
    [['bob@example.com', ''], 'an approver is empty'],
  ])('distinct-approvers: %j', (approvers, detail) => {
    expect(check(rebuild, { exception: { approvers } })['distinct-approvers']).toEqual({
      item: 'distinct-approvers',
      ok: false,
      detail,
    });
  });

  it("distinct-approvers holds for one approver other than the requester (the count is the policy's)", () => {
    expect(check(rebuild, { exception: { approvers: ['bob@example.com'] } })['distinct-approvers']).toEqual({
      item: 'distinct-approvers',
      ok: true,
      detail: '1 distinct approver other than the requester: bob@example.com',
    });
  });

  it('own-tests', () => {
    expect(check(rebuild, { ownTests: false })['own-tests']).toEqual({
      item: 'own-tests',
      ok: false,
      detail: 'the rebuild has no PASSED test result of its own',
    });
  });
});
