// Claims-bound provenance: for a CI identity (GitHub Actions, GitLab), what the verified token
// says about the build is what the provenance says. Missing fields are filled from the claims
// (builder.id, the source repository at its commit, the workflow, the run invocation); a field
// that says otherwise is a contradiction, refused with every such field named.
import { AppError, type FieldError, invalidDetail } from '../errors.ts';
import { PROVENANCE_V1, PROVENANCE_V02 } from '../intoto/predicates.ts';
import { asArray, asObject, asString, isObject } from '../rebuild/json.ts';
import { sourceRepository } from '../rebuild/source.ts';
import type { Workload } from './types.ts';

export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';

/** What a CI identity's claims say about its build. */
export interface ClaimedBuild {
  builderId: string;
  repository: string;
  commit: string;
  ref: string | undefined;
  /** The top-level workflow / pipeline definition: repository URL, file path, git ref. */
  workflow: { repository: string; path: string; ref: string } | undefined;
  invocationId: string | undefined;
}

/** The build a CI workload's claims describe; undefined for a generic issuer (no build claims). */
export function claimedBuild(workload: Workload): ClaimedBuild | undefined {
  if (workload.type === 'generic') return undefined;
  const f = workload.fields;
  if (!f.buildSignerUri || !f.sourceRepositoryUri || !f.sourceRepositoryDigest) return undefined;
  return {
    builderId: f.buildSignerUri,
    repository: f.sourceRepositoryUri,
    commit: f.sourceRepositoryDigest.toLowerCase(),
    ref: f.sourceRepositoryRef,
    workflow: f.buildConfigUri ? parseWorkflowUri(workload.type, f.buildConfigUri) : undefined,
    invocationId: f.runInvocationUri,
  };
}

/**
 * GitHub: `https://github.com/o/r/.github/workflows/x.yml@refs/heads/main`;
 * GitLab: `https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main`.
 */
export function parseWorkflowUri(
  type: Workload['type'],
  uri: string,
): { repository: string; path: string; ref: string } | undefined {
  const at = uri.lastIndexOf('@');
  if (at < 0) return undefined;
  const location = uri.slice(0, at);
  const ref = uri.slice(at + 1);
  let m: RegExpExecArray | null;
  if (type === 'gitlab') m = /^(https?:\/\/[^/]+\/.+?)\/\/(.+)$/.exec(location);
  else m = /^(https?:\/\/[^/]+\/[^/]+\/[^/]+)\/(.+)$/.exec(location);
  if (!m || !ref) return undefined;
  return { repository: m[1]!, path: m[2]!, ref };
}

const sameRepository = (uri: string, repository: string) =>
  sourceRepository({ uri, digest: 'gitCommit:0' }).toLowerCase() ===
  sourceRepository({ uri: `git+${repository}`, digest: 'gitCommit:0' }).toLowerCase();

/**
 * The contradictions between a provenance statement (SLSA v1 or v0.2) and the claimed build,
 * as field errors under `prefix` (e.g. `/statement`). Empty when nothing contradicts.
 */
export function contradictions(statement: unknown, build: ClaimedBuild, prefix: string): FieldError[] {
  const s = asObject(statement) ?? {};
  const predicate = asObject(s.predicate) ?? {};
  const errors: FieldError[] = [];
  const differs = (path: string, what: string, claimed: string, found: unknown) => {
    if (found === undefined) return;
    if (found !== claimed)
      errors.push({
        path: prefix + path,
        message: `${what} is ${JSON.stringify(found)}; the ID token says ${claimed}`,
      });
  };
  const sources = (list: Array<{ uri: string; commit: string; path: string }>, listPath: string) => {
    const mine = list.filter((d) => sameRepository(d.uri, build.repository));
    for (const d of mine) differs(d.path, 'the source commit', build.commit, d.commit);
    if (list.length > 0 && mine.length === 0) {
      errors.push({
        path: prefix + listPath,
        message: `the source is ${list.map((d) => d.uri).join(', ')}; the ID token says ${build.repository}`,
      });
    }
  };

  if (s.predicateType === PROVENANCE_V1) {
    const runDetails = asObject(predicate.runDetails) ?? {};
    differs('/predicate/runDetails/builder/id', 'builder.id', build.builderId, asObject(runDetails.builder)?.id);
    const def = asObject(predicate.buildDefinition) ?? {};
    const deps = asArray(def.resolvedDependencies).flatMap((d, i) => {
      const commit = isObject(d) ? asString(asObject(d.digest)?.gitCommit) : undefined;
      const uri = isObject(d) ? asString(d.uri) : undefined;
      return uri && commit
        ? [
            {
              uri,
              commit: commit.toLowerCase(),
              path: `/predicate/buildDefinition/resolvedDependencies/${i}/digest/gitCommit`,
            },
          ]
        : [];
    });
    sources(deps, '/predicate/buildDefinition/resolvedDependencies');
    const workflow = asObject(asObject(def.externalParameters)?.workflow);
    if (workflow && build.workflow) {
      for (const k of ['repository', 'path', 'ref'] as const) {
        differs(
          `/predicate/buildDefinition/externalParameters/workflow/${k}`,
          `workflow.${k}`,
          build.workflow[k],
          workflow[k],
        );
      }
    }
    if (build.invocationId) {
      differs(
        '/predicate/runDetails/metadata/invocationId',
        'the run invocation',
        build.invocationId,
        asObject(runDetails.metadata)?.invocationId,
      );
    }
  } else if (s.predicateType === PROVENANCE_V02) {
    differs('/predicate/builder/id', 'builder.id', build.builderId, asObject(predicate.builder)?.id);
    const cs = asObject(asObject(predicate.invocation)?.configSource);
    const commit = asString(asObject(cs?.digest)?.sha1) ?? asString(asObject(cs?.digest)?.gitCommit);
    const uri = asString(cs?.uri);
    sources(
      uri && commit ? [{ uri, commit: commit.toLowerCase(), path: '/predicate/invocation/configSource/digest' }] : [],
      '/predicate/invocation/configSource',
    );
    if (build.invocationId) {
      differs(
        '/predicate/metadata/buildInvocationId',
        'the run invocation',
        build.invocationId,
        asObject(predicate.metadata)?.buildInvocationId,
      );
    }
  }
  return errors;
}

