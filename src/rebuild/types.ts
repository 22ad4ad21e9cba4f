// The shapes of a provenance diff, shared by the diff itself, its summary and the checklist.
import type { JsonValue } from './json.ts';
import type { ProvenanceFormat } from './normalize.ts';

export type ChangeKind = 'added' | 'removed' | 'changed' | 'unpinned' | 'tag-only';

export interface Change {
  kind: ChangeKind;
  name?: string;
  /** The value in `a` (null if absent there). */
  old: JsonValue;
  /** The value in `b` (null if absent there). */
  new: JsonValue;
  /** JSON pointer into statement `a`, e.g. `/predicate/buildDefinition/resolvedDependencies/3`. */
  pathA?: string;
  /** JSON pointer into statement `b`. */
  pathB?: string;
}

/** What differs between two entries matched as the same dependency. */
export type DescriptorField = 'version' | 'digest' | 'uri' | 'tag' | (string & {});

export interface DepChange extends Change {
  kind: 'added' | 'removed' | 'changed' | 'unpinned';
  /** Package identity: `pkg:npm/lodash`, `git+https://github.com/o/r`, or the uri. */
  name: string;
  /** Short name for people: `lodash`, `github.com/o/r`. */
  display: string;
  oldVersion: string | null;
  newVersion: string | null;
  /** For `changed`: version, digest, uri, or another descriptor field (annotations, ...). */
  fields: DescriptorField[];
  /** The descriptors' digests (`{}` if absent). */
  oldDigest: Record<string, string> | null;
  newDigest: Record<string, string> | null;
}

export interface ImageChange extends Change {
  kind: 'added' | 'removed' | 'changed' | 'tag-only';
  /** Canonical repository, e.g. `docker.io/library/node`. */
  name: string;
  /** `node:20@sha256:0123456789ab`, null if absent. */
  oldRef: string | null;
  newRef: string | null;
  oldTag: string | null;
  newTag: string | null;
  /** `alg:hex` from the descriptor's digest (sha256 preferred) or the reference itself. */
  oldDigest: string | null;
  newDigest: string | null;
  /** For `changed`: tag, digest, uri, or another descriptor field. */
  fields: DescriptorField[];
}

export interface BuilderChange extends Change {
  kind: 'added' | 'removed' | 'changed';
  field: 'id' | 'version' | 'builderDependencies' | 'extension';
  /** `id`; the version map's component; the builder dependency's identity; the extension field. */
  name: string;
}

export interface ParameterChange extends Change {
  kind: 'added' | 'removed' | 'changed';
  /** Format-independent pointer: `/externalParameters/workflow/ref`, `/internalParameters/...`, `/buildType`. */
  name: string;
}

export interface MetadataChange extends Change {
  kind: 'added' | 'removed' | 'changed';
  /** invocationId, startedOn, finishedOn, byproducts, predicateType/buildType (format change), ... */
  name: string;
}

export type RebuildKind =
  | 'identical'
  | 'metadata-only'
  | 'format-change'
  | 'dependency-drift'
  | 'unpinned-dependencies'
  | 'base-image-moved'
  | 'base-image-changed'
  | 'base-image-tag-only'
  | 'builder-id-changed'
  | 'builder-version-changed'
  | 'builder-dependencies-changed'
  | 'parameters-changed';

export interface ProvenanceDiff {
  formats: { a: ProvenanceFormat; b: ProvenanceFormat };
  dependencies: DepChange[];
  baseImages: ImageChange[];
  builder: BuilderChange[];
  parameters: ParameterChange[];
  metadata: MetadataChange[];
  /**
   * One line, e.g. `dependency drift: 1 package changed (lodash 4.17.20 -> 4.17.21); builder same;
   * metadata only otherwise`.
   */
  summary: string;
  /** The kinds of change found, in a fixed order; `identical` alone when nothing differs. */
  kinds: RebuildKind[];
}
