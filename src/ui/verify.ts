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

/**
 * Reports already made, by what they are about: a deployment's chain, or a digest's attestations
 * as of its newest one. What a key names does not change once logged (attestations are immutable
 * and the log only grows), so a report stays good; it is redone after `ttlMs` all the same, so
 * that tampering with storage shows within minutes. Per app instance, bounded.
 */
export class ChainCache {
  readonly #entries = new Map<string, { at: number; report: Promise<PackReport | null> }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(opts: { ttlMs?: number; max?: number } = {}) {
    this.#ttlMs = opts.ttlMs ?? 5 * 60 * 1000;
    this.#max = opts.max ?? 1000;
  }

  /** The cached report for `key`, or `compute`'s (a failure is not kept). */
  get(key: string, compute: () => Promise<PackReport | null>): Promise<PackReport | null> {
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.#ttlMs) return hit.report;
    const report = compute();
    this.#entries.delete(key);
    this.#entries.set(key, { at: now, report });
    report.catch(() => this.#entries.delete(key));
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return report;
  }
}
