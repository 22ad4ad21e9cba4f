// SLSA provenance v1 and v0.2 in one model, so two provenances compare field by field whatever
// their formats. The mapping is the spec's own "Migrating from 0.2" pseudocode
// (../shared/specs/slsa/v1.0/provenance.md): materials + configSource -> dependencies,
// invocation.parameters (+ configSource entryPoint and uri) -> externalParameters,
// invocation.environment -> internalParameters, metadata.build* -> invocationId/startedOn/
// finishedOn. Every value keeps the JSON pointer it came from in its own statement.
// Statements are read defensively: a field of the wrong type counts as unset.
import { PROVENANCE_V1, PROVENANCE_V02 } from '../intoto/provenance.ts';
import { type PackageIdentity, packageIdentity } from './identity.ts';
import { asArray, asObject, asString, isObject, type JsonValue, json, leaves, pointer } from './json.ts';

export type ProvenanceFormat = 'v1' | 'v0.2';

/** What the rebuild functions accept: an in-toto Statement (v1 or v0.1) as JSON. */
export type StatementInput = Readonly<Record<string, unknown>>;

/** A value and the JSON pointer (RFC 6901) of where it is in its statement. */
export interface Located<T = unknown> {
  value: T;
  path: string;
}

export interface NormalizedDependency {
  identity: PackageIdentity;
  uri: string | null;
  /** The descriptor's digests (string values only). */
  digest: Record<string, string>;
  /** The descriptor as written. */
  descriptor: JsonValue;
  path: string;
}

export interface NormalizedProvenance {
  format: ProvenanceFormat;
  predicateType: string;
  buildType: Located<string> | null;
  /** resolvedDependencies, or materials plus configSource; images included. */
  dependencies: NormalizedDependency[];
  builder: {
    id: Located<string> | null;
    version: Map<string, Located<string>>;
    dependencies: NormalizedDependency[];
    /** Extension fields of `builder`, whole. */
    extensions: Map<string, Located>;
  };
  /** Leaves of the parameters keyed by a format-independent pointer, e.g. `/externalParameters/workflow/ref`. */
  parameters: Map<string, Located>;
  /** Metadata fields keyed by name: invocationId, startedOn, finishedOn, byproducts, ... */
  metadata: Map<string, Located>;
}

/** The provenance format of a statement, or undefined if it is no SLSA provenance v1/v0.2. */
export function provenanceFormat(statement: StatementInput): ProvenanceFormat | undefined {
  if (statement.predicateType === PROVENANCE_V1) return 'v1';
  if (statement.predicateType === PROVENANCE_V02) return 'v0.2';
  return undefined;
}

function digestOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, v] of Object.entries(asObject(value) ?? {})) {
    if (typeof v === 'string' && v !== '') out[alg] = v.toLowerCase();
  }
  return out;
}

function dependency(descriptor: unknown, path: string): NormalizedDependency | undefined {
  if (!isObject(descriptor)) return undefined;
  return {
    identity: packageIdentity(descriptor),
    uri: asString(descriptor.uri) ?? null,
    digest: digestOf(descriptor.digest),
    descriptor: json(descriptor),
    path,
  };
}

function dependencies(list: unknown, path: string): NormalizedDependency[] {
  return asArray(list).flatMap((d, i) => dependency(d, pointer(path, i)) ?? []);
}

function located<T>(value: T | undefined, path: string): Located<T> | null {
  return value === undefined ? null : { value, path };
}

/** Add the leaves of `value` (pointer `path` in the statement) under the logical prefix `logical`. */
function addLeaves(into: Map<string, Located>, value: unknown, logical: string, path: string): void {
  for (const [rel, leaf] of leaves(value)) into.set(logical + rel, { value: leaf, path: path + rel });
}

function addField(into: Map<string, Located>, name: string, value: unknown, path: string): void {
  if (value !== undefined && value !== null) into.set(name, { value, path });
}