/** Refuse (422, the fields named) a provenance statement that contradicts the claimed build. */
export function assertConsistent(statement: unknown, build: ClaimedBuild, prefix: string): void {
  const errors = contradictions(statement, build, prefix);
  if (errors.length > 0) {
    throw new AppError('VERIFICATION_FAILED', "the provenance contradicts the caller's verified ID token", {
      errors,
    });
  }
}

/**
 * Bind an SLSA v1 provenance statement (a JSON object, changed in place) to the claimed build:
 * refuse contradictions, then fill builder.id, the source dependency, the workflow and the
 * invocation id where the statement has none (buildType too, for GitHub, when absent).
 */
export function bindProvenance(statement: Record<string, unknown>, workload: Workload, prefix = '/statement'): void {
  const build = claimedBuild(workload);
  if (!build || statement.predicateType !== PROVENANCE_V1) return;
  assertConsistent(statement, build, prefix);
  const predicate = child(statement, 'predicate');
  const def = child(predicate, 'buildDefinition');
  if (def.buildType === undefined && workload.type === 'github-actions') def.buildType = GITHUB_WORKFLOW_BUILD_TYPE;
  const external = child(def, 'externalParameters');
  if (external.workflow === undefined && build.workflow) external.workflow = { ...build.workflow };
  const deps = Array.isArray(def.resolvedDependencies) ? (def.resolvedDependencies as unknown[]) : [];
  const hasSource = deps.some(
    (d) =>
      isObject(d) &&
      asString(d.uri) &&
      sameRepository(String(d.uri), build.repository) &&
      asObject(d.digest)?.gitCommit,
  );
  if (!hasSource) {
    deps.unshift({
      uri: `git+${build.repository}${build.ref ? `@${build.ref}` : ''}`,
      digest: { gitCommit: build.commit },
    });
  }
  def.resolvedDependencies = deps;
  const runDetails = child(predicate, 'runDetails');
  const builder = child(runDetails, 'builder');
  builder.id ??= build.builderId;
  if (build.invocationId) child(runDetails, 'metadata').invocationId ??= build.invocationId;
}

function child(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const created: Record<string, unknown> = {};
  parent[key] = created;
  return created;
}

/** The parts of a build-facts request that provenance needs and a CI identity's claims can supply. */
export interface FactsInput {
  buildType?: string | undefined;
  externalParameters?: Record<string, unknown> | undefined;
  builder?: { id: string; [k: string]: unknown } | undefined;
}

/**
 * Build facts made whole: for a CI identity, builder.id (and GitHub's buildType) come from the
 * claims and externalParameters default to {}; any other caller must give all three (400 with
 * each missing field named).
 */
export function completeFacts<T extends FactsInput>(
  facts: T,
  workload: Workload | undefined,
): T & { buildType: string; externalParameters: Record<string, unknown>; builder: { id: string } } {
  const build = workload ? claimedBuild(workload) : undefined;
  const filled = { ...facts } as T & FactsInput;
  if (build) {
    filled.builder ??= { id: build.builderId };
    filled.externalParameters ??= {};
    if (workload?.type === 'github-actions') filled.buildType ??= GITHUB_WORKFLOW_BUILD_TYPE;
  }
  const missing = (['buildType', 'externalParameters', 'builder'] as const).filter((k) => filled[k] === undefined);
  if (missing.length > 0) {
    const errors = missing.map((k) => ({ path: `/${k}`, message: 'required (or give a complete `statement`)' }));
    throw new AppError('VALIDATION_FAILED', invalidDetail('json', errors), { errors });
  }
  return filled as T & { buildType: string; externalParameters: Record<string, unknown>; builder: { id: string } };
}
