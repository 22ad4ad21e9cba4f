// The difference between two SLSA provenances (v1 or v0.2, in any combination), sorted into
// dependencies, base images, builder, parameters and metadata (DESIGN.md section 8), with a
// one-line summary of what kind of rebuild it is. `a` is the older provenance, `b` the newer:
// "added" means present in b only, and the pinning flags (unpinned, tag-only) describe b.
import { displayImage, type ImageRef } from './identity.ts';
import { deepEqual, type JsonValue, json } from './json.ts';
import {
  type Located,
  type NormalizedDependency,
  type NormalizedProvenance,
  normalizeProvenance,
  type StatementInput,
  sameDigests,
} from './normalize.ts';
import { summarize } from './summary.ts';
import type {
  BuilderChange,
  DepChange,
  DescriptorField,
  ImageChange,
  MetadataChange,
  ParameterChange,
  ProvenanceDiff,
} from './types.ts';

type Dep = NormalizedDependency;

/**
 * Match entries of `a` to entries of `b` with the same identity: first identical ones, then the
 * same version (or tag) of the same variant, then the same variant, then the same name, each
 * stage in list order. The rest were removed from a or added in b.
 */
function pairUp(a: readonly Dep[], b: readonly Dep[], same: (x: Dep, y: Dep) => boolean) {
  const stages: Array<(x: Dep, y: Dep) => boolean> = [
    (x, y) => x.identity.variant === y.identity.variant && x.uri === y.uri && same(x, y),
    (x, y) => x.identity.variant === y.identity.variant && x.identity.version === y.identity.version,
    (x, y) => x.identity.variant === y.identity.variant,
    () => true,
  ];
  const group = (list: readonly Dep[]) => {
    const m = new Map<string, Dep[]>();
    for (const d of list) {
      const g = m.get(d.identity.name);
      if (g) g.push(d);
      else m.set(d.identity.name, [d]);
    }
    return m;
  };
  const groupA = group(a);
  const groupB = group(b);
  const pairs: Array<[Dep, Dep]> = [];
  const paired = new Set<Dep>();
  for (const [name, xs] of groupA) {
    const ys = groupB.get(name) ?? [];
    for (const stage of stages) {
      for (const x of xs) {
        if (paired.has(x)) continue;
        const y = ys.find((c) => !paired.has(c) && stage(x, c));
        if (!y) continue;
        pairs.push([x, y]);
        paired.add(x).add(y);
      }
    }
  }
  return { pairs, removed: a.filter((x) => !paired.has(x)), added: b.filter((y) => !paired.has(y)) };
}

/** Descriptor fields other than uri and digest that differ (annotations, mediaType, ...). */
function otherFields(x: Dep, y: Dep): string[] {
  const dx = (x.descriptor ?? {}) as Record<string, unknown>;
  const dy = (y.descriptor ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(dx), ...Object.keys(dy)])].filter((k) => k !== 'uri' && k !== 'digest');
  return keys.filter((k) => !deepEqual(dx[k] ?? null, dy[k] ?? null));
}

function depFields(x: Dep, y: Dep): DescriptorField[] {
  const fields: DescriptorField[] = [];
  if (x.identity.version !== y.identity.version) fields.push('version');
  else if (x.uri !== y.uri) fields.push('uri');
  if (!sameDigests(x.digest, y.digest)) fields.push('digest');
  return [...fields, ...otherFields(x, y)];
}

function depChange(
  kind: DepChange['kind'],
  x: Dep | undefined,
  y: Dep | undefined,
  fields: DescriptorField[] = [],
): DepChange {
  const id = (y ?? x)!.identity;
  return {
    kind,
    name: id.name,
    display: id.display,
    old: x ? x.descriptor : null,
    new: y ? y.descriptor : null,
    ...(x ? { pathA: x.path } : {}),
    ...(y ? { pathB: y.path } : {}),
    oldVersion: x?.identity.version ?? null,
    newVersion: y?.identity.version ?? null,
    fields,
    oldDigest: x ? x.digest : null,
    newDigest: y ? y.digest : null,
  };
}

