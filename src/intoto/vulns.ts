// The in-toto vulnerabilities predicate, v0.2
// (../shared/specs/in-toto-attestation/predicates/vulns_02.md). The spec's header gives the
// type URI without a version but its example (and the in-toto convention of a major version
// in the URI) uses .../vulns/v0.2, which is what waybill registers.
import { z } from 'zod';
import { JsonObject, ResourceUri, Timestamp } from './fields.ts';

export const VULNS_V02 = 'https://in-toto.io/attestation/vulns/v0.2';

const Severity = z.looseObject({ method: z.string(), score: z.string() });

const Vulnerability = z.looseObject({
  id: z.string().min(1),
  // Typed "object" but described and exemplified as a list of {method, score}.
  severity: z.array(Severity).min(1, 'at least one severity is required'),
  // "list, map <string, value>": accepted as either one map or a list of maps.
  annotations: z.union([JsonObject, z.array(JsonObject)]).nullish(),
});

export const VulnsV02 = z.looseObject({
  scanner: z.looseObject({
    uri: ResourceUri,
    // Typed ResourceURI, but it is "the version of the scanner" and the example is "0.19.2".
    version: z.string().nullish(),
    db: z
      .looseObject({
        uri: ResourceUri.nullish(),
        version: z.string().nullish(),
        lastUpdate: Timestamp,
      })
      .nullish(),
    // Required; an empty list means the scanner found no vulnerabilities.
    result: z.array(Vulnerability),
  }),
  metadata: z.looseObject({
    scanStartedOn: Timestamp,
    scanFinishedOn: Timestamp,
  }),
});
export type VulnsV02 = z.infer<typeof VulnsV02>;
