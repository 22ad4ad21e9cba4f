// Claims -> certificate: the URI SAN and the Fulcio extensions a CI identity's leaf carries,
// following Fulcio's own mapping per issuer type (sigstore/fulcio config/identity/config.yaml,
// `ci-issuer-metadata`, rendered by pkg/certificate/extensions.go; the OIDs are listed in
// docs/oid-info.md):
//   - every claim a template names must be present (Fulcio's templates run with
//     missingkey=error), else no certificate;
//   - the `url` template value is a default that a claim of that name overrides;
//   - an empty value leaves its extension out (Extensions.Render skips empty fields);
//   - 1.2 to 1.6 (the deprecated GitHub workflow extensions) are raw bytes, 1.9 to 1.24 DER
//     UTF8Strings; 1.1 and 1.8 (the issuer) are written by the CA itself.
import { AppError } from '../errors.ts';
import { derUtf8String } from '../signing/der.ts';
import type { ExtraExtension } from '../signing/leaf.ts';
import type { FulcioFields, IssuerType } from './types.ts';

const FULCIO = '1.3.6.1.4.1.57264.1';

/** Extensions 1.9 to 1.24, in Fulcio's rendering order. */
export const FIELD_OIDS: ReadonlyArray<readonly [keyof FulcioFields, string]> = [
  ['buildSignerUri', `${FULCIO}.9`],
  ['buildSignerDigest', `${FULCIO}.10`],
  ['runnerEnvironment', `${FULCIO}.11`],
  ['sourceRepositoryUri', `${FULCIO}.12`],
  ['sourceRepositoryDigest', `${FULCIO}.13`],
  ['sourceRepositoryRef', `${FULCIO}.14`],
  ['sourceRepositoryIdentifier', `${FULCIO}.15`],
  ['sourceRepositoryOwnerUri', `${FULCIO}.16`],
  ['sourceRepositoryOwnerIdentifier', `${FULCIO}.17`],
  ['buildConfigUri', `${FULCIO}.18`],
  ['buildConfigDigest', `${FULCIO}.19`],
  ['buildTrigger', `${FULCIO}.20`],
  ['runInvocationUri', `${FULCIO}.21`],
  ['sourceRepositoryVisibilityAtSigning', `${FULCIO}.22`],
  ['deploymentEnvironment', `${FULCIO}.23`],
  ['tokenSubject', `${FULCIO}.24`],
];

/** The deprecated GitHub workflow extensions 1.2 to 1.6 and the claim each holds. */
export const GITHUB_LEGACY_OIDS: ReadonlyArray<readonly [string, string]> = [
  [`${FULCIO}.2`, 'event_name'],
  [`${FULCIO}.3`, 'sha'],
  [`${FULCIO}.4`, 'workflow'],
  [`${FULCIO}.5`, 'repository'],
  [`${FULCIO}.6`, 'ref'],
];

type Lookup = (name: string) => string;
type Template = (v: Lookup) => string;

interface Mapping {
  /** Template values a claim of the same name overrides. */
  defaults(issuer: string, serverUrl: string | undefined): Record<string, string>;
  san: Template;
  fields: Partial<Record<keyof FulcioFields, Template>>;
  legacy: boolean;
}