/** Entries present in b first, in b's order; then entries only in a, in a's order. */
function sortByPath<T extends { pathA?: string; pathB?: string }>(changes: T[]): T[] {
  // Zero-pad array indices so that `/10` sorts after `/9`.
  const pad = (path: string) => path.replace(/\/(\d+)(?=\/|$)/g, (_, n: string) => `/${n.padStart(8, '0')}`);
  const keyed = changes.map((c, i) => ({
    c,
    i,
    key: c.pathB !== undefined ? `0${pad(c.pathB)}` : `1${pad(c.pathA ?? '')}`,
  }));
  keyed.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : x.i - y.i));
  return keyed.map((k) => k.c);
}

function diffDependencies(a: readonly Dep[], b: readonly Dep[]): DepChange[] {
  const { pairs, removed, added } = pairUp(a, b, (x, y) => sameDigests(x.digest, y.digest));
  const out: DepChange[] = [];
  for (const [x, y] of pairs) {
    const fields = depFields(x, y);
    if (fields.length) out.push(depChange('changed', x, y, fields));
  }
  for (const x of removed) out.push(depChange('removed', x, undefined));
  for (const y of added) out.push(depChange('added', undefined, y));
  const before = new Map(pairs.map(([x, y]) => [y, x]));
  for (const y of b) {
    if (Object.keys(y.digest).length === 0) out.push(depChange('unpinned', before.get(y), y));
  }
  return sortByPath(out);
}

/** The digest an image is pinned to: the descriptor's (sha256 preferred), else the reference's. */
function imageDigest(d: Dep): string | null {
  const algs = Object.keys(d.digest).sort((x, y) =>
    x === 'sha256' ? -1 : y === 'sha256' ? 1 : x < y ? -1 : x > y ? 1 : 0,
  );
  const alg = algs[0];
  if (alg !== undefined) return `${alg}:${d.digest[alg]!}`;
  return d.identity.image?.digest ?? null;
}

function imageRef(d: Dep): ImageRef {
  const image = d.identity.image!;
  return { repository: image.repository, tag: image.tag, digest: imageDigest(d) };
}

function imageChange(
  kind: ImageChange['kind'],
  x: Dep | undefined,
  y: Dep | undefined,
  fields: DescriptorField[] = [],
): ImageChange {
  const rx = x ? imageRef(x) : null;
  const ry = y ? imageRef(y) : null;
  return {
    kind,
    name: (ry ?? rx)!.repository,
    old: x ? x.descriptor : null,
    new: y ? y.descriptor : null,
    ...(x ? { pathA: x.path } : {}),
    ...(y ? { pathB: y.path } : {}),
    oldRef: rx ? displayImage(rx) : null,
    newRef: ry ? displayImage(ry) : null,
    oldTag: rx?.tag ?? null,
    newTag: ry?.tag ?? null,
    oldDigest: rx?.digest ?? null,
    newDigest: ry?.digest ?? null,
    fields,
  };
}

function sameImageDigest(x: Dep, y: Dep): boolean {
  // Descriptor digests compare as sets; a digest only in the reference compares as a string.
  if (Object.keys(x.digest).length > 0 && Object.keys(y.digest).length > 0) return sameDigests(x.digest, y.digest);
  return imageDigest(x) === imageDigest(y);
}

function diffImages(a: readonly Dep[], b: readonly Dep[]): ImageChange[] {
  const { pairs, removed, added } = pairUp(a, b, sameImageDigest);
  const out: ImageChange[] = [];
  for (const [x, y] of pairs) {
    const fields: DescriptorField[] = [];
    if (x.identity.version !== y.identity.version) fields.push('tag');
    else if (x.uri !== y.uri) fields.push('uri');
    if (!sameImageDigest(x, y)) fields.push('digest');
    fields.push(...otherFields(x, y));
    if (fields.length) out.push(imageChange('changed', x, y, fields));
  }
  for (const x of removed) out.push(imageChange('removed', x, undefined));
  for (const y of added) out.push(imageChange('added', undefined, y));
  const before = new Map(pairs.map(([x, y]) => [y, x]));
  for (const y of b) {
    if (imageDigest(y) === null) out.push(imageChange('tag-only', before.get(y), y));
  }
  return sortByPath(out);
}

