// What `audit verify` reports about an evidence pack: per step, per attestation, and every problem.

export interface StepEvent {
  /** Attestation id. */
  id: string;
  /** Who signed it (the verified certificate SAN), when known. */
  signer: string | null;
  /** verdict: the VSA's timeVerified; deployment: its deployedAt (as signed). */
  at: string | null;
  /** Index in waybill's transparency log. */
  logIndex: number | null;
}

export interface StepReport {
  environment: string;
  /** The digest the step's deployment is about. */
  digest: string | null;
  verdict: StepEvent;
  deployment: StepEvent;
  /** The rebuild exception attestation id the step relied on, if any. */
  exception: string | null;
}

export interface AttestationReport {
  id: string;
  role: string;
  environment: string | null;
  predicateType: string | null;
  ok: boolean;
  /** The verified signer (certificate SAN); for an ingested bundle, the signer waybill recorded. */
  signer: string | null;
  /** True for a bundle signed outside waybill: its signing chain is not checked offline (see docs/audit.md). */
  externallySigned: boolean;
  logIndex: number | null;
  /** When waybill's log integrated the entry (RFC 3339). */
  integratedTime: string | null;
  /** The subject sha256 digests of the signed statement (`sha256:<hex>`). */
  subjects: string[];
  problems: string[];
  /** Facts that are not problems (what was not checked, what was borrowed). */
  notes: string[];
}

export interface PackReport {
  ok: boolean;
  digest: string | null;
  environment: string | null;
  issuer: string | null;
  generatedAt: string | null;
  /** Where the trust came from: the root given to the verifier, or only the pack's own. */
  trustedRoot: 'given' | 'pack';
  checkpoint: { origin: string; size: number; rootHash: string; verified: boolean } | null;
  steps: StepReport[];
  /** Bundles about an original digest that count for this one only under a cited exception. */
  borrowed: Array<{ original: string; exception: string; attestations: string[] }>;
  attestations: AttestationReport[];
  /** waybill's revocations in the pack: what no longer counts, since when, why. */
  revocations: Array<{
    /** The revocation attestation. */
    id: string;
    /** The revoked attestation, and its role when the pack holds it. */
    attestationId: string;
    role: string | null;
    reason: string;
    revokedBy: string;
    /** When the log recorded the revocation (RFC 3339). */
    at: string;
  }>;
  /** Every problem found, the attestation ones included (prefixed with the bundle they concern). */
  problems: string[];
}

export interface VerifyPackOptions {
  /** A TrustedRoot obtained independently of the pack; the pack's must then be the same. */
  trustedRoot?: unknown;
}
