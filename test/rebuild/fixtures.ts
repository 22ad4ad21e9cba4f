// Realistic provenance pairs for the rebuild tests: GitHub Actions-style SLSA provenance v1
// (https://actions.github.io/buildtypes/workflow/v1) for an npm application built into a
// container image on node:20, and the same build as the slsa-github-generator wrote it in v0.2.

export const hex = (n: number, c: string) => c.repeat(n);

import type { Json } from '../helpers/json.ts';
export const sha256 = (c: string) => hex(64, c);
export const sha512 = (c: string) => hex(128, c);
export const commit = (c: string) => hex(40, c);

export const REPO = 'https://github.com/octo-org/shop-api';
export const SOURCE_URI = 'git+https://github.com/octo-org/shop-api@refs/heads/main';
export const COMMIT = '7fd1a60b01f91b314f59955a4e4d4e80d8edf11d';
export const ARTIFACT = 'ghcr.io/octo-org/shop-api';
export const BUILDER_ID = 'https://github.com/actions/runner/github-hosted';

export const NODE_20_OLD = sha256('1');
export const NODE_20_NEW = sha256('2');

export type Descriptor = Record<string, unknown>;

export const source = (gitCommit = COMMIT, uri = SOURCE_URI): Descriptor => ({ uri, digest: { gitCommit } });
export const npm = (name: string, version: string, c: string): Descriptor => ({
  uri: `pkg:npm/${name.replace('@', '%40')}@${version}`,
  digest: { sha512: sha512(c) },
});
export const nodeImage = (digest: string | null = NODE_20_OLD): Descriptor => ({
  uri: 'pkg:docker/node@20?platform=linux%2Famd64',
  ...(digest ? { digest: { sha256: digest } } : {}),
});

export const DEFAULT_DEPS: Descriptor[] = [
  source(),
  npm('express', '4.19.2', 'a'),
  npm('lodash', '4.17.20', 'b'),
  npm('@types/node', '20.11.30', 'c'),
  nodeImage(),
];

export interface V1Options {
  subjectDigest?: string;
  subjectName?: string;
  deps?: Descriptor[];
  builderId?: string;
  builderVersion?: Record<string, string> | null;
  builderDependencies?: Descriptor[];
  externalParameters?: Record<string, unknown>;
  internalParameters?: Record<string, unknown>;
  run?: number;
}

/** A GitHub Actions-style provenance v1 statement. `run` drives the metadata (invocation id, times). */
export function v1Provenance(o: V1Options = {}): Record<string, Json> {
  const run = o.run ?? 1;
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: o.subjectName ?? ARTIFACT, digest: { sha256: o.subjectDigest ?? sha256('a') } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: o.externalParameters ?? {
          workflow: { ref: 'refs/heads/main', repository: REPO, path: '.github/workflows/release.yml' },
        },
        internalParameters: o.internalParameters ?? {
          github: {
            event_name: 'push',
            repository_id: '706251001',
            repository_owner_id: '1042001',
            runner_environment: 'github-hosted',
          },
        },
        resolvedDependencies: o.deps ?? DEFAULT_DEPS,
      },
      runDetails: {
        builder: {
          id: o.builderId ?? BUILDER_ID,
          ...(o.builderVersion === null ? {} : { version: o.builderVersion ?? { 'actions/runner': '2.317.0' } }),
          ...(o.builderDependencies ? { builderDependencies: o.builderDependencies } : {}),
        },
        metadata: {
          invocationId: `${REPO}/actions/runs/91460${run}/attempts/1`,
          startedOn: `2024-06-0${run}T10:00:00Z`,
          finishedOn: `2024-06-0${run}T10:04:1${run}Z`,
        },
      },
    },
  };
}

export interface V02Options {
  subjectDigest?: string;
  subjectName?: string;
  materials?: Descriptor[];
  configSource?: Record<string, unknown>;
  run?: number;
}

/**
 * The same build as slsa-github-generator wrote provenance v0.2 (Statement v0.1): configSource
 * points at the repository (sha1 = the commit), the rest of the materials as above.
 */
export function v02Provenance(o: V02Options = {}): Record<string, Json> {
  const run = o.run ?? 1;
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    subject: [{ name: o.subjectName ?? ARTIFACT, digest: { sha256: o.subjectDigest ?? sha256('a') } }],
    predicateType: 'https://slsa.dev/provenance/v0.2',
    predicate: {
      builder: { id: BUILDER_ID },
      buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
      invocation: {
        configSource: o.configSource ?? {
          uri: SOURCE_URI,
          digest: { sha1: COMMIT },
          entryPoint: '.github/workflows/release.yml',
        },
        parameters: {},
        environment: { github_event_name: 'push', github_run_id: `91460${run}` },
      },
      metadata: {
        buildInvocationId: `91460${run}-1`,
        buildStartedOn: `2024-06-0${run}T10:00:00Z`,
        buildFinishedOn: `2024-06-0${run}T10:04:1${run}Z`,
        completeness: { parameters: true, environment: false, materials: false },
        reproducible: false,
      },
      materials: o.materials ?? [
        { uri: SOURCE_URI, digest: { sha1: COMMIT } },
        npm('express', '4.19.2', 'a'),
        npm('lodash', '4.17.20', 'b'),
        npm('@types/node', '20.11.30', 'c'),
        nodeImage(),
      ],
    },
  };
}

/**
 * `v02` migrated to v1 by the spec's "Migrating from 0.2" pseudocode: the same build, recorded
 * in the other format (and with a new, v1 buildType, as the migration requires).
 */
export function migratedToV1(v02: Record<string, Json>): Record<string, Json> {
  const p = v02.predicate;
  const cs = p.invocation.configSource;
  const materials: Descriptor[] = p.materials;
  const listed = materials.some((m) => m.uri === cs.uri);
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: v02.subject,
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
        externalParameters: { ...p.invocation.parameters, entryPoint: cs.entryPoint, source: cs.uri },
        internalParameters: p.invocation.environment,
        resolvedDependencies: [
          ...materials.map((m) =>
            m.digest && (m.digest as Json).sha1 ? { uri: m.uri, digest: { gitCommit: (m.digest as Json).sha1 } } : m,
          ),
          ...(listed ? [] : [{ uri: cs.uri, digest: { gitCommit: cs.digest.sha1 } }]),
        ],
      },
      runDetails: {
        builder: { id: p.builder.id },
        metadata: {
          invocationId: `${REPO}/actions/runs/${p.invocation.environment.github_run_id}/attempts/2`,
          startedOn: '2024-06-09T10:00:00Z',
          finishedOn: '2024-06-09T10:04:19Z',
        },
      },
    },
  };
}