/** added / removed / changed for two optional located values. */
function compare(
  x: Located | null | undefined,
  y: Located | null | undefined,
):
  | { kind: 'added' | 'removed' | 'changed'; old: JsonValue; new: JsonValue; pathA?: string; pathB?: string }
  | undefined {
  if (!x && !y) return undefined;
  if (x && y && deepEqual(x.value, y.value)) return undefined;
  return {
    kind: x && y ? 'changed' : x ? 'removed' : 'added',
    old: x ? json(x.value) : null,
    new: y ? json(y.value) : null,
    ...(x ? { pathA: x.path } : {}),
    ...(y ? { pathB: y.path } : {}),
  };
}

function compareMaps(
  a: ReadonlyMap<string, Located>,
  b: ReadonlyMap<string, Located>,
): Array<[string, NonNullable<ReturnType<typeof compare>>]> {
  const names = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  return names.flatMap((name) => {
    const c = compare(a.get(name), b.get(name));
    return c ? [[name, c] as [string, NonNullable<ReturnType<typeof compare>>]] : [];
  });
}

function diffBuilder(a: NormalizedProvenance, b: NormalizedProvenance): BuilderChange[] {
  const out: BuilderChange[] = [];
  const id = compare(a.builder.id, b.builder.id);
  if (id) out.push({ ...id, field: 'id', name: 'id' });
  for (const [name, c] of compareMaps(a.builder.version, b.builder.version)) out.push({ ...c, field: 'version', name });
  for (const d of diffDependencies(a.builder.dependencies, b.builder.dependencies)) {
    if (d.kind === 'unpinned') continue;
    const { kind, old, new: next, pathA, pathB } = d;
    out.push({
      kind,
      old,
      new: next,
      ...(pathA ? { pathA } : {}),
      ...(pathB ? { pathB } : {}),
      field: 'builderDependencies',
      name: d.name,
    });
  }
  for (const [name, c] of compareMaps(a.builder.extensions, b.builder.extensions))
    out.push({ ...c, field: 'extension', name });
  return out;
}

/**
 * Compare two provenance statements: `a` the older (the original build), `b` the newer (the
 * rebuild). Throws a RangeError if either is not SLSA provenance v1 or v0.2.
 */
export function diffProvenance(a: StatementInput, b: StatementInput): ProvenanceDiff {
  const na = normalizeProvenance(a);
  const nb = normalizeProvenance(b);
  const isImage = (d: Dep) => d.identity.image !== null;

  const parametersA = new Map(na.parameters);
  const parametersB = new Map(nb.parameters);
  const metadataA = new Map(na.metadata);
  const metadataB = new Map(nb.metadata);
  if (na.format === nb.format) {
    // The build type says how to read the parameters: a change there is a parameter change.
    if (na.buildType) parametersA.set('/buildType', na.buildType);
    if (nb.buildType) parametersB.set('/buildType', nb.buildType);
  } else {
    // v1 requires a new buildType; across formats both it and predicateType are expected to differ.
    metadataA.set('predicateType', { value: na.predicateType, path: '/predicateType' });
    metadataB.set('predicateType', { value: nb.predicateType, path: '/predicateType' });
    if (na.buildType) metadataA.set('buildType', na.buildType);
    if (nb.buildType) metadataB.set('buildType', nb.buildType);
  }

  const diff = {
    formats: { a: na.format, b: nb.format },
    dependencies: diffDependencies(
      na.dependencies.filter((d) => !isImage(d)),
      nb.dependencies.filter((d) => !isImage(d)),
    ),
    baseImages: diffImages(na.dependencies.filter(isImage), nb.dependencies.filter(isImage)),
    builder: diffBuilder(na, nb),
    parameters: compareMaps(parametersA, parametersB).map(([name, c]): ParameterChange => ({ ...c, name })),
    metadata: compareMaps(metadataA, metadataB).map(([name, c]): MetadataChange => ({ ...c, name })),
  };
  const { summary, kinds } = summarize(diff);
  return { ...diff, summary, kinds };
}
