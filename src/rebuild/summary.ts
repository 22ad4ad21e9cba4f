// The one-line summary and the kinds of a provenance diff, e.g.
//   dependency drift: 1 package changed (lodash 4.17.20 -> 4.17.21); base image node:20 moved
//   to sha256:1234abcd5678; builder same; metadata only otherwise

import { shortDigest, shortRepository } from './identity.ts';
import type { DepChange, ImageChange, ProvenanceDiff, RebuildKind } from './types.ts';

type DiffBody = Omit<ProvenanceDiff, 'summary' | 'kinds'>;

const LIST_MAX = 3;
/** Metadata entries that only record the format change. */
const FORMAT_FIELDS = new Set(['predicateType', 'buildType']);

function list(items: readonly string[]): string {
  const shown = items.slice(0, LIST_MAX).join(', ');
  return items.length > LIST_MAX ? `${shown}, +${items.length - LIST_MAX} more` : shown;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A JSON value, short: strings unquoted, anything longer than 40 characters cut. */
function short(value: unknown): string {
  const s = value === null || value === undefined ? 'unset' : typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

const COMMIT_ALGORITHMS = ['gitCommit', 'sha1'];

function commitOf(digest: Record<string, string> | null): string | undefined {
  const alg = COMMIT_ALGORITHMS.find((a) => digest?.[a]);
  return alg ? digest![alg]!.slice(0, 7) : undefined;
}

function withVersion(display: string, version: string | null): string {
  return version ? `${display} ${version}` : display;
}

function depItem(c: DepChange): string {
  if (c.kind === 'added' || c.kind === 'unpinned') return withVersion(c.display, c.newVersion);
  if (c.kind === 'removed') return withVersion(c.display, c.oldVersion);
  if (c.fields.includes('version'))
    return `${c.display} ${c.oldVersion ?? 'unversioned'} -> ${c.newVersion ?? 'unversioned'}`;
  if (c.fields.includes('digest')) {
    const [from, to] = [commitOf(c.oldDigest), commitOf(c.newDigest)];
    if (from && to) return `${withVersion(c.display, c.newVersion)} ${from} -> ${to}`;
    const digests = Object.keys(c.newDigest ?? {}).length === 0 ? 'digest dropped' : 'new digest';
    return `${withVersion(c.display, c.newVersion)} (${digests})`;
  }
  return `${withVersion(c.display, c.newVersion)} (${c.fields.join(', ')})`;
}

function tagged(c: ImageChange, side: 'old' | 'new'): string {
  const tag = side === 'old' ? c.oldTag : c.newTag;
  return `${shortRepository(c.name)}${tag ? `:${tag}` : ''}`;
}

/** The same tag at another digest (both pinned). */
function isMove(c: ImageChange): boolean {
  return (
    c.kind === 'changed' &&
    c.fields.includes('digest') &&
    !c.fields.includes('tag') &&
    c.oldDigest !== null &&
    c.newDigest !== null
  );
}

function imageParts(images: readonly ImageChange[]): string[] {
  const parts: string[] = [];
  const changed = images.filter((c) => c.kind === 'changed');
  const moved = changed.filter(isMove);
  const retagged = changed.filter((c) => c.fields.includes('tag'));
  // A digest dropped shows as "by tag only" below.
  const pinned = changed.filter(
    (c) => c.fields.includes('digest') && !c.fields.includes('tag') && c.oldDigest === null,
  );
  const other = changed.filter((c) => !c.fields.includes('digest') && !c.fields.includes('tag'));
  if (moved.length === 1) {
    const c = moved[0]!;
    parts.push(`base image ${tagged(c, 'new')} moved to ${shortDigest(c.newDigest!)}`);
  } else if (moved.length > 1) {
    parts.push(`${moved.length} base images moved (${list(moved.map((c) => tagged(c, 'new')))})`);
  }
  for (const c of retagged.slice(0, LIST_MAX)) parts.push(`base image ${tagged(c, 'old')} -> ${tagged(c, 'new')}`);
  if (retagged.length > LIST_MAX) parts.push(`${retagged.length - LIST_MAX} more base images retagged`);
  if (pinned.length)
    parts.push(`${count(pinned.length, 'base image')} now pinned (${list(pinned.map((c) => c.newRef ?? c.name))})`);
  if (other.length)
    parts.push(
      `${count(other.length, 'base image reference')} rewritten (${list(other.map((c) => tagged(c, 'new')))})`,
    );
  const added = images.filter((c) => c.kind === 'added');
  const removed = images.filter((c) => c.kind === 'removed');
  if (added.length)
    parts.push(`${count(added.length, 'base image')} added (${list(added.map((c) => c.newRef ?? c.name))})`);
  if (removed.length)
    parts.push(`${count(removed.length, 'base image')} removed (${list(removed.map((c) => c.oldRef ?? c.name))})`);
  const tagOnly = images.filter((c) => c.kind === 'tag-only');
  if (tagOnly.length === 1) {
    const c = tagOnly[0]!;
    parts.push(`base image ${tagged(c, 'new')} by tag only (${c.oldDigest ? 'digest dropped' : 'no digest'})`);
  } else if (tagOnly.length > 1)
    parts.push(`${tagOnly.length} base images by tag only (${list(tagOnly.map((c) => tagged(c, 'new')))})`);
  return parts;
}

function builderPart(diff: DiffBody): string {
  const segs: string[] = [];
  const id = diff.builder.find((c) => c.field === 'id');
  // Builder ids differ at the end (github-hosted, self-hosted): not shortened.
  if (id) segs.push(`id changed (${String(id.old ?? 'unset')} -> ${String(id.new ?? 'unset')})`);
  const versions = diff.builder.filter((c) => c.field === 'version');
  if (versions.length)
    segs.push(`version changed (${list(versions.map((c) => `${c.name} ${short(c.old)} -> ${short(c.new)}`))})`);
  const deps = diff.builder.filter((c) => c.field === 'builderDependencies');
  if (deps.length) segs.push(`${count(deps.length, 'dependency', 'dependencies')} changed`);
  const ext = diff.builder.filter((c) => c.field === 'extension');
  if (ext.length) segs.push(`${list(ext.map((c) => c.name))} changed`);
  return segs.length ? `builder ${segs.join(', ')}` : 'builder same';
}

function parametersPart(diff: DiffBody): string | undefined {
  const p = diff.parameters;
  if (p.length === 0) return undefined;
  if (p.length === 1) {
    const c = p[0]!;
    if (c.kind === 'added') return `parameter ${c.name} added (${short(c.new)})`;
    if (c.kind === 'removed') return `parameter ${c.name} removed (was ${short(c.old)})`;
    return `parameter ${c.name} changed (${short(c.old)} -> ${short(c.new)})`;
  }
  return `${p.length} parameters changed (${list(p.map((c) => c.name))})`;
}

function kindsOf(diff: DiffBody, formatChange: boolean, substantive: boolean, metadataChanged: boolean): RebuildKind[] {
  const kinds: RebuildKind[] = [];
  const anything = substantive || metadataChanged || formatChange;
  if (!anything) kinds.push('identical');
  if (!substantive && (metadataChanged || formatChange)) kinds.push('metadata-only');
  if (formatChange) kinds.push('format-change');
  if (diff.dependencies.some((c) => c.kind !== 'unpinned')) kinds.push('dependency-drift');
  if (diff.dependencies.some((c) => c.kind === 'unpinned')) kinds.push('unpinned-dependencies');
  const images = diff.baseImages.filter((c) => c.kind === 'changed');
  if (images.some(isMove)) kinds.push('base-image-moved');
  const droppedDigest = (c: ImageChange) =>
    c.fields.includes('digest') && !c.fields.includes('tag') && c.newDigest === null;
  if (
    images.some((c) => !isMove(c) && !droppedDigest(c)) ||
    diff.baseImages.some((c) => c.kind === 'added' || c.kind === 'removed')
  ) {
    kinds.push('base-image-changed');
  }
  if (diff.baseImages.some((c) => c.kind === 'tag-only')) kinds.push('base-image-tag-only');
  if (diff.builder.some((c) => c.field === 'id')) kinds.push('builder-id-changed');
  if (diff.builder.some((c) => c.field === 'version' || c.field === 'extension')) kinds.push('builder-version-changed');
  if (diff.builder.some((c) => c.field === 'builderDependencies')) kinds.push('builder-dependencies-changed');
  if (diff.parameters.length) kinds.push('parameters-changed');
  return kinds;
}

export function summarize(diff: DiffBody): { summary: string; kinds: RebuildKind[] } {
  const formatChange = diff.formats.a !== diff.formats.b;
  const depChanges = diff.dependencies.filter((c) => c.kind !== 'unpinned');
  const unpinned = diff.dependencies.filter((c) => c.kind === 'unpinned');
  const imageChanges = diff.baseImages.filter((c) => c.kind !== 'tag-only');
  const metadataNames = diff.metadata.map((c) => c.name).filter((n) => !(formatChange && FORMAT_FIELDS.has(n)));
  const substantive = depChanges.length + imageChanges.length + diff.builder.length + diff.parameters.length > 0;
  const kinds = kindsOf(diff, formatChange, substantive, metadataNames.length > 0);

  const parts: string[] = [];
  if (formatChange) parts.push(`${diff.formats.a} -> ${diff.formats.b} provenance`);
  const flags = [
    ...(unpinned.length
      ? [`${count(unpinned.length, 'dependency', 'dependencies')} unpinned (${list(unpinned.map(depItem))})`]
      : []),
    ...imageParts(diff.baseImages.filter((c) => c.kind === 'tag-only')),
  ];

  if (!substantive) {
    if (metadataNames.length === 0 && !formatChange && flags.length === 0)
      return { summary: 'identical: no differences', kinds };
    if (metadataNames.length) parts.push(`metadata only (${list(metadataNames)})`);
    else parts.push(formatChange ? 'same build' : 'no differences');
    parts.push(...flags);
    parts.push('dependencies, base images, builder and parameters same');
    return { summary: parts.join('; '), kinds };
  }

  if (depChanges.length) {
    const changed = depChanges.filter((c) => c.kind === 'changed');
    const added = depChanges.filter((c) => c.kind === 'added');
    const removed = depChanges.filter((c) => c.kind === 'removed');
    const segs: string[] = [];
    if (changed.length) segs.push(`${count(changed.length, 'package')} changed (${list(changed.map(depItem))})`);
    if (added.length) segs.push(`${added.length} added (${list(added.map(depItem))})`);
    if (removed.length) segs.push(`${removed.length} removed (${list(removed.map(depItem))})`);
    parts.push(`dependency drift: ${segs.join(', ')}`);
  }
  parts.push(...imageParts(imageChanges), ...flags);
  parts.push(builderPart(diff));
  const params = parametersPart(diff);
  if (params) parts.push(params);
  if (metadataNames.length) parts.push(params ? 'plus metadata' : 'metadata only otherwise');
  else if (!params) parts.push('nothing else');
  return { summary: parts.join('; '), kinds };
}
