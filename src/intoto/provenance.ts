// SLSA provenance predicates: v1 (../shared/specs/slsa/v1.0/provenance.md; v1.1 and v1.2
// build-provenance.md change no fields) and v0.2 (../shared/specs/slsa/v0.2/provenance.md),
// which waybill reads from ingested bundles but never writes. Both specs say unset and null
// are the same, so every optional field accepts null. Unknown (extension) fields are kept.
import { z } from 'zod';
import { DigestSet } from './digest.ts';
import { JsonObject, ResourceUri, StringMap, Timestamp, TimestampWithOffset, TypeUri } from './fields.ts';
import { ResourceDescriptor } from './resource-descriptor.ts';

export const PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';

export const BuildDefinition = z.looseObject({
  buildType: TypeUri,
  // REQUIRED, an arbitrary JSON object; `{}` is accepted (a build with no external inputs).
  externalParameters: JsonObject,
  internalParameters: JsonObject.nullish(),
  resolvedDependencies: z.array(ResourceDescriptor).nullish(),
});

export const Builder = z.looseObject({
  id: TypeUri,
  builderDependencies: z.array(ResourceDescriptor).nullish(),
  version: StringMap.nullish(),
});

export const BuildMetadata = z.looseObject({
  invocationId: z.string().nullish(),
  startedOn: Timestamp.nullish(),
  finishedOn: Timestamp.nullish(),
});

export const RunDetails = z.looseObject({
  builder: Builder,
  metadata: BuildMetadata.nullish(),
  byproducts: z.array(ResourceDescriptor).nullish(),
});

/** The `predicate` of a `https://slsa.dev/provenance/v1` statement. */
export const ProvenanceV1 = z.looseObject({
  buildDefinition: BuildDefinition,
  runDetails: RunDetails,
});
export type ProvenanceV1 = z.infer<typeof ProvenanceV1>;

/** v0.2 `materials[*]` and `invocation.configSource`: a uri and a digest, both optional. */
const MaterialV02 = z.looseObject({
  uri: ResourceUri.nullish(),
  digest: DigestSet.nullish(),
});

const ConfigSourceV02 = z.looseObject({
  uri: ResourceUri.nullish(),
  digest: DigestSet.nullish(),
  entryPoint: z.string().nullish(),
});

const CompletenessV02 = z.looseObject({
  parameters: z.boolean().nullish(),
  environment: z.boolean().nullish(),
  materials: z.boolean().nullish(),
});

/** The `predicate` of a `https://slsa.dev/provenance/v0.2` statement (read only). */
export const ProvenanceV02 = z.looseObject({
  builder: z.looseObject({ id: TypeUri }),
  buildType: TypeUri,
  invocation: z
    .looseObject({
      configSource: ConfigSourceV02.nullish(),
      parameters: JsonObject.nullish(),
      environment: JsonObject.nullish(),
    })
    .nullish(),
  buildConfig: JsonObject.nullish(),
  metadata: z
    .looseObject({
      buildInvocationId: z.string().nullish(),
      // The spec's own GitLab example carries an offset (+03:00), so v0.2 accepts any RFC 3339 zone.
      buildStartedOn: TimestampWithOffset.nullish(),
      buildFinishedOn: TimestampWithOffset.nullish(),
      completeness: CompletenessV02.nullish(),
      reproducible: z.boolean().nullish(),
    })
    .nullish(),
  materials: z.array(MaterialV02).nullish(),
});
export type ProvenanceV02 = z.infer<typeof ProvenanceV02>;