const MAPPINGS: Record<Exclude<IssuerType, 'generic'>, Mapping> = {
  // Fulcio's `github-workflow` provider.
  'github-actions': {
    defaults: (_issuer, serverUrl) => ({ url: serverUrl ?? 'https://github.com', environment: '' }),
    san: (v) => `${v('url')}/${v('job_workflow_ref')}`,
    legacy: true,
    fields: {
      buildSignerUri: (v) => `${v('url')}/${v('job_workflow_ref')}`,
      buildSignerDigest: (v) => v('job_workflow_sha'),
      runnerEnvironment: (v) => v('runner_environment'),
      sourceRepositoryUri: (v) => `${v('url')}/${v('repository')}`,
      sourceRepositoryDigest: (v) => v('sha'),
      sourceRepositoryRef: (v) => v('ref'),
      sourceRepositoryIdentifier: (v) => v('repository_id'),
      sourceRepositoryOwnerUri: (v) => `${v('url')}/${v('repository_owner')}`,
      sourceRepositoryOwnerIdentifier: (v) => v('repository_owner_id'),
      buildConfigUri: (v) => `${v('url')}/${v('workflow_ref')}`,
      buildConfigDigest: (v) => v('workflow_sha'),
      buildTrigger: (v) => v('event_name'),
      runInvocationUri: (v) =>
        `${v('url')}/${v('repository')}/actions/runs/${v('run_id')}/attempts/${v('run_attempt')}`,
      sourceRepositoryVisibilityAtSigning: (v) => v('repository_visibility'),
      deploymentEnvironment: (v) => v('environment'),
    },
  },
  // Fulcio's `gitlab-pipeline` provider. Its `url` default is https://gitlab.com for every
  // GitLab issuer; waybill defaults to the issuer itself (the same for gitlab.com, right for a
  // self-managed instance), see docs/decisions.md.
  gitlab: {
    defaults: (issuer, serverUrl) => ({ url: serverUrl ?? issuer, environment: '' }),
    san: (v) => `https://${v('ci_config_ref_uri')}`,
    legacy: false,
    fields: {
      buildSignerUri: (v) => `https://${v('ci_config_ref_uri')}`,
      buildSignerDigest: (v) => v('ci_config_sha'),
      runnerEnvironment: (v) => v('runner_environment'),
      sourceRepositoryUri: (v) => `${v('url')}/${v('project_path')}`,
      sourceRepositoryDigest: (v) => v('sha'),
      sourceRepositoryRef: (v) => `refs/${v('ref_type') === 'branch' ? 'heads/' : 'tags/'}${v('ref')}`,
      sourceRepositoryIdentifier: (v) => v('project_id'),
      sourceRepositoryOwnerUri: (v) => `${v('url')}/${v('namespace_path')}`,
      sourceRepositoryOwnerIdentifier: (v) => v('namespace_id'),
      buildConfigUri: (v) => `https://${v('ci_config_ref_uri')}`,
      buildConfigDigest: (v) => v('ci_config_sha'),
      buildTrigger: (v) => v('pipeline_source'),
      runInvocationUri: (v) => `${v('url')}/${v('project_path')}/-/jobs/${v('job_id')}`,
      sourceRepositoryVisibilityAtSigning: (v) => v('project_visibility'),
      deploymentEnvironment: (v) => v('environment'),
    },
  },
};

/** A claim as Fulcio's templates see it (its mapValuesToString): strings, numbers, booleans. */
export function claimText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

export interface CertificateIdentity {
  /** The URI SAN. */
  identity: string;
  fields: FulcioFields;
  /** The leaf's extensions besides 1.1 and 1.8, in Fulcio's order. */
  extensions: ExtraExtension[];
}

const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[\u0021-\u007e]+$/;

/**
 * The certificate identity of a verified token. Throws UNAUTHENTICATED when the claims lack
 * what the issuer type's mapping names, or the SAN would not be an ASCII absolute URI.
 */
export function certificateIdentity(
  type: IssuerType,
  claims: Readonly<Record<string, unknown>>,
  opts: { issuer: string; serverUrl?: string | undefined },
): CertificateIdentity {
  const sub = claimText(claims.sub) ?? '';
  if (type === 'generic') {
    // Fulcio's `uri` identity: the subject is the URI SAN itself.
    if (!ABSOLUTE_URI.test(sub)) {
      throw new AppError('UNAUTHENTICATED', `a generic issuer's token needs a URI as its sub claim, not "${sub}"`);
    }
    const fields: FulcioFields = { tokenSubject: sub };
    return { identity: sub, fields, extensions: fieldExtensions(fields) };
  }
  const mapping = MAPPINGS[type];
  const defaults = mapping.defaults(opts.issuer, opts.serverUrl);
  const missing = new Set<string>();
  const v: Lookup = (name) => {
    const text = claimText(claims[name]) ?? defaults[name];
    if (text === undefined) missing.add(name);
    return text ?? '';
  };
  const identity = mapping.san(v);
  const fields: FulcioFields = {};
  for (const [name, template] of Object.entries(mapping.fields) as Array<[keyof FulcioFields, Template]>) {
    const value = template(v);
    if (value !== '') fields[name] = value;
  }
  const legacy = mapping.legacy ? GITHUB_LEGACY_OIDS.map(([oid, claim]) => [oid, v(claim)] as const) : [];
  if (missing.size > 0) {
    throw new AppError(
      'UNAUTHENTICATED',
      `the ID token lacks claims a ${type} identity needs: ${[...missing].sort().join(', ')}`,
    );
  }
  if (!ABSOLUTE_URI.test(identity)) {
    throw new AppError('UNAUTHENTICATED', `the workflow identity "${identity}" is not an ASCII URI`);
  }
  if (sub !== '') fields.tokenSubject = sub;
  const extensions: ExtraExtension[] = legacy
    .filter(([, value]) => value !== '')
    .map(([oid, value]) => ({ oid, critical: false, value: Buffer.from(value, 'utf8') }));
  extensions.push(...fieldExtensions(fields));
  return { identity, fields, extensions };
}

function fieldExtensions(fields: FulcioFields): ExtraExtension[] {
  const out: ExtraExtension[] = [];
  for (const [name, oid] of FIELD_OIDS) {
    const value = fields[name];
    if (value !== undefined && value !== '') out.push({ oid, critical: false, value: derUtf8String(value) });
  }
  return out;
}
