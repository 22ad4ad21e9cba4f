// Kubernetes validating admission: may this pod (or pod template) run in this namespace? Every
// image must be pinned by digest and hold, for the namespace's environment, an unexpired allow
// verdict or a recorded deployment. Unknown namespaces and reviews that cannot be read are denied;
// an environment in audit mode is answered allowed, with warnings. Every decision is recorded.
import type { AdmissionEventRow, AdmissionRepo } from '../storage/admission-repo.ts';
import type { DeploymentRepo } from '../storage/deployment-repo.ts';
import type { VerdictRepo } from '../storage/verdict-repo.ts';
import { newId } from '../util/ids.ts';
import { type AdmissionConfig, type Enforcement, environmentOfNamespace } from './admission-config.ts';
import { type ReadReview, readReview } from './admission-review.ts';
import { decodeTimeCursor, encodeTimeCursor } from './time-cursor.ts';
import { type Emit, NO_EVENTS } from './webhooks.ts';

/** The AdmissionReview waybill answers (admission.k8s.io/v1). */
export interface AdmissionReviewResponse {
  apiVersion: string;
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason?: string; message: string };
    warnings?: string[];
  };
}

export interface ImageCheck {
  container: string;
  image: string;
  digest: string | null;
  /** Why it may not run, or null. */
  reason: string | null;
}

export interface AdmissionEvent {
  id: string;
  uid: string;
  namespace: string | null;
  environment: string | null;
  enforcement: Enforcement | null;
  operation: string | null;
  kind: string | null;
  name: string | null;
  decision: 'allow' | 'deny';
  allowed: boolean;
  images: ImageCheck[];
  message: string | null;
  caller: string;
  createdAt: string;
}

// The API server shows warnings to the user; it truncates long ones, so keep each readable.
const MAX_WARNING = 256;

export class AdmissionService {
  readonly #config: AdmissionConfig | undefined;
  readonly #verdicts: VerdictRepo;
  readonly #deployments: DeploymentRepo;
  readonly #events: AdmissionRepo;
  readonly #now: () => Date;
  readonly #emit: Emit;

