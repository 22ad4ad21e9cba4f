// The shape of an evidence pack (src/audit/pack.ts) as the verifier reads it: what must be
// there, field by field, before any signature is looked at.
import { z } from 'zod';
import { EVIDENCE_PACK_MEDIA_TYPE, PACK_ROLES } from './pack.ts';
import type { PackReport } from './report.ts';

export const HEX64 = /^[0-9a-f]{64}$/;
const Hex64 = z.string().regex(HEX64, 'must be 64 lower-case hex characters');
const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>');
const Decimal = z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a decimal integer string');

const StepShape = z.object({
  environment: z.string().min(1),
  verdict: Hex64,
  deployment: Hex64,
  deployedAt: z.string(),
  exception: Hex64.nullable(),
});

export const PackShape = z.object({
  mediaType: z.string(),
  generatedAt: z.string(),
  issuer: z.string().min(1),
  trustedRoot: z.record(z.string(), z.unknown()),
  checkpoint: z.string(),
  manifest: z.object({
    digest: Digest,
    environment: z.string().nullable(),
    steps: z.array(StepShape),
    provenance: z.array(Hex64),
    testResults: z.record(z.string(), z.array(Hex64)),
    exceptions: z.array(Hex64),
    originals: z.array(z.object({ digest: Digest, provenance: z.array(Hex64) })),
  }),
  attestations: z.array(z.unknown()),
  policies: z.array(z.object({ uri: z.string(), sha256: z.string(), content: z.string() })),
});

const LogEntryShape = z.object({
  logIndex: Decimal,
  logId: z.object({ keyId: z.string() }),
  kindVersion: z.object({ kind: z.string(), version: z.string() }),
  integratedTime: Decimal,
  inclusionPromise: z.object({ signedEntryTimestamp: z.string() }),
  inclusionProof: z.object({
    logIndex: Decimal,
    rootHash: z.string(),
    treeSize: Decimal,
    hashes: z.array(z.string()),
    checkpoint: z.object({ envelope: z.string() }),
  }),
  canonicalizedBody: z.string(),
});

export const AttestationShape = z.object({
  id: Hex64,
  role: z.enum(PACK_ROLES),
  predicateType: z.string(),
  environment: z.string().nullable(),
  signer: z.object({ subject: z.string(), issuer: z.string() }),
  origin: z.enum(['signed', 'ingested']),
  bundle: z.record(z.string(), z.unknown()),
  logEntry: LogEntryShape,
});

export type PackJson = z.infer<typeof PackShape>;
export type AttestationJson = z.infer<typeof AttestationShape>;

export function shapeProblems(error: z.ZodError, prefix: string): string[] {
  return error.issues.slice(0, 10).map((i) => `${prefix}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
}

/** The pack, when it is one this verifier reads; else undefined, with the reasons in the report. */
export function readPack(input: unknown, report: PackReport): PackJson | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    report.problems.push('pack: not a JSON object');
    return undefined;
  }
  const mediaType = (input as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.waybill.evidence+json')) {
    report.problems.push(`pack: mediaType ${JSON.stringify(mediaType)} is not ${EVIDENCE_PACK_MEDIA_TYPE}`);
    return undefined;
  }
  if (mediaType !== EVIDENCE_PACK_MEDIA_TYPE) {
    report.problems.push(`pack: unsupported version ${mediaType} (this verifier reads ${EVIDENCE_PACK_MEDIA_TYPE})`);
    return undefined;
  }
  const parsed = PackShape.safeParse(input);
  if (!parsed.success) {
    report.problems.push(...shapeProblems(parsed.error, 'pack'));
    return undefined;
  }
  const pack = parsed.data;
  report.digest = pack.manifest.digest;
  report.environment = pack.manifest.environment;
  report.issuer = pack.issuer;
  report.generatedAt = pack.generatedAt;
  return pack;
}
