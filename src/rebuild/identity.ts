// What a dependency *is*, independent of which version or digest a build resolved it to: the
// key two provenances' dependencies are matched on. Package URLs (purl) lose their version,
// git URIs their ref, container images become a canonical repository (docker.io/library/node)
// with the tag and digest kept apart. Anything else is matched by its uri (or name).
import { asObject, asString } from './json.ts';

/** A container image reference, split. */
export interface ImageRef {
  /** Canonical repository: registry host and path, Docker Hub spelled `docker.io/library/<name>`. */
  repository: string;
  tag: string | null;
  /** A digest carried by the reference itself (`name@sha256:...`, a purl version), `alg:hex`. */
  digest: string | null;
}

export interface PackageIdentity {
  /** The match key: `pkg:npm/lodash`, `git+https://github.com/o/r`, `docker.io/library/node`, or the uri. */
  name: string;
  /** The version the reference names: purl version, git ref, image tag; null if none. */
  version: string | null;
  /** What tells apart two entries with the same name (purl qualifiers such as platform); '' if nothing. */
  variant: string;
  /** A short form for one-line summaries: `lodash`, `@babel/core`, `github.com/o/r`, `node`. */
  display: string;
  /** Set when the dependency is a container image. */
  image: ImageRef | null;
  kind: 'purl' | 'git' | 'image' | 'uri' | 'name' | 'digest';
}

/** The parts of a ResourceDescriptor the identity is derived from. */
export interface DescriptorLike {
  uri?: unknown;
  name?: unknown;
  digest?: unknown;
  mediaType?: unknown;
  annotations?: unknown;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface Purl {
  type: string;
  /** namespace/name, percent-decoded. */
  path: string;
  version: string | null;
  qualifiers: Map<string, string>;
  subpath: string | null;
}

/** Parse a package URL (https://github.com/package-url/purl-spec); undefined if `uri` is not one. */
export function parsePurl(uri: string): Purl | undefined {
  if (!/^pkg:/i.test(uri)) return undefined;
  let rest = uri.slice(4).replace(/^\/+/, '');
  let subpath: string | null = null;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    subpath = decode(rest.slice(hash + 1)).replace(/^\/+|\/+$/g, '') || null;
    rest = rest.slice(0, hash);
  }
  const qualifiers = new Map<string, string>();
  const q = rest.indexOf('?');
  if (q >= 0) {
    for (const pair of rest.slice(q + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const key = (eq >= 0 ? pair.slice(0, eq) : pair).toLowerCase();
      const value = eq >= 0 ? decode(pair.slice(eq + 1)) : '';
      if (value) qualifiers.set(key, value);
    }
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const type = rest.slice(0, slash).toLowerCase();
  let path = rest.slice(slash + 1).replace(/\/+$/, '');
  let version: string | null = null;
  const at = path.lastIndexOf('@');
  if (at > path.lastIndexOf('/') && at >= 0) {
    version = decode(path.slice(at + 1)) || null;
    path = path.slice(0, at);
  }
  path = path
    .split('/')
    .filter((s) => s !== '')
    .map(decode)
    .join('/');
  if (!path) return undefined;
  return { type, path, version, qualifiers, subpath };
}

const DOCKER_HUB = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'hub.docker.com',
  'registry.hub.docker.com',
]);

function isDigestLike(s: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-f]{32,}$/i.test(s);
}

/** Canonical repository for a registry (may be undefined: Docker Hub) and a path. */
function canonicalRepository(registry: string | undefined, path: string): string {
  const host = (registry ?? 'docker.io')
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/\/+$/, '');
  const hostOnly = host.split('/', 1)[0] ?? host;
  const prefix = host.slice(hostOnly.length).replace(/^\/+/, '');
  const segments = [...(prefix ? prefix.split('/') : []), ...path.toLowerCase().split('/')].filter((s) => s !== '');
  if (DOCKER_HUB.has(hostOnly)) {
    if (segments.length === 1) segments.unshift('library');
    return `docker.io/${segments.join('/')}`;
  }
  return `${hostOnly}/${segments.join('/')}`;
}

/**
 * Split a Docker/OCI image reference `[registry[:port]/]path[:tag][@alg:hex]`. A first path
 * component with a `.` or `:`, or `localhost`, is the registry; otherwise it is Docker Hub.
 */
