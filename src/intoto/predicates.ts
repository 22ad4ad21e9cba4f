// The predicate types waybill knows, with their schemas, keyed by predicate type URI.
import type { z } from 'zod';
import { PROVENANCE_V1, PROVENANCE_V02, ProvenanceV1, ProvenanceV02 } from './provenance.ts';
import { TEST_RESULT_V01, TestResultV01 } from './test-result.ts';
import { VSA_V1, VsaV1 } from './vsa.ts';
import { VULNS_V02, VulnsV02 } from './vulns.ts';
import { RUNTIME_SNAPSHOT_V1, RuntimeSnapshotV1 } from './waybill.ts';

export { PROVENANCE_V1, PROVENANCE_V02, ProvenanceV1, ProvenanceV02 } from './provenance.ts';
export { TEST_RESULT_V01, TestResultV01 } from './test-result.ts';
export { SlsaResult, VSA_V1, VsaV1 } from './vsa.ts';
export { VULNS_V02, VulnsV02 } from './vulns.ts';

/** Predicate schemas by predicate type URI; a type not listed is kept as an opaque object. */
export const PREDICATE_SCHEMAS: Readonly<Record<string, z.ZodType>> = Object.freeze({
  [PROVENANCE_V1]: ProvenanceV1,
  [PROVENANCE_V02]: ProvenanceV02,
  [TEST_RESULT_V01]: TestResultV01,
  [VSA_V1]: VsaV1,
  [VULNS_V02]: VulnsV02,
  [RUNTIME_SNAPSHOT_V1]: RuntimeSnapshotV1,
});
