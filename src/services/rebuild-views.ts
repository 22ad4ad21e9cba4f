// What the rebuild service answers: relations between digests, an exception as the API and the UI
// show it, a signed rejection; and the request an exception row stands for.
import { AppError } from '../errors.ts';
import type { ExceptionRequest } from '../intoto/waybill.ts';
import type { ChecklistResult } from '../rebuild/index.ts';
import type { ExceptionRow } from '../storage/exception-repo.ts';

export interface Relation {
  digest: string;
  name: string;
  source: { uri: string; digest: string };
  provenanceId: string;
  firstSeen: string;
}

export interface ExceptionView extends ExceptionRequest {
  id: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
  approvers: string[];
  minApprovals: number;
  expiresAt: string | null;
  createdAt: string;
  attestationId: string | null;
  summary: string;
  checklist: ChecklistResult[];
  bundle?: unknown;
}

/** A signed rejection of an exception, as the inbox shows it. */
export interface RejectionView {
  /** The rejection attestation. */
  id: string;
  rejectedBy: string;
  reason: string;
  rejectedAt: string;
  logIndex: number;
}

export function requestOf(row: ExceptionRow): ExceptionRequest {
  const { original, rebuild, environment, reason, ticket, requestedBy, acceptedBuilderDependencies } = row;
  // Signed into the exception only when some are accepted, so earlier exceptions keep their shape.
  const accepted = acceptedBuilderDependencies.length > 0 ? { acceptedBuilderDependencies } : {};
  return { original, rebuild, environment, reason, ticket, requestedBy, ...accepted };
}

// An exception cursor is `<created at>|<id>` of the last one shown.
export function decodeExceptionCursor(cursor: string | undefined): { createdAt: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [at, id] = cursor.split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw new AppError('VALIDATION_FAILED', 'invalid cursor', {
      errors: [{ path: '/cursor', message: 'not a cursor from a previous page' }],
    });
  }
  return { createdAt, id };
}