export function parseImageReference(reference: string): ImageRef | undefined {
  let rest = reference.trim();
  if (!rest) return undefined;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    digest = isDigestLike(d) ? d.toLowerCase() : null;
    rest = rest.slice(0, at);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1) || null;
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/').filter((s) => s !== '');
  if (parts.length === 0) return undefined;
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const repository = canonicalRepository(
    hasRegistry ? first : undefined,
    (hasRegistry ? parts.slice(1) : parts).join('/'),
  );
  return { repository, tag, digest };
}

/** `docker.io/library/node` -> `node`, `docker.io/org/app` -> `org/app`, others unchanged. */
export function shortRepository(repository: string): string {
  if (repository.startsWith('docker.io/library/')) return repository.slice('docker.io/library/'.length);
  if (repository.startsWith('docker.io/')) return repository.slice('docker.io/'.length);
  return repository;
}

/** A reference for humans: `node:20`, `node:20@sha256:1234abcd5678`, `ghcr.io/o/app@sha256:...`. */
export function displayImage(
  ref: { repository: string; tag: string | null; digest: string | null },
  fullDigest = false,
): string {
  const d = ref.digest ? `@${fullDigest ? ref.digest : shortDigest(ref.digest)}` : '';
  return `${shortRepository(ref.repository)}${ref.tag ? `:${ref.tag}` : ''}${d}`;
}

/** `sha256:0123456789abcdef...` -> `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon >= 0 ? digest.slice(0, colon + 1 + 12) : digest.slice(0, 12);
}

const IMAGE_SCHEME = /^(?:docker|oci|docker-image|oci-image|container-image|registry):\/\//i;
/** `ghcr.io/o/app:1.0`, `registry.example.com:5000/app@sha256:...` (a registry host is required). */
const BARE_WITH_REGISTRY = new RegExp(
  [
    '^(?:[a-z0-9-]+(?:\\.[a-z0-9-]+)+(?::\\d+)?|localhost(?::\\d+)?)', // registry host[:port]
    '\\/[a-z0-9._/-]+', // repository
    '(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?', // tag
    '(?:@[a-z0-9]+:[0-9a-f]{32,})?$', // digest
  ].join(''),
);
/** `node:20@sha256:...`, `library/node@sha256:...` (a digest is required). */
const BARE_WITH_DIGEST = /^[a-z0-9._/-]+(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@[a-z0-9]+:[0-9a-f]{32,}$/;

/** Whether the mediaType or annotations say the descriptor is a container image. */
function imageHints(d: DescriptorLike): boolean {
  const mediaType = asString(d.mediaType)?.toLowerCase() ?? '';
  if (mediaType.includes('vnd.oci') || mediaType.includes('docker')) return true;
  const annotations = asObject(d.annotations);
  return annotations !== undefined && Object.keys(annotations).some((k) => k.startsWith('org.opencontainers.image.'));
}

const IGNORED_QUALIFIERS = new Set(['repository_url', 'download_url', 'vcs_url', 'checksum', 'checksums', 'tag']);

function variantOf(purl: Purl): string {
  const q = [...purl.qualifiers]
    .filter(([k]) => !IGNORED_QUALIFIERS.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  if (purl.subpath) q.push(`#${purl.subpath}`);
  return q.join('&');
}

function imageFromPurl(purl: Purl): ImageRef | undefined {
  if (purl.type === 'docker') {
    let version = purl.version;
    let digest: string | null = null;
    if (version?.includes('@')) {
      const [tag, d] = [version.slice(0, version.indexOf('@')), version.slice(version.indexOf('@') + 1)];
      version = tag || null;
      digest = isDigestLike(d) ? d.toLowerCase() : null;
    }
    if (version && isDigestLike(version)) {
      digest = version.toLowerCase();
      version = null;
    }
    const tag = version ?? purl.qualifiers.get('tag') ?? null;
    return { repository: canonicalRepository(purl.qualifiers.get('repository_url'), purl.path), tag, digest };
  }
  if (purl.type === 'oci') {
    const repoUrl = purl.qualifiers.get('repository_url');
    const base = repoUrl
      ? parseImageReference(repoUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''))
      : parseImageReference(purl.path);
    if (!base) return undefined;
    const version = purl.version;
    return {
      repository: base.repository,
      tag: purl.qualifiers.get('tag') ?? base.tag ?? (version && !isDigestLike(version) ? version : null),
      digest: version && isDigestLike(version) ? version.toLowerCase() : base.digest,
    };
  }
  return undefined;
}

function imageIdentity(ref: ImageRef, variant: string): PackageIdentity {
  return {
    name: ref.repository,
    version: ref.tag,
    variant,
    display: shortRepository(ref.repository),
    image: ref,
    kind: 'image',
  };
}

function isGitUri(uri: string, digest: unknown): boolean {
  if (/^git(?:\+[a-z0-9.+-]+)?:/i.test(uri)) return true;
  const beforeRef = uri.split(/[#?]/, 1)[0] ?? uri;
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]+\/.*\.git(?:@|$)/i.test(beforeRef)) return true;
  const d = asObject(digest);
  return /^https?:\/\//i.test(uri) && d !== undefined && typeof d.gitCommit === 'string';
}

/** `git+https://github.com/o/r.git@refs/heads/main#sub/dir` -> name, ref, short form. */
export function parseGitUri(uri: string): { name: string; ref: string | null; display: string } {
  let rest = uri;
  let fragment = '';
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash);
    rest = rest.slice(0, hash);
  }
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  const schemeEnd = rest.indexOf('://');
  const pathStart = schemeEnd >= 0 ? rest.indexOf('/', schemeEnd + 3) : -1;
  let ref: string | null = null;
  const at = pathStart >= 0 ? rest.indexOf('@', pathStart) : -1;
  if (at >= 0) {
    ref = decode(rest.slice(at + 1)) || null;
    rest = rest.slice(0, at);
  }
  rest = rest.replace(/\/+$/, '').replace(/\.git$/i, '');
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(.*)$/i.exec(rest);
  let name = rest;
  let display = rest;
  if (m) {
    const scheme = m[1]!.toLowerCase();
    const authority = m[2]!.toLowerCase();
    const path = m[3]!;
    name = `${scheme.startsWith('git') ? scheme : `git+${scheme}`}://${authority}${path}`;
    display = `${authority.replace(/^[^@]*@/, '')}${path}`;
  }
  return { name: name + fragment, ref, display: display + fragment };
}

