// The rebuild checklist (DESIGN.md section 8): what a reviewer of a rebuild exception checks,
// computed from the provenance diff, the rebuild's own provenance and the exception. Each item
// says whether it holds and why; which items a policy requires, and how many approvals it
// wants, is the caller's business (RebuildPolicy.require / minApprovals).
import { REBUILD_REQUIREMENTS } from '../policy/types.ts';
import { displayImage } from './identity.ts';
import { type NormalizedDependency, normalizeProvenance, type StatementInput } from './normalize.ts';
import type { ProvenanceDiff } from './types.ts';

/** The checklist items are exactly what a policy's `rebuilds.require` may name. */
export const CHECKLIST_ITEMS = REBUILD_REQUIREMENTS;
export type ChecklistItem = (typeof CHECKLIST_ITEMS)[number];

export interface ChecklistResult {
  item: ChecklistItem;
  ok: boolean;
  detail: string;
}

export interface RebuildExceptionInput {
  reason: string;
  ticket?: string | null;
  requestedBy: string;
  approvers: readonly string[];
  /** Builder dependencies (by name) the exception accepts as changed. */
  acceptedBuilderDependencies?: readonly string[];
}

export interface ChecklistInput {
  diff: ProvenanceDiff;
  /** The rebuild's provenance statement (the diff's `b`). */
  newer: StatementInput;
  exception: RebuildExceptionInput;
  /** Whether the rebuild has a PASSED test result of its own (not borrowed from the original). */
  ownTests: boolean;
}

const LIST_MAX = 5;

function list(items: readonly string[]): string {
  const shown = items.slice(0, LIST_MAX).join(', ');
  return items.length > LIST_MAX ? `${shown}, +${items.length - LIST_MAX} more` : shown;
}

function describe(d: NormalizedDependency): string {
  const what =
    d.uri ??
    (typeof d.descriptor === 'object' && d.descriptor && 'name' in d.descriptor
      ? String(d.descriptor.name)
      : d.identity.name);
  return `${what} (${d.path})`;
}

function hasDigest(d: NormalizedDependency): boolean {
  return Object.keys(d.digest).length > 0;
}

/** Pinned when nothing is `loose`; otherwise the loose ones are named. */
function pinning(
  item: ChecklistItem,
  count: number,
  loose: readonly string[],
  say: { one: string; all: (n: number) => string; loose: (k: number, n: number) => string },
): ChecklistResult {
  if (loose.length === 0) return { item, ok: true, detail: count === 1 ? say.one : say.all(count) };
  return { item, ok: false, detail: `${say.loose(loose.length, count)}: ${list(loose)}` };
}

function pinnedDependencies(deps: readonly NormalizedDependency[]): ChecklistResult {
  const item = 'pinned-dependencies';
  // Fail closed: a provenance that records nothing cannot show that anything was pinned.
  if (deps.length === 0)
    return { item, ok: false, detail: 'the rebuild provenance records no dependencies, so pinning cannot be shown' };
  return pinning(item, deps.length, deps.filter((d) => !hasDigest(d)).map(describe), {
    one: 'the one recorded dependency is pinned by digest',
    all: (n) => `all ${n} recorded dependencies are pinned by digest`,
    loose: (k, n) =>
      `${k} of ${n} recorded ${n === 1 ? 'dependency' : 'dependencies'} ${k === 1 ? 'has' : 'have'} no digest`,
  });
}

function pinnedBaseImages(images: readonly NormalizedDependency[]): ChecklistResult {
  const item = 'pinned-base-images';
  if (images.length === 0) return { item, ok: true, detail: 'the rebuild provenance records no base images' };
  const tagOnly = images.filter((d) => !hasDigest(d) && !d.identity.image?.digest);
  return pinning(
    item,
    images.length,
    tagOnly.map((d) => `${displayImage(d.identity.image!)} (${d.path})`),
    {
      one: 'the one base image is pinned by digest',
      all: (n) => `all ${n} base images are pinned by digest`,
      loose: (k, n) =>
        `${k} of ${n} base ${n === 1 ? 'image' : 'images'} ${k === 1 ? 'is' : 'are'} referenced by tag only`,
    },
  );
}

