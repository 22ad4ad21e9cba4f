// What waybill's own signed statements say, read from verified evidence only: a VSA that allows a
// digest into an environment, a deployment, an approved rebuild exception. The rows of the
// verdicts, deployments and rebuild_exceptions tables are bookkeeping for listing; a decision
// reads these instead, so an edited or inserted row decides nothing.
import { isPlainObject } from '../../intoto/fields.ts';
import { VSA_V1 } from '../../intoto/predicates.ts';
import { DEPLOYMENT_V1, REBUILD_EXCEPTION_V1, waybillUris } from '../../intoto/waybill.ts';
import type { Evidence } from '../../policy/types.ts';

type Predicate = Record<string, unknown>;

const predicateOf = (e: Evidence): Predicate => (isPlainObject(e.statement.predicate) ? e.statement.predicate : {});

/** Verified, and signed by waybill itself as `subject` (waybill's issuer), or by any waybill-issued identity. */
function ownSigned(e: Evidence, issuer: string, subject?: string): boolean {
  return e.verified && e.signer.issuer === issuer && (subject === undefined || e.signer.subject === subject);
}

/** Why `vsa` does not allow `digest` into `environment`, or undefined when it does. */
export function vsaRefusal(
  vsa: Evidence | undefined,
  digest: string,
  environment: string,
  issuer: string,
): string | undefined {
  if (!vsa) return 'its signed VSA is not stored';
  if (!vsa.verified) return `its signed VSA does not verify: ${vsa.verifyError ?? 'unknown'}`;
  if (vsa.predicateType !== VSA_V1 || !ownSigned(vsa, issuer, waybillUris(issuer).verifier)) {
    return 'its VSA is not one waybill signed as the verifier';
  }
  if (!vsa.subjects.includes(digest)) return `its signed VSA is about ${vsa.subjects.join(', ')}, not ${digest}`;
  if (vsa.environment !== environment)
    return `its signed VSA is for ${vsa.environment ?? 'no environment'}, not ${environment}`;
  const result = predicateOf(vsa).verificationResult;
  if (result !== 'PASSED') return `its signed VSA says ${String(result)}`;
  return undefined;
}

/** The time a VSA was signed for. */
export function vsaTime(vsa: Evidence): Date | undefined {
  const t = predicateOf(vsa).timeVerified;
  const d = typeof t === 'string' ? new Date(t) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}

/** The policy a VSA was decided under. */
export function vsaPolicyDigest(vsa: Evidence): string | undefined {
  const p = predicateOf(vsa).policy;
  const sha = isPlainObject(p) && isPlainObject(p.digest) ? p.digest.sha256 : undefined;
  return typeof sha === 'string' ? sha : undefined;
}

/** The attestation ids a VSA cites as its inputs. */
export function vsaInputs(vsa: Evidence): string[] {
  const inputs = predicateOf(vsa).inputAttestations;
  if (!Array.isArray(inputs)) return [];
  return inputs.flatMap((i) => {
    const sha = isPlainObject(i) && isPlainObject(i.digest) ? i.digest.sha256 : undefined;
    return typeof sha === 'string' ? [sha] : [];
  });
}

export interface SignedDeployment {
  attestationId: string;
  environment: string;
  /** The VSA attestation the deployment was made under. */
  verdictAttestationId: string;
  deployedAt: Date;
}

/** A verified deployment of `digest` signed through waybill by a deployer, or undefined. */
export function signedDeployment(e: Evidence, digest: string, issuer: string): SignedDeployment | undefined {
  if (e.predicateType !== DEPLOYMENT_V1 || !ownSigned(e, issuer) || !e.subjects.includes(digest)) return undefined;
  const p = predicateOf(e);
  const verdict = isPlainObject(p.verdict) && isPlainObject(p.verdict.digest) ? p.verdict.digest.sha256 : undefined;
  const deployedAt = typeof p.deployedAt === 'string' ? new Date(p.deployedAt) : undefined;
  if (!e.environment || typeof verdict !== 'string' || !deployedAt || Number.isNaN(deployedAt.getTime()))
    return undefined;
  return { attestationId: e.id, environment: e.environment, verdictAttestationId: verdict, deployedAt };
}

export interface SignedException {
  attestationId: string;
  original: string;
  rebuild: string;
  environment: string;
  requestedBy: string;
  approvers: string[];
  expiresAt: Date;
  checklist: Array<{ item: string; ok: boolean }>;
}

/** A verified rebuild exception waybill signed as the verifier, or undefined. */
export function signedException(e: Evidence, issuer: string): SignedException | undefined {
  if (e.predicateType !== REBUILD_EXCEPTION_V1 || !ownSigned(e, issuer, waybillUris(issuer).verifier)) return undefined;
  const p = predicateOf(e);
  const strings = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  const approvers = strings(p.approvers);
  const expiresAt = typeof p.expiresAt === 'string' ? new Date(p.expiresAt) : undefined;
  const checklist = Array.isArray(p.checklist)
    ? p.checklist.flatMap((c) =>
        isPlainObject(c) && typeof c.item === 'string' && typeof c.ok === 'boolean' ? [{ item: c.item, ok: c.ok }] : [],
      )
    : [];
  if (
    typeof p.original !== 'string' ||
    typeof p.rebuild !== 'string' ||
    typeof p.requestedBy !== 'string' ||
    !e.environment ||
    !approvers ||
    !expiresAt ||
    Number.isNaN(expiresAt.getTime())
  ) {
    return undefined;
  }
  return {
    attestationId: e.id,
    original: p.original,
    rebuild: p.rebuild,
    environment: e.environment,
    requestedBy: p.requestedBy,
    approvers,
    expiresAt,
    checklist,
  };
}
