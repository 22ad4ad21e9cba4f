// The shapes the workload-identity modules share: an issuer type, a verified CI identity, and
// the certificate extensions and provenance fields derived from its claims.
import type { ExtraExtension } from '../signing/leaf.ts';

export const ISSUER_TYPES = ['github-actions', 'gitlab', 'generic'] as const;
export type IssuerType = (typeof ISSUER_TYPES)[number];

/**
 * The Fulcio certificate fields of a CI identity (docs/oid-info.md in sigstore/fulcio), by name.
 * Absent when Fulcio's mapping for the issuer type has none, or the value is empty (Fulcio then
 * omits the extension too).
 */
export interface FulcioFields {
  buildSignerUri?: string;
  buildSignerDigest?: string;
  runnerEnvironment?: string;
  sourceRepositoryUri?: string;
  sourceRepositoryDigest?: string;
  sourceRepositoryRef?: string;
  sourceRepositoryIdentifier?: string;
  sourceRepositoryOwnerUri?: string;
  sourceRepositoryOwnerIdentifier?: string;
  buildConfigUri?: string;
  buildConfigDigest?: string;
  buildTrigger?: string;
  runInvocationUri?: string;
  sourceRepositoryVisibilityAtSigning?: string;
  deploymentEnvironment?: string;
  tokenSubject?: string;
}

/** A caller authenticated by an OIDC ID token: what its certificate and provenance need. */
export interface Workload {
  /** The token's `iss`: the certificate issuer (Fulcio extensions 1.1 and 1.8). */
  issuer: string;
  type: IssuerType;
  /** The token's `sub`. */
  tokenSubject: string;
  /** The certificate's URI SAN (GitHub: https://github.com/{job_workflow_ref}). */
  identity: string;
  /** The verified claims, as the token carried them. */
  claims: Readonly<Record<string, unknown>>;
  fields: FulcioFields;
  /** Every Fulcio extension of the leaf besides 1.1 and 1.8 (which the CA writes from `issuer`). */
  extensions: ExtraExtension[];
  /** The token's `exp`. */
  expiresAt: string;
}

/** Roles held for some environments (null: any), as one grant gives them. */
export interface RoleScope {
  roles: readonly string[];
  environments: readonly string[] | null;
}

/** What identity/ needs of a caller (services/tokens.ts `Caller` has these and more). */
export interface CallerScope {
  subject: string;
  /** The certificate issuer to sign with; null = waybill's own issuer. */
  issuer: string | null;
  /** The environments the caller may act for with any of its roles; null = unrestricted. */
  environments: readonly string[] | null;
  /**
   * Which roles hold for which environments, when that differs by role (a workload matching
   * several grants); absent: every role holds for `environments`.
   */
  scopes?: readonly RoleScope[] | undefined;
  workload?: Workload | undefined;
}