function sameBuilder(
  diff: ProvenanceDiff,
  newer: ReturnType<typeof normalizeProvenance>,
  accepted: readonly string[] = [],
): ChecklistResult {
  const item = 'same-builder';
  const id = diff.builder.find((c) => c.field === 'id');
  const versions = diff.builder.filter((c) => c.field === 'version');
  const problems: string[] = [];
  if (id) problems.push(`builder id ${id.old ?? 'unset'} -> ${id.new ?? 'unset'}`);
  for (const c of versions) {
    if (c.kind === 'changed') problems.push(`version ${c.name} ${String(c.old)} -> ${String(c.new)}`);
    else if (c.kind === 'added')
      problems.push(`version ${c.name} ${String(c.new)} not recorded for the original build`);
    else problems.push(`version ${c.name} ${String(c.old)} not recorded for the rebuild`);
  }
  // A changed builder dependency fails the item unless the exception lists it as accepted.
  const changed = diff.builder.filter((c) => c.field === 'builderDependencies');
  const ok = changed.filter((c) => c.name !== undefined && accepted.includes(c.name));
  for (const c of changed) if (!ok.includes(c)) problems.push(`builder dependency ${c.name ?? '?'} ${c.kind}`);
  const deps = ok.length;
  const note = deps ? `; ${deps} builder ${deps === 1 ? 'dependency' : 'dependencies'} changed (accepted)` : '';
  if (problems.length) return { item, ok: false, detail: `${problems.join('; ')}${note}` };
  const builderId = newer.builder.id?.value ?? 'unset';
  const v = [...newer.builder.version].map(([k, l]) => `${k} ${l.value}`);
  return {
    item,
    ok: true,
    detail: `same builder ${builderId}${v.length ? ` (${v.join(', ')})` : ', version not recorded'}${note}`,
  };
}

function documentedReason(e: RebuildExceptionInput): ChecklistResult {
  const item = 'documented-reason';
  const reason = typeof e.reason === 'string' ? e.reason.trim() : '';
  const ticket = typeof e.ticket === 'string' ? e.ticket.trim() : '';
  if (reason && ticket) return { item, ok: true, detail: `reason given, ticket ${ticket}` };
  const missing = [reason ? '' : 'no reason', ticket ? '' : 'no ticket'].filter(Boolean).join(' and ');
  return { item, ok: false, detail: `the exception has ${missing}` };
}

/** People compare case-insensitively and trimmed: `Alice@example.com` and `alice@example.com` are one person. */
function person(id: string): string {
  return id.trim().toLowerCase();
}

function distinctApprovers(e: RebuildExceptionInput): ChecklistResult {
  const item = 'distinct-approvers';
  const approvers = [...e.approvers];
  if (approvers.length === 0) return { item, ok: false, detail: 'no approvals' };
  const problems: string[] = [];
  if (approvers.some((a) => person(a) === '')) problems.push('an approver is empty');
  const requester = person(e.requestedBy ?? '');
  const self = approvers.filter((a) => requester !== '' && person(a) === requester);
  if (self.length) problems.push(`the requester ${e.requestedBy} approved their own exception`);
  const seen = new Map<string, number>();
  for (const a of approvers) seen.set(person(a), (seen.get(person(a)) ?? 0) + 1);
  const twice = [...seen].filter(([p, n]) => n > 1 && p !== '').map(([p]) => p);
  if (twice.length) problems.push(`approved more than once by ${list(twice)}`);
  if (problems.length) return { item, ok: false, detail: problems.join('; ') };
  return {
    item,
    ok: true,
    detail:
      `${approvers.length} distinct ${approvers.length === 1 ? 'approver' : 'approvers'} ` +
      `other than the requester: ${list(approvers)}`,
  };
}

/**
 * The checklist for a rebuild exception, one result per item of CHECKLIST_ITEMS, in that order.
 * `diff` is diffProvenance(original, rebuild); `newer` is the rebuild's provenance.
 */
export function rebuildChecklist(input: ChecklistInput): ChecklistResult[] {
  const newer = normalizeProvenance(input.newer);
  const deps = newer.dependencies.filter((d) => d.identity.image === null);
  const images = newer.dependencies.filter((d) => d.identity.image !== null);
  const results: Record<ChecklistItem, ChecklistResult> = {
    'pinned-dependencies': pinnedDependencies(deps),
    'pinned-base-images': pinnedBaseImages(images),
    'same-builder': sameBuilder(input.diff, newer, input.exception.acceptedBuilderDependencies),
    'documented-reason': documentedReason(input.exception),
    'distinct-approvers': distinctApprovers(input.exception),
    'own-tests': input.ownTests
      ? { item: 'own-tests', ok: true, detail: 'the rebuild has a PASSED test result of its own' }
      : { item: 'own-tests', ok: false, detail: 'the rebuild has no PASSED test result of its own' },
  };
  return CHECKLIST_ITEMS.map((item) => results[item]);
}
