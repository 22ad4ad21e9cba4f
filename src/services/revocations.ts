// Revocation: an attestation that should no longer count (a test run later found broken, a
// build from a compromised runner) is revoked by a signed, logged revocation statement that
// waybill signs as its verifier, naming who asked and why. Verdicts read revocations with the
// evidence (src/policy/revocations.ts); nothing is deleted, so every earlier decision stays provable.
import { AppError } from '../errors.ts';
import { isPlainObject } from '../intoto/fields.ts';
import { REVOCATION_V1, revocationStatement, waybillUris } from '../intoto/waybill.ts';
import type { AttestationRecord, AttestationRepo } from '../storage/attestation-repo.ts';
import { jcs, sha256hex } from '../util/encoding.ts';
import type { AttestService, Signed } from './attest.ts';
import type { Caller } from './tokens.ts';

/** A revocation as the artifact view shows it. */
export interface RevocationView {
  /** The revocation attestation. */
  id: string;
  /** The revoked attestation. */
  attestationId: string;
  reason: string;
  revokedBy: string;
  revokedAt: string;
}

export class RevocationService {
  readonly #attest: AttestService;
  readonly #attestations: AttestationRepo;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: { attest: AttestService; attestations: AttestationRepo; issuer: string; now?: () => Date }) {
    this.#attest = opts.attest;
    this.#attestations = opts.attestations;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Revoke attestation `id`: an admin, or the identity that signed it, may (or whom the caller `authorized`). */
  async revoke(id: string, reason: string, caller: Caller, opts: { authorized?: boolean } = {}): Promise<Signed> {
    const record = await this.#attest.get(id);
    if (!record) throw new AppError('NOT_FOUND', 'no attestation with that id');
    if (record.predicateType === REVOCATION_V1) {
      throw new AppError('VALIDATION_FAILED', 'a revocation cannot be revoked', {
        errors: [{ path: '/id', message: 'names a revocation' }],
      });
    }
    const own = caller.subject === record.signer.subject && (caller.issuer ?? this.#issuer) === record.signer.issuer;
    if (!own && !opts.authorized && !caller.roles.includes('admin')) {
      throw new AppError(
        'FORBIDDEN',
        `only an admin or the attestation's signer (${record.signer.subject}) may revoke it`,
      );
    }
    const existing = (await this.#revocationsAbout(record)).find((r) => r.attestationId === id);
    if (existing) {
      const when = `at ${existing.revokedAt} by ${existing.revokedBy}`;
      throw new AppError('CONFLICT', `attestation ${id} was already revoked ${when} (revocation ${existing.id})`);
    }
    const statement = revocationStatement({
      issuer: this.#issuer,
      revoked: { id, statementSha256: sha256hex(jcs(record.statement)), predicateType: record.predicateType },
      subjects: subjectsOf(record),
      reason,
      revokedBy: caller.subject,
      revokedAt: this.#now(),
    });
    return this.#attest.sign(statement, waybillUris(this.#issuer).verifier, { environment: null });
  }

  /** The revocations (signed by waybill) of attestations about `digest`, oldest first. */
  async about(digest: string): Promise<RevocationView[]> {
    const rows = await this.#attestations.about(digest, { predicateTypes: [REVOCATION_V1] });
    return rows
      .flatMap((r) => {
        const v = this.#view(r);
        return v ? [v] : [];
      })
      .sort((a, b) => a.revokedAt.localeCompare(b.revokedAt));
  }

  async #revocationsAbout(record: AttestationRecord): Promise<RevocationView[]> {
    const digest = record.subjects[0]?.digest;
    return digest ? this.about(digest) : [];
  }

  #view(r: AttestationRecord): RevocationView | undefined {
    if (r.origin !== 'signed' || r.signer.subject !== waybillUris(this.#issuer).verifier) return undefined;
    if (r.signer.issuer !== this.#issuer) return undefined;
    const p = isPlainObject(r.statement.predicate) ? r.statement.predicate : {};
    const revoked = isPlainObject(p.revoked) ? p.revoked.id : undefined;
    if (typeof revoked !== 'string') return undefined;
    return {
      id: r.id,
      attestationId: revoked,
      reason: typeof p.reason === 'string' ? p.reason : '',
      revokedBy: typeof p.revokedBy === 'string' ? p.revokedBy : '',
      revokedAt: r.createdAt,
    };
  }
}

/** The revoked statement's subjects, as signed (name and digest set). */
function subjectsOf(record: AttestationRecord): Array<{ name?: string; digest: Record<string, string> }> {
  const subjects = (record.statement as { subject?: unknown }).subject;
  const out: Array<{ name?: string; digest: Record<string, string> }> = [];
  for (const s of Array.isArray(subjects) ? subjects : []) {
    if (!isPlainObject(s) || !isPlainObject(s.digest)) continue;
    const digest = Object.fromEntries(Object.entries(s.digest).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >;
    if (Object.keys(digest).length === 0) continue;
    out.push(typeof s.name === 'string' && s.name.length > 0 ? { name: s.name, digest } : { digest });
  }
  if (out.length > 0) return out;
  return record.subjects.map((s) => ({ digest: { [s.digest.split(':')[0]!]: s.digest.split(':')[1]! } }));
}
