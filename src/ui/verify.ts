// Verification for the pages, with the same code as `waybill audit verify`: the digest's
// evidence pack (AuditService) is checked by src/audit/verify.ts under the server's trusted root.
import { type PackReport, verifyPackSync } from '../audit/verify.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';

export type Verifiable = Pick<Deps, 'audit' | 'trustedRoot'>;

/** The pack report for a digest (up to `environment`), or null when there is nothing to pack. */
export async function verifiedChain(
  deps: Verifiable,
  digest: string,
  environment: string | null = null,
): Promise<PackReport | null> {
  try {
    const pack = await deps.audit.artifactPack(digest, environment);
    return verifyPackSync(pack, { trustedRoot: deps.trustedRoot });
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') return null;
    throw err;
  }
}
