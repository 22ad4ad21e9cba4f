// in-toto Statement v1, the envelope-payload every waybill bundle carries. This is the
// structural core (the predicate schemas build on it); see ../shared/specs/in-toto-attestation/v1.
import { z } from 'zod';

export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

const HEX_LENGTHS: Record<string, number[]> = {
  sha256: [64],
  sha224: [56],
  sha384: [96],
  sha512: [128],
  sha512_224: [56],
  sha512_256: [64],
  sha3_224: [56],
  sha3_256: [64],
  sha3_384: [96],
  sha3_512: [128],
  sha1: [40],
  gitCommit: [40, 64],
  gitTree: [40, 64],
  gitBlob: [40, 64],
};

const Uri = z.string().min(1).max(4096).regex(/^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$/, 'must be an absolute URI');

export const DigestSet = z.record(z.string().min(1).max(64), z.string().min(1).max(1024)).superRefine((set, ctx) => {
  if (Object.keys(set).length === 0) ctx.addIssue({ code: 'custom', message: 'a digest set needs at least one digest' });
  for (const [alg, value] of Object.entries(set)) {
    const lengths = HEX_LENGTHS[alg];
    if (lengths && !(lengths.includes(value.length) && /^[0-9a-f]+$/.test(value))) {
      ctx.addIssue({ code: 'custom', path: [alg], message: `${alg} must be ${lengths.join(' or ')} lowercase hex characters` });
    }
  }
});

export const ResourceDescriptor = z
  .object({
    name: z.string().max(4096).optional(),
    uri: Uri.optional(),
    digest: DigestSet.optional(),
    content: z.string().optional(),
    downloadLocation: Uri.optional(),
    mediaType: z.string().max(256).optional(),
    annotations: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((r) => r.uri !== undefined || r.digest !== undefined || r.content !== undefined, {
    message: 'a resource descriptor needs at least one of uri, digest, content',
  });

export const StatementV1 = z.object({
  _type: z.literal(STATEMENT_V1),
  subject: z
    .array(ResourceDescriptor.refine((r) => r.digest !== undefined, { message: 'a subject needs a digest', path: ['digest'] }))
    .min(1, 'a statement needs at least one subject'),
  predicateType: Uri,
  predicate: z.record(z.string(), z.unknown()).optional(),
});

export type Statement = z.infer<typeof StatementV1>;

/** Hex-digest algorithms we match on; unknown ones are kept but never used for matching. */
export function isMatchableAlgorithm(alg: string): boolean {
  return alg in HEX_LENGTHS && alg !== 'md5';
}

/** The subject digests of a statement, normalised as `alg:hex` (matchable algorithms only). */
export function subjectDigests(statement: Statement): Array<{ digest: string; name: string | null }> {
  const out = new Map<string, string | null>();
  for (const s of statement.subject) {
    for (const [alg, value] of Object.entries(s.digest ?? {})) {
      if (isMatchableAlgorithm(alg)) out.set(`${alg}:${value.toLowerCase()}`, s.name ?? null);
    }
  }
  return [...out].map(([digest, name]) => ({ digest, name }));
}
