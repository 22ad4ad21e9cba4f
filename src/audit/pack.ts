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
  'revocation',
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

type PackLogEntry = PackAttestation['logEntry'];

/**
 * The log entry a pack carries for a bundle: the bundle's own entry when it carries this log's
 * entry (its SET as the log signed it at integration, with the key in service then), else the
 * entry as the log serves it now (a bundle signed elsewhere, whose waybill SET is not kept); in
 * both cases with `proof`, the inclusion proof against the pack's checkpoint. A pack made after a
 * log-key rotation therefore never re-signs an old entry that has its own SET.
 */
export function packLogEntry(
  bundle: unknown,
  served: PackLogEntry,
  proof: PackLogEntry['inclusionProof'],
): PackLogEntry {
  const entries = (bundle as { verificationMaterial?: { tlogEntries?: unknown } } | null)?.verificationMaterial
    ?.tlogEntries;
  // Protobuf JSON leaves out zero values: the entry at index 0 has no logIndex field.
  const own = (Array.isArray(entries) ? (entries as Partial<PackLogEntry>[]) : []).find(
    (t) =>
      (t.logIndex ?? '0') === served.logIndex &&
      t.integratedTime === served.integratedTime &&
      t.canonicalizedBody === served.canonicalizedBody &&
      typeof t.logId?.keyId === 'string' &&
      typeof t.inclusionPromise?.signedEntryTimestamp === 'string' &&
      t.kindVersion !== undefined,
  );
  const base = own
    ? {
        logIndex: served.logIndex,
        logId: { keyId: own.logId!.keyId },
        kindVersion: { kind: own.kindVersion!.kind, version: own.kindVersion!.version },
        integratedTime: served.integratedTime,
        inclusionPromise: { signedEntryTimestamp: own.inclusionPromise!.signedEntryTimestamp },
        canonicalizedBody: served.canonicalizedBody,
      }
    : served;
  return {
    logIndex: base.logIndex,
    logId: base.logId,
    kindVersion: base.kindVersion,
    integratedTime: base.integratedTime,
    inclusionPromise: base.inclusionPromise,
    inclusionProof: proof,
    canonicalizedBody: base.canonicalizedBody,
  };
}
