// Rebuild analysis (DESIGN.md section 8), pure: detecting that a provenance describes a rebuild
// of an earlier build, the difference between the two provenances, and the checklist a
// rebuild exception is reviewed against.
export {
  buildInputs,
  buildSources,
  isRebuild,
  sameSource,
  sourceKey,
  sourceRepository,
  type BuildInput,
  type BuildSide,
  type BuildSource,
  type RebuildMatch,
} from './source.ts';
export {
  diffProvenance,
  type BuilderChange,
  type Change,
  type ChangeKind,
  type DepChange,
  type DescriptorField,
  type ImageChange,
  type MetadataChange,
  type ParameterChange,
  type ProvenanceDiff,
  type RebuildKind,
} from './diff.ts';
export {
  CHECKLIST_ITEMS,
  rebuildChecklist,
  type ChecklistInput,
  type ChecklistItem,
  type ChecklistResult,
  type RebuildExceptionInput,
} from './checklist.ts';
export {
  normalizeProvenance,
  provenanceFormat,
  sameDigests,
  type Located,
  type NormalizedDependency,
  type NormalizedProvenance,
  type ProvenanceFormat,
  type StatementInput,
} from './normalize.ts';
export { packageIdentity, parseGitUri, parseImageReference, parsePurl, type ImageRef, type PackageIdentity } from './identity.ts';
export type { JsonValue } from './json.ts';
