// The shapes the policy engine works on: a loaded Policy (one environment's file), the set of
// them with the promotion order, the evidence a decision is made on, and the Decision itself.
import type { CompiledCel } from './cel.ts';

export const REBUILD_REQUIREMENTS = [
  'pinned-dependencies',
  'pinned-base-images',
  'same-builder',
  'documented-reason',
  'distinct-approvers',
  'own-tests',
] as const;
export type RebuildRequirement = (typeof REBUILD_REQUIREMENTS)[number];

/** The name of the implicit rule that `after: <environment>` adds. */
export function deployedRuleName(environment: string): string {
  return `deployed-to-${environment}`;
}

export interface SignerRule {
  /** Exact issuer; `$self` in the file is already resolved to waybill's issuer URL. */
  readonly issuer: string | null;
  /** The anchored regular expression as written. */
  readonly subject: string | null;
  /** `subject` compiled; matched against the whole signer subject. */
  readonly subjectPattern: RegExp | null;
}

/** N of M named signers: evidence from at least `min` distinct identities matching `of`. */
export interface SignersRule {
  readonly min: number;
  /** Each with an exact issuer and a subject pattern (an exact subject is compiled to one). */
  readonly of: ReadonlyArray<{ readonly issuer: string; readonly subject: string; readonly subjectPattern: RegExp }>;
}

export interface Rule {
  readonly name: string;
  readonly predicateType: string;
  readonly signer: SignerRule | null;
  readonly signers: SignersRule | null;
  /** Only evidence recorded for this environment counts. */
  readonly environment: string | null;
  readonly where: CompiledCel | null;
  readonly maxAge: string | null;
  readonly maxAgeMs: number | null;
  /** The rule holds when NO evidence matches. */
  readonly absent: boolean;
  /** Under an approved rebuild exception, the original's evidence may satisfy this rule. */
  readonly transferable: boolean;
}

export interface RebuildPolicy {
  readonly allowWithException: boolean;
  /** Who may approve an exception (issuer exact, subject exact or ^pattern$); null: any approver token. */
  readonly approvers: SignersRule['of'] | null;
  readonly minApprovals: number;
  readonly require: readonly RebuildRequirement[];
}

export interface Policy {
  readonly environment: string;
  /** The environment the digest must have been deployed to first. */
  readonly after: string | null;
  readonly verdictTtl: string;
  readonly verdictTtlMs: number;
  readonly rules: readonly Rule[];
  readonly rebuilds: RebuildPolicy;
  /** The file it was read from, as given to the loader. */
  readonly file: string;
  /** The file's text as loaded (what `digest` is the hash of), for evidence packs. */
  readonly content: string;
  /** SHA-256 of the file's bytes, for the VSA's `policy.digest`. */
  readonly digest: { readonly sha256: string };
  /** `<issuer>/policies/<environment>.yaml`, for the VSA's `policy.uri`. */
  readonly uri: string;
}

export interface PolicySet {
  readonly policies: ReadonlyMap<string, Policy>;
  /** Promotion order: every environment after the one its `after` names; roots first. */
  readonly order: readonly string[];
}

/** One stored attestation as the engine sees it. */
export interface Evidence {
  /** The attestation id (hex SHA-256 of the DSSE envelope). */
  id: string;
  predicateType: string;
  /** The in-toto statement (v1 or v0.1). */
  statement: Readonly<Record<string, unknown>>;
  signer: { subject: string; issuer: string };
  /** The environment it was recorded for, if any. */
  environment: string | null;
  createdAt: Date;
  /** The statement's subject digests, normalised `alg:hex`. */
  subjects: readonly string[];
  /** Whether its bundle verified against waybill's trust material or an ingestion root. */
  verified: boolean;
  verifyError?: string;
  /** Set when a revocation that counts revokes it: it then never counts for a rule. */
  revocation?: EvidenceRevocation;
}

/** A signed revocation of a piece of evidence (src/policy/revocations.ts). */
export interface EvidenceRevocation {
  /** The revocation attestation. */
  id: string;
  reason: string;
  revokedBy: string;
  /** When the log recorded the revocation. */
  at: Date;
}

export interface Deployment {
  environment: string;
  digest: string;
  /** The deployment attestation. */
  attestationId: string;
  createdAt: Date;
}

export interface EvaluationInput {
  /** `alg:hex`, e.g. `sha256:<64 hex>`. */
  digest: string;
  evidence: readonly Evidence[];
  /** Needed when the policy has `after`; missing means the history is unknown (deny). */
  deployments?: readonly Deployment[];
  /**
   * An approved, unexpired rebuild exception (the caller checked approval, expiry, scope and
   * the required checklist): rules marked `transferable`, and the implicit `after` rule, may be
   * satisfied by the original digest's evidence. The exception attestation is then cited.
   */
  exception?: RebuildException;
}

export interface RebuildException {
  /** The signed rebuild-exception attestation. */
  attestationId: string;
  /** The original digest whose history the rebuild borrows. */
  original: string;
  evidence: readonly Evidence[];
  deployments?: readonly Deployment[];
}

export interface RuleResult {
  name: string;
  satisfied: boolean;
  /** The attestations that satisfied it (none for an `absent` rule). */
  evidence: string[];
  reason?: string;
  /**
   * When it failed: the attestations that made it fail (what an `absent` rule found, the
   * candidates the rule rejected), so a deny cites what it was decided on.
   */
  rejected?: string[];
  /** The revocations of evidence it would otherwise have read (cited by the decision). */
  revoked?: string[];
}

export interface Decision {
  environment: string;
  digest: string;
  decision: 'allow' | 'deny';
  rules: RuleResult[];
  /**
   * Every attestation a satisfied rule used, once, in rule order; for a deny, first what made the
   * failing rules fail; then the revocations of evidence a rule would otherwise have read.
   */
  inputAttestations: string[];
  /** One line per unsatisfied rule (or the reason nothing was evaluated). */
  reasons: string[];
  /** The policy evaluated; absent when none was (unknown environment, storage error). */
  policy?: { uri: string; digest: { sha256: string } };
}
