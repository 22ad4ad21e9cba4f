// ResourceDescriptor (../shared/specs/in-toto-attestation/v1/resource_descriptor.md). Every
// field is optional, but a descriptor MUST set one of uri, digest, content; a context (a
// subject, a VSA policy) may require more. Optional fields accept null: the SLSA parsing rules
// say unset and null are the same, and the in-toto v1 types are protobuf messages whose JSON
// mapping reads null as unset. Unknown fields are kept (consumers MUST ignore them).
import { z } from 'zod';
import { DigestSet } from './digest.ts';
import { Base64Bytes, isPlainObject, isPresent, JsonObject, MediaType, ResourceUri, whenObject } from './fields.ts';

const Descriptor = z.looseObject({
  name: z.string().nullish(),
  uri: ResourceUri.nullish(),
  digest: DigestSet.nullish(),
  content: Base64Bytes.nullish(),
  downloadLocation: ResourceUri.nullish(),
  mediaType: MediaType.nullish(),
  annotations: JsonObject.nullish(),
});
type Descriptor = z.infer<typeof Descriptor>;
type Field = keyof Descriptor & keyof typeof Descriptor.shape;

/** A descriptor whose context requires `R` to be set. */
export type DescriptorWith<R extends Field> = Descriptor & { [K in R]-?: NonNullable<Descriptor[K]> };

/**
 * A ResourceDescriptor schema whose context additionally requires the `required` fields. The
 * spec's own minimum, one of uri/digest/content, always applies.
 */
export function resourceDescriptor<R extends Field = never>(...required: R[]): z.ZodType<DescriptorWith<R>> {
  const schema = Descriptor.superRefine((rd, ctx) => {
    // Runs even when a field failed (whenObject), so `rd` is only known to be an object.
    const value: unknown = rd;
    if (!isPlainObject(value)) return;
    if (!isPresent(value.uri) && !isPresent(value.digest) && !isPresent(value.content)) {
      ctx.addIssue({ code: 'custom', message: 'a resource descriptor needs at least one of uri, digest, content' });
    }
    for (const field of required) {
      if (!isPresent(value[field])) ctx.addIssue({ code: 'custom', path: [field], message: 'required' });
    }
  }, whenObject);
  return schema as unknown as z.ZodType<DescriptorWith<R>>;
}

export const ResourceDescriptor = resourceDescriptor();
export type ResourceDescriptor = z.infer<typeof ResourceDescriptor>;
