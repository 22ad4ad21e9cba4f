// SLSA Verification Summary Attestation, predicate v1 (../shared/specs/slsa/v1.0/
// verification_summary.md, with the v1.1 and v1.2 minor versions: verifier.version added,
// timeVerified made optional, SlsaResult generalised to every track and verified properties).
import { z } from 'zod';
import { ResourceUri, StringMap, Timestamp, TypeUri, whenObject } from './fields.ts';
import { resourceDescriptor } from './resource-descriptor.ts';

export const VSA_V1 = 'https://slsa.dev/verification_summary/v1';

/** SLSA-endorsed verified properties (v1.2 verified-properties), valid in `verifiedLevels`. */
export const SLSA_VERIFIED_PROPERTIES: readonly string[] = ['SLSA_SOURCE_TWO_PARTY_REVIEWED', 'SLSA_BUILD_REPRODUCED'];

const TRACK_LEVEL = /^SLSA_([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*?)_LEVEL_(\d+|UNEVALUATED)$/;

/** The track of a `SLSA_<TRACK>_LEVEL_<N|UNEVALUATED>` value, or undefined. */
export function slsaTrackOf(value: string): string | undefined {
  return TRACK_LEVEL.exec(value)?.[1];
}

/**
 * Why `value` is not a SlsaResult, or undefined: `FAILED`, `SLSA_<TRACK>_LEVEL_<N>`,
 * `SLSA_<TRACK>_LEVEL_UNEVALUATED`, a SLSA verified property, or a custom value, which
 * "MUST NOT" start with `SLSA_`.
 */
export function slsaResultProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (!value.startsWith('SLSA_')) return undefined;
  if (TRACK_LEVEL.test(value) || SLSA_VERIFIED_PROPERTIES.includes(value)) return undefined;
  return (
    'values starting with SLSA_ are reserved: ' +
    'use SLSA_<TRACK>_LEVEL_<N>, SLSA_<TRACK>_LEVEL_UNEVALUATED or a SLSA verified property'
  );
}

export const SlsaResult = z.string().superRefine((value, ctx) => {
  const problem = slsaResultProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const VsaV1 = z
  .looseObject({
    verifier: z.looseObject({ id: TypeUri, version: StringMap.nullish() }),
    // Required in 1.0, optional since 1.1 (same type URI, so both must parse).
    timeVerified: Timestamp.nullish(),
    resourceUri: ResourceUri,
    // "The entry MUST contain a `uri`."
    policy: resourceDescriptor('uri'),
    // "Each entry MUST contain a `digest` of the attestation."
    inputAttestations: z.array(resourceDescriptor('digest')).nullish(),
    verificationResult: z.enum(['PASSED', 'FAILED']),
    // Required: present (null is unset); the spec sets no minimum length.
    verifiedLevels: z.array(SlsaResult),
    // Set-but-empty means "no dependencies"; unset/null means "no claim".
    dependencyLevels: z.record(SlsaResult, z.number().int().nonnegative()).nullish(),
    slsaVersion: z
      .string()
      .regex(/^\d+\.\d+$/, 'must be <MAJOR>.<MINOR>, e.g. 1.0')
      .nullish(),
  })
  .superRefine((vsa, ctx) => {
    const levels: unknown = vsa.verifiedLevels;
    if (!Array.isArray(levels)) return;
    // "Users MUST NOT include more than one level per SLSA track."
    const tracks = new Map<string, number>();
    levels.forEach((level: unknown, i) => {
      if (typeof level !== 'string') return;
      const track = slsaTrackOf(level);
      if (track === undefined) return;
      const first = tracks.get(track);
      if (first === undefined) tracks.set(track, i);
      else
        ctx.addIssue({
          code: 'custom',
          path: ['verifiedLevels', i],
          message: `more than one level for the ${track} track (see index ${first})`,
        });
    });
    // "FAILED" in verifiedLevels means policy verification failed: it contradicts a PASSED result.
    if (vsa.verificationResult === 'PASSED') {
      levels.forEach((level: unknown, i) => {
        if (level === 'FAILED')
          ctx.addIssue({
            code: 'custom',
            path: ['verifiedLevels', i],
            message: 'FAILED contradicts verificationResult PASSED',
          });
      });
    }
  }, whenObject);
export type VsaV1 = z.infer<typeof VsaV1>;
