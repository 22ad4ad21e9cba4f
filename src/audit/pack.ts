// The evidence pack: one JSON document an auditor can check on an air-gapped machine. It holds
// the trust material, one signed checkpoint, every bundle of a digest's chain with its log entry
// and an inclusion proof against that checkpoint, the policy files the verdicts name, and a
// manifest of what the pack claims.

export const EVIDENCE_PACK_MEDIA_TYPE = 'application/vnd.waybill.evidence+json;version=0.1';

/** What an attestation is in a pack's chain. */
export const PACK_ROLES = [
  'provenance',
  'test-result',
  'verdict',
  'deployment',
  'rebuild-exception',
  'original-provenance',
  'other',
] as const;
export type PackRole = (typeof PACK_ROLES)[number];

export interface PackAttestation {
  /** Hex SHA-256 of the DSSE envelope JSON (waybill's attestation id). */
  id: string;
  role: PackRole;
  predicateType: string;
  /** The environment the attestation was recorded for, if any. */
  environment: string | null;
  signer: { subject: string; issuer: string };
  origin: 'signed' | 'ingested';
  /** The Sigstore bundle exactly as stored (serialized JSON form). */
  bundle: unknown;
  /** waybill's log entry for it, with an inclusion proof against `checkpoint`. */
  logEntry: {
    logIndex: string;
    logId: { keyId: string };
    kindVersion: { kind: string; version: string };
    integratedTime: string;
    inclusionPromise: { signedEntryTimestamp: string };
    inclusionProof: {
      logIndex: string;
      rootHash: string;
      treeSize: string;
      hashes: string[];
      checkpoint: { envelope: string };
    };
    canonicalizedBody: string;
  };
}

export interface PackStep {
  environment: string;
  /** The verdict (VSA) attestation that allowed the deployment. */
  verdict: string;
  /** The deployment attestation. */
  deployment: string;
  deployedAt: string;
  /** The rebuild exception the verdict cited, if any. */
  exception: string | null;
}

export interface EvidencePack {
  mediaType: typeof EVIDENCE_PACK_MEDIA_TYPE;
  generatedAt: string;
  issuer: string;
  trustedRoot: unknown;
  /** The latest signed checkpoint (C2SP signed note); every inclusion proof is against it. */
  checkpoint: string;
  manifest: {
    digest: string;
    /** Set for an environment pack: the environment the digest runs in now. */
    environment: string | null;
    /** The environments the digest passed through, in promotion order. */
    steps: PackStep[];
    provenance: string[];
    /** Test results by environment. */
    testResults: Record<string, string[]>;
    exceptions: string[];
    /** Originals a cited exception lets the digest borrow from, with their provenance. */
    originals: Array<{ digest: string; provenance: string[] }>;
  };
  attestations: PackAttestation[];
  /** The policy files the verdicts name: exact bytes (UTF-8) and their SHA-256. */
  policies: Array<{ uri: string; sha256: string; content: string }>;
}
