// Revocations as the policy engine reads them: a revocation counts only when it verified, is
// waybill's own (signed by its verifier identity under its issuer) and was logged at or before
// the time asked about. Pure: the evidence in, the evidence marked out.
import { isPlainObject } from '../intoto/fields.ts';
import { REVOCATION_V1 } from '../intoto/waybill.ts';
import type { Evidence, EvidenceRevocation } from './types.ts';

/** Who signs revocations: waybill's verifier identity under its issuer. */
export interface RevocationSigner {
  subject: string;
  issuer: string;
}

/** revoked attestation id -> the earliest revocation of it that counts at `asOf` (any time when omitted). */
export function revocationsIn(
  evidence: readonly Evidence[],
  signer: RevocationSigner,
  asOf?: Date,
): Map<string, EvidenceRevocation> {
  const out = new Map<string, EvidenceRevocation>();
  for (const e of evidence) {
    const r = revocationOf(e, signer);
    if (!r || (asOf && r.at.getTime() > asOf.getTime())) continue;
    const seen = out.get(r.revoked);
    if (!seen || seen.at.getTime() > r.at.getTime()) out.set(r.revoked, r.revocation);
  }
  return out;
}

/** A verified revocation waybill signed, or undefined. */
export function revocationOf(
  e: Evidence,
  signer: RevocationSigner,
): { revoked: string; at: Date; revocation: EvidenceRevocation } | undefined {
  if (e.predicateType !== REVOCATION_V1 || !e.verified) return undefined;
  if (e.signer.subject !== signer.subject || e.signer.issuer !== signer.issuer) return undefined;
  const p = isPlainObject(e.statement.predicate) ? e.statement.predicate : {};
  const revoked = isPlainObject(p.revoked) ? p.revoked.id : undefined;
  if (typeof revoked !== 'string' || Number.isNaN(e.createdAt.getTime())) return undefined;
  const revocation = {
    id: e.id,
    reason: typeof p.reason === 'string' ? p.reason : '',
    revokedBy: typeof p.revokedBy === 'string' ? p.revokedBy : '',
    at: e.createdAt,
  };
  return { revoked, at: e.createdAt, revocation };
}

/** The evidence with each revoked attestation marked (revocations themselves are kept as they are). */
export function markRevoked(evidence: readonly Evidence[], revocations: ReadonlyMap<string, EvidenceRevocation>) {
  return evidence.map((e) => {
    const revocation = revocations.get(e.id);
    return revocation && e.predicateType !== REVOCATION_V1 ? { ...e, revocation } : e;
  });
}