  constructor(opts: {
    config: AdmissionConfig | undefined;
    verdicts: VerdictRepo;
    deployments: DeploymentRepo;
    admissions: AdmissionRepo;
    now?: () => Date;
    emit?: Emit;
  }) {
    this.#emit = opts.emit ?? NO_EVENTS;
    this.#config = opts.config;
    this.#verdicts = opts.verdicts;
    this.#deployments = opts.deployments;
    this.#events = opts.admissions;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Judge a review (any JSON value) and record the decision; the answer always carries the request's uid. */
  async review(body: unknown, caller: string): Promise<AdmissionReviewResponse> {
    const read = readReview(body);
    const now = this.#now();
    const judged = await this.#judge(read, now);
    const event = await this.#record(read, judged, caller, now);
    // Audit mode's "would deny" too (allowed: true says which it was).
    if (event.decision === 'deny') await this.#emit('admission.denied', event);
    return answer(read, judged);
  }

  /** A review that could not be judged because something failed inside waybill: denied, recorded if possible. */
  failed(body: unknown): AdmissionReviewResponse {
    const read = readReview(body);
    return answer(read, {
      decision: 'deny',
      allowed: false,
      message: 'waybill could not judge this review (internal error); denied',
      images: [],
      environment: null,
      enforcement: null,
    });
  }

  /** Recorded decisions, newest first; the cursor is `<createdAt ms>.<id>` of the page's last row. */
  async events(q: { cursor?: string | undefined; limit: number }): Promise<{
    items: AdmissionEvent[];
    nextCursor: string | null;
  }> {
    const { rows, next } = await this.#events.page(decodeTimeCursor(q.cursor, 'adm'), q.limit);
    return { items: rows.map(eventView), nextCursor: encodeTimeCursor(next) };
  }

  async #judge(read: ReadReview, now: Date): Promise<Judged> {
    const denied = (message: string, extra: Partial<Judged> = {}): Judged => ({
      decision: 'deny',
      allowed: false,
      message,
      images: [],
      environment: null,
      enforcement: null,
      ...extra,
    });
    if (read.problem) return denied(read.problem);
    if (read.operation === 'DELETE' || read.operation === 'CONNECT') {
      return { decision: 'allow', allowed: true, message: null, images: [], environment: null, enforcement: null };
    }
    if (!this.#config) return denied('waybill admission is not configured (WAYBILL_ADMISSION_CONFIG); denied');
    const target = environmentOfNamespace(this.#config, read.namespace!);
    if (!target) return denied(`namespace ${read.namespace} belongs to no waybill environment; denied`);
    const { environment, enforcement } = target;
    const pinned = [...new Set(read.images.flatMap((i) => (i.digest ? [i.digest] : [])))];
    const allowed = await this.#verdicts.allowedAmong(pinned, environment, now);
    const rest = pinned.filter((d) => !allowed.has(d));
    const deployed = await this.#deployments.deployedAmong(rest, environment);
    const images: ImageCheck[] = [];
    for (const i of read.images) {
      let reason: string | null = null;
      if (!i.digest) reason = 'not pinned by digest (use <image>@sha256:<digest>)';
      else if (!allowed.has(i.digest) && !deployed.has(i.digest)) {
        const elsewhere = await this.#verdicts.allowedEnvironments(i.digest, now);
        reason =
          `no unexpired allow verdict and no recorded deployment for ${environment}` +
          (elsewhere.length > 0 ? ` (allowed only in: ${elsewhere.join(', ')})` : '');
      }
      images.push({ ...i, reason });
    }
    const refused = images.filter((i) => i.reason);
    if (refused.length === 0) {
      return { decision: 'allow', allowed: true, message: null, images, environment, enforcement };
    }
    const lines = refused.map((i) => `${i.container} ${i.image}: ${i.reason}`);
    const where = `${read.kind} ${read.namespace}/${read.name ?? '?'} (${environment})`;
    return {
      decision: 'deny',
      allowed: enforcement === 'audit',
      message: `waybill ${enforcement === 'audit' ? 'would deny' : 'denies'} ${where}: ${lines.join('; ')}`,
      images,
      environment,
      enforcement,
      warnings:
        enforcement === 'audit'
          ? lines.map((l) => `waybill (audit, would deny): ${l}`.slice(0, MAX_WARNING))
          : undefined,
    };
  }

  async #record(read: ReadReview, j: Judged, caller: string, now: Date): Promise<AdmissionEvent> {
    const row = await this.#events.insert({
      id: newId('adm'),
      uid: read.uid,
      namespace: read.namespace,
      environment: j.environment,
      enforcement: j.enforcement,
      operation: read.operation,
      kind: read.kind,
      name: read.name,
      decision: j.decision,
      allowed: j.allowed,
      images: j.images,
      message: j.message,
      caller,
      createdAt: now,
    });
    return eventView(row);
  }
}

interface Judged {
  decision: 'allow' | 'deny';
  allowed: boolean;
  message: string | null;
  images: ImageCheck[];
  environment: string | null;
  enforcement: Enforcement | null;
  warnings?: string[] | undefined;
}

function answer(read: ReadReview, j: Judged): AdmissionReviewResponse {
  return {
    apiVersion: read.apiVersion,
    kind: 'AdmissionReview',
    response: {
      uid: read.uid,
      allowed: j.allowed,
      ...(!j.allowed ? { status: { code: 403, reason: 'Forbidden', message: j.message ?? 'denied' } } : {}),
      ...(j.warnings ? { warnings: j.warnings } : {}),
    },
  };
}

function eventView(row: AdmissionEventRow): AdmissionEvent {
  return {
    id: row.id,
    uid: row.uid,
    namespace: row.namespace,
    environment: row.environment,
    enforcement: row.enforcement,
    operation: row.operation,
    kind: row.kind,
    name: row.name,
    decision: row.decision,
    allowed: row.allowed,
    images: row.images as ImageCheck[],
    message: row.message,
    caller: row.caller,
    createdAt: row.createdAt.toISOString(),
  };
}
