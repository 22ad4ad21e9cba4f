// The in-toto test-result predicate, v0.1
// (../shared/specs/in-toto-attestation/predicates/test-result.md).
import { z } from 'zod';
import { ResourceUri } from './fields.ts';
import { ResourceDescriptor } from './resource-descriptor.ts';

export const TEST_RESULT_V01 = 'https://in-toto.io/attestation/test-result/v0.1';

export const TestResultV01 = z.looseObject({
  result: z.enum(['PASSED', 'WARNED', 'FAILED']),
  // Required: present (null is unset); the spec sets no minimum length.
  configuration: z.array(ResourceDescriptor),
  url: ResourceUri.nullish(),
  passedTests: z.array(z.string()).nullish(),
  warnedTests: z.array(z.string()).nullish(),
  failedTests: z.array(z.string()).nullish(),
});
export type TestResultV01 = z.infer<typeof TestResultV01>;