function extensions(obj: Record<string, unknown>, known: readonly string[]): Array<[string, unknown]> {
  return Object.entries(obj).filter(([k, v]) => !known.includes(k) && v !== undefined && v !== null);
}

function stringMap(value: unknown, path: string): Map<string, Located<string>> {
  const out = new Map<string, Located<string>>();
  for (const [k, v] of Object.entries(asObject(value) ?? {})) {
    if (typeof v === 'string') out.set(k, { value: v, path: pointer(path, k) });
  }
  return out;
}

function normalizeV1(statement: StatementInput): NormalizedProvenance {
  const p = asObject(statement.predicate) ?? {};
  const bd = asObject(p.buildDefinition) ?? {};
  const rd = asObject(p.runDetails) ?? {};
  const builder = asObject(rd.builder) ?? {};
  const meta = asObject(rd.metadata) ?? {};
  const BD = '/predicate/buildDefinition';
  const RD = '/predicate/runDetails';

  const parameters = new Map<string, Located>();
  addLeaves(parameters, bd.externalParameters, '/externalParameters', `${BD}/externalParameters`);
  addLeaves(parameters, bd.internalParameters, '/internalParameters', `${BD}/internalParameters`);
  for (const [k, v] of extensions(bd, [
    'buildType',
    'externalParameters',
    'internalParameters',
    'resolvedDependencies',
  ])) {
    addLeaves(parameters, v, pointer('', k), pointer(BD, k));
  }

  const metadata = new Map<string, Located>();
  addField(metadata, 'invocationId', meta.invocationId, `${RD}/metadata/invocationId`);
  addField(metadata, 'startedOn', meta.startedOn, `${RD}/metadata/startedOn`);
  addField(metadata, 'finishedOn', meta.finishedOn, `${RD}/metadata/finishedOn`);
  for (const [k, v] of extensions(meta, ['invocationId', 'startedOn', 'finishedOn']))
    addField(metadata, k, v, pointer(`${RD}/metadata`, k));
  addField(metadata, 'byproducts', rd.byproducts, `${RD}/byproducts`);
  for (const [k, v] of extensions(rd, ['builder', 'metadata', 'byproducts'])) addField(metadata, k, v, pointer(RD, k));
  for (const [k, v] of extensions(p, ['buildDefinition', 'runDetails']))
    addField(metadata, k, v, pointer('/predicate', k));

  const builderExtensions = new Map<string, Located>();
  for (const [k, v] of extensions(builder, ['id', 'version', 'builderDependencies']))
    addField(builderExtensions, k, v, pointer(`${RD}/builder`, k));

  return {
    format: 'v1',
    predicateType: PROVENANCE_V1,
    buildType: located(asString(bd.buildType), `${BD}/buildType`),
    dependencies: dependencies(bd.resolvedDependencies, `${BD}/resolvedDependencies`),
    builder: {
      id: located(asString(builder.id), `${RD}/builder/id`),
      version: stringMap(builder.version, `${RD}/builder/version`),
      dependencies: dependencies(builder.builderDependencies, `${RD}/builder/builderDependencies`),
      extensions: builderExtensions,
    },
    parameters,
    metadata,
  };
}