/** The identity of a dependency (a ResourceDescriptor or v0.2 material). */
export function packageIdentity(d: DescriptorLike): PackageIdentity {
  const uri = asString(d.uri);
  const hinted = imageHints(d);
  if (uri) {
    const purl = parsePurl(uri);
    if (purl) {
      const image = imageFromPurl(purl);
      if (image) return imageIdentity(image, variantOf(purl));
      if (hinted) {
        const ref = parseImageReference(purl.path);
        if (ref) return imageIdentity({ ...ref, tag: purl.version }, variantOf(purl));
      }
      const name = `pkg:${purl.type}/${purl.path}`;
      return { name, version: purl.version, variant: variantOf(purl), display: purl.path, image: null, kind: 'purl' };
    }
    if (IMAGE_SCHEME.test(uri)) {
      const ref = parseImageReference(uri.replace(IMAGE_SCHEME, ''));
      if (ref) return imageIdentity(ref, '');
    }
    if (BARE_WITH_REGISTRY.test(uri) || BARE_WITH_DIGEST.test(uri)) {
      const ref = parseImageReference(uri);
      if (ref) return imageIdentity(ref, '');
    }
    if (hinted) {
      const ref = parseImageReference(uri.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''));
      if (ref) return imageIdentity(ref, '');
    }
    if (isGitUri(uri, d.digest)) {
      const git = parseGitUri(uri);
      return { name: git.name, version: git.ref, variant: '', display: git.display, image: null, kind: 'git' };
    }
    return { name: uri, version: null, variant: '', display: uri, image: null, kind: 'uri' };
  }
  const name = asString(d.name);
  if (name) {
    if (hinted) {
      const ref = parseImageReference(name);
      if (ref) return imageIdentity(ref, '');
    }
    return { name, version: null, variant: '', display: name, image: null, kind: 'name' };
  }
  const digest = asObject(d.digest) ?? {};
  const first = Object.keys(digest).sort()[0];
  const key = first === undefined ? 'unknown' : `${first}:${String(digest[first])}`;
  return { name: `digest:${key}`, version: null, variant: '', display: shortDigest(key), image: null, kind: 'digest' };
}
