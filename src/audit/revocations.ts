// Revocations in an evidence pack: waybill's signed statements that an attestation no longer
// counts. A verdict made before a revocation still holds as of its time (the report says the
// evidence was revoked later); a verdict that cites evidence revoked before it was made is a problem.
import { type Item, isObject, type PackContext, str, time } from './context.ts';
import type { PackReport } from './report.ts';
import { inputIds } from './steps.ts';

export const REVOCATION_V1 = 'https://waybill.dev/revocation/v1';

export function checkRevocations(c: PackContext): PackReport['revocations'] {
  const out: PackReport['revocations'] = [];
  const verifierSubject = `${c.issuer}/verifier`;
  const revokedAt = new Map<string, { at: number; revocation: Item }>();
  for (const item of c.items.values()) {
    if (item.a.role !== 'revocation' || !item.statement) continue;
    if (item.a.origin !== 'signed' || item.a.signer.subject !== verifierSubject) {
      c.problem(
        item,
        `a revocation must be signed by waybill itself (${verifierSubject}), not ${item.a.signer.subject}`,
      );
      continue;
    }
    const p = item.predicate;
    const revoked = isObject(p.revoked) ? str(p.revoked.id) : undefined;
    if (revoked === undefined || item.integratedTime === null) {
      c.problem(item, 'the revocation names no revoked attestation id or has no log time');
      continue;
    }
    const target = c.items.get(revoked);
    const at = item.integratedTime * 1000;
    const reason = str(p.reason) ?? '';
    const revokedBy = str(p.revokedBy) ?? '';
    out.push({
      id: item.a.id,
      attestationId: revoked,
      role: target?.a.role ?? null,
      reason,
      revokedBy,
      at: new Date(at).toISOString(),
    });
    if (!target) {
      item.report.notes.push(`revokes ${revoked}, which is not in the pack`);
      continue;
    }
    target.report.notes.push(
      `revoked at ${new Date(at).toISOString()} by ${revokedBy}: ${reason} (revocation ${item.a.id})`,
    );
    const seen = revokedAt.get(revoked);
    if (!seen || seen.at > at) revokedAt.set(revoked, { at, revocation: item });
  }
  // Each verdict as of its own time: the log time has whole seconds, so only a revocation at
  // least a second before the verdict was certainly in force when the verdict was made.
  for (const v of c.items.values()) {
    if (v.a.role !== 'verdict' || !v.statement) continue;
    const verifiedAt = time(v.predicate.timeVerified);
    if (verifiedAt === undefined) continue;
    for (const id of inputIds(v)) {
      const r = revokedAt.get(id);
      if (!r) continue;
      const label = `${c.items.get(id)?.a.role ?? 'attestation'} ${id}`;
      if (r.at + 1000 <= verifiedAt)
        c.problem(v, `the verdict cites ${label}, revoked at ${new Date(r.at).toISOString()}, before the verdict`);
      else
        v.report.notes.push(
          `cites ${label}, revoked after the verdict (at ${new Date(r.at).toISOString()}): it held as of its time`,
        );
    }
  }
  return out;
}
