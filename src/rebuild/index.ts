// Rebuild analysis (DESIGN.md section 8), pure: detecting that a provenance describes a rebuild
// of an earlier build, the difference between the two provenances, and the checklist a
// rebuild exception is reviewed against.

export {
  CHECKLIST_ITEMS,
  type ChecklistInput,
  type ChecklistItem,
  type ChecklistResult,
  type RebuildExceptionInput,
  rebuildChecklist,
} from './checklist.ts';
export { diffProvenance } from './diff.ts';
export {
  type ImageRef,
  type PackageIdentity,
  packageIdentity,
  parseGitUri,
  parseImageReference,
  parsePurl,
} from './identity.ts';
export type { JsonValue } from './json.ts';
export {
  type Located,
  type NormalizedDependency,
  type NormalizedProvenance,
  normalizeProvenance,
  type ProvenanceFormat,
  provenanceFormat,
  type StatementInput,
  sameDigests,
} from './normalize.ts';
export {
  type BuildInput,
  type BuildSide,
  type BuildSource,
  buildInputs,
  buildSources,
  isRebuild,
  type RebuildMatch,
  sameSource,
  sourceKey,
  sourceRepository,
} from './source.ts';
export type * from './types.ts';