function normalizeV02(statement: StatementInput): NormalizedProvenance {
  const p = asObject(statement.predicate) ?? {};
  const builder = asObject(p.builder) ?? {};
  const invocation = asObject(p.invocation) ?? {};
  const configSource = asObject(invocation.configSource);
  const meta = asObject(p.metadata) ?? {};
  const INV = '/predicate/invocation';
  const CS = `${INV}/configSource`;

  const deps = dependencies(p.materials, '/predicate/materials');
  // The migration appends configSource to the materials; one already listed is not repeated.
  if (configSource && (configSource.uri != null || configSource.digest != null)) {
    const source = dependency({ uri: configSource.uri, digest: configSource.digest }, CS);
    if (source && !deps.some((d) => d.uri === source.uri && sameDigests(d.digest, source.digest))) deps.push(source);
  }

  const parameters = new Map<string, Located>();
  addLeaves(parameters, invocation.parameters, '/externalParameters', `${INV}/parameters`);
  if (configSource) {
    // Migration: externalParameters.entryPoint and .source come from configSource.
    if (typeof configSource.entryPoint === 'string')
      parameters.set('/externalParameters/entryPoint', { value: configSource.entryPoint, path: `${CS}/entryPoint` });
    if (typeof configSource.uri === 'string')
      parameters.set('/externalParameters/source', { value: configSource.uri, path: `${CS}/uri` });
    for (const [k, v] of extensions(configSource, ['uri', 'digest', 'entryPoint']))
      addLeaves(parameters, v, pointer('/configSource', k), pointer(CS, k));
  }
  addLeaves(parameters, invocation.environment, '/internalParameters', `${INV}/environment`);
  addLeaves(parameters, p.buildConfig, '/buildConfig', '/predicate/buildConfig');
  for (const [k, v] of extensions(invocation, ['configSource', 'parameters', 'environment']))
    addLeaves(parameters, v, pointer('/invocation', k), pointer(INV, k));

  const metadata = new Map<string, Located>();
  addField(metadata, 'invocationId', meta.buildInvocationId, '/predicate/metadata/buildInvocationId');
  addField(metadata, 'startedOn', meta.buildStartedOn, '/predicate/metadata/buildStartedOn');
  addField(metadata, 'finishedOn', meta.buildFinishedOn, '/predicate/metadata/buildFinishedOn');
  for (const [k, v] of extensions(meta, ['buildInvocationId', 'buildStartedOn', 'buildFinishedOn']))
    addField(metadata, k, v, pointer('/predicate/metadata', k));
  for (const [k, v] of extensions(p, ['builder', 'buildType', 'invocation', 'buildConfig', 'metadata', 'materials']))
    addField(metadata, k, v, pointer('/predicate', k));

  const builderExtensions = new Map<string, Located>();
  for (const [k, v] of extensions(builder, ['id'])) addField(builderExtensions, k, v, pointer('/predicate/builder', k));

  return {
    format: 'v0.2',
    predicateType: PROVENANCE_V02,
    buildType: located(asString(p.buildType), '/predicate/buildType'),
    dependencies: deps,
    builder: {
      id: located(asString(builder.id), '/predicate/builder/id'),
      version: new Map(),
      dependencies: [],
      extensions: builderExtensions,
    },
    parameters,
    metadata,
  };
}

/**
 * The common model of a SLSA provenance v1 or v0.2 statement. Throws a RangeError for any
 * other predicate type.
 */
export function normalizeProvenance(statement: StatementInput): NormalizedProvenance {
  const format = provenanceFormat(statement);
  if (format === 'v1') return normalizeV1(statement);
  if (format === 'v0.2') return normalizeV02(statement);
  throw new RangeError(
    `not a SLSA provenance statement: predicateType is ${JSON.stringify(statement.predicateType ?? null)}, ` +
      `expected ${PROVENANCE_V1} or ${PROVENANCE_V02}`,
  );
}

/** A git commit id is a SHA-1 (or SHA-256) object id: `gitCommit` and `sha1`/`sha256` name the same value. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  gitCommit: ['sha1', 'sha256'],
  sha1: ['gitCommit'],
  sha256: ['gitCommit'],
};

/**
 * Whether two digest sets denote the same artifact: they agree on every algorithm they share
 * (sha1/gitCommit compared with each other when nothing else is shared), and share at least
 * one. Two empty sets are "same" (nothing to compare); one empty and one not is not.
 */
export function sameDigests(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length === 0 || kb.length === 0) return ka.length === kb.length;
  const shared = ka.filter((k) => Object.hasOwn(b, k));
  if (shared.length > 0) return shared.every((k) => a[k] === b[k]);
  for (const k of ka) {
    for (const alias of ALIASES[k] ?? []) {
      if (Object.hasOwn(b, alias) && b[alias]!.length === a[k]!.length) return b[alias] === a[k];
    }
  }
  return false;
}
