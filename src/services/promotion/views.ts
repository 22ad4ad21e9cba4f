// What the promotion endpoints answer: verdicts and deployments as views of their rows.
import type { Decision } from '../../policy/types.ts';
import type { DeploymentRow } from '../../storage/deployment-repo.ts';
import type { VerdictRow } from '../../storage/verdict-repo.ts';

/** The rebuild exception an allow relied on. */
export interface UsedException {
  id: string;
  attestationId: string;
  original: string;
}

/** The verdict's `result` column: what the decision said beyond allow or deny. */
export interface VerdictResult {
  rules: Decision['rules'];
  reasons: string[];
  policy: { uri: string; digest: { sha256: string } } | null;
  requestedBy: string;
  exception?: UsedException | null;
}

export interface VerdictView {
  id: string;
  digest: string;
  environment: string;
  decision: 'allow' | 'deny';
  rules: Decision['rules'];
  reasons: string[];
  policy: VerdictResult['policy'];
  /** The rebuild exception the allow relied on, if any. */
  exception: UsedException | null;
  createdAt: string;
  expiresAt: string | null;
  attestationId: string | null;
  bundle?: unknown;
}

export interface DeploymentView {
  id: string;
  digest: string;
  environment: string;
  verdictId: string;
  attestationId: string;
  deployer: string;
  createdAt: string;
  bundle?: unknown;
}

/** A verdict row as answered; `bundle` is the VSA's when given (a history lists none). */
export function verdictView(row: VerdictRow, bundle?: unknown): VerdictView {
  const result = row.result as VerdictResult;
  return {
    id: row.id,
    digest: row.digest,
    environment: row.environment,
    decision: row.decision,
    rules: result.rules,
    reasons: result.reasons,
    policy: result.policy,
    exception: result.exception ?? null,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    attestationId: row.vsaAttestationId,
    ...(bundle === undefined ? {} : { bundle }),
  };
}

export function deploymentView(row: DeploymentRow): DeploymentView {
  return {
    id: row.id,
    digest: row.digest,
    environment: row.environment,
    verdictId: row.verdictId,
    attestationId: row.attestationId,
    deployer: row.deployer,
    createdAt: row.createdAt.toISOString(),
  };
}
