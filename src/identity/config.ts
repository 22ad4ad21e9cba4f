// The OIDC configuration file (WAYBILL_OIDC_CONFIG): which ID-token issuers waybill accepts
// and which grants turn a verified token into roles. Parsed and checked once at start-up; any
// problem stops start-up with every bad field named.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ISSUER_TYPES, type IssuerType } from './types.ts';

export interface OidcIssuer {
  issuer: string;
  type: IssuerType;
  /** The `aud` a token must carry. */
  audience: string;
  /** Where the keys are: a JWKS URL, a JWKS file (air-gapped), or neither (OIDC discovery). */
  jwksUri?: string | undefined;
  jwksFile?: string | undefined;
  /** The CI server's URL in certificate fields (Fulcio's `url`); default per type. */
  serverUrl?: string | undefined;
}

/** A claim condition: an exact value, or an anchored regular expression (`^...$`). */
export type ClaimMatcher = { exact: string } | { pattern: RegExp; source: string };

export interface Grant {
  issuer: string;
  claims: Record<string, ClaimMatcher>;
  roles: string[];
  /** Undefined: the grant does not limit environments. */
  environments?: string[] | undefined;
}

export interface OidcConfig {
  issuers: OidcIssuer[];
  grants: Grant[];
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https, or http on a loopback host (a local issuer in tests and development). */
export function isAcceptableUrl(value: string): boolean {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return false;
  }
  if (u.username || u.password || u.hash) return false;
  return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
}

const Url = z
  .string()
  .min(1)
  .refine(isAcceptableUrl, 'must be an https:// URL (http:// only on localhost, 127.0.0.1 or [::1])');
const ClaimValue = z.union([z.string().min(1), z.number(), z.boolean()]).transform(String);

const Schema = z
  .object({
    issuers: z
      .array(
        z
          .object({
            issuer: Url,
            type: z.enum(ISSUER_TYPES),
            audience: z.string().min(1),
            jwksUri: Url.optional(),
            jwksFile: z.string().min(1).optional(),
            serverUrl: Url.optional(),
          })
          .strict(),
      )
      .min(1),
    grants: z
      .array(
        z
          .object({
            issuer: z.string().min(1),
            claims: z.record(z.string().min(1), ClaimValue),
            roles: z.array(z.string()).min(1),
            environments: z
              .array(z.string().regex(/^[a-z0-9-]{1,63}$/, 'an environment name'))
              .min(1)
              .optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export class OidcConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: invalid OIDC configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'OidcConfigError';
    this.problems = problems;
  }
}

function matcher(value: string): ClaimMatcher | string {
  if (!(value.startsWith('^') && value.endsWith('$'))) return { exact: value };
  try {
    // The group keeps a top-level alternation (^a|b$) anchored at both ends, as in policies.
    return { pattern: new RegExp(`^(?:${value})$`, 'u'), source: value };
  } catch (err) {
    return `invalid regular expression ${value}: ${(err as Error).message}`;
  }
}

/**
 * Parse the YAML text. `roles` are the known roles; `environments`, when given, the known
 * environment names a grant may name. Throws an OidcConfigError listing every problem.
 */
export function parseOidcConfig(
  text: string,
  opts: { source: string; roles: readonly string[]; environments?: readonly string[]; baseDir?: string },
): OidcConfig {
  let json: unknown;
  try {
    json = parseYaml(text);
  } catch (err) {
    throw new OidcConfigError(opts.source, [`not YAML: ${(err as Error).message}`]);
  }
  const parsed = Schema.safeParse(json);
  if (!parsed.success) {
    throw new OidcConfigError(
      opts.source,
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const issuers: OidcIssuer[] = [];
  const seen = new Set<string>();
  parsed.data.issuers.forEach((i, n) => {
    const issuer = i.issuer;
    if (seen.has(issuer)) problems.push(`issuers.${n}.issuer: ${issuer} is configured twice`);
    if (i.jwksUri && i.jwksFile) problems.push(`issuers.${n}: give jwksUri or jwksFile, not both`);
    seen.add(issuer);
    issuers.push({
      issuer,
      type: i.type,
      audience: i.audience,
      jwksUri: i.jwksUri,
      jwksFile: i.jwksFile && opts.baseDir ? path.resolve(opts.baseDir, i.jwksFile) : i.jwksFile,
      serverUrl: i.serverUrl?.replace(/\/+$/, ''),
    });
  });
  const grants: Grant[] = [];
  parsed.data.grants.forEach((g, n) => {
    if (!seen.has(g.issuer)) problems.push(`grants.${n}.issuer: ${g.issuer} is not one of the configured issuers`);
    const claims: Record<string, ClaimMatcher> = {};
    for (const [name, value] of Object.entries(g.claims)) {
      const m = matcher(value);
      if (typeof m === 'string') problems.push(`grants.${n}.claims.${name}: ${m}`);
      else claims[name] = m;
    }
    for (const role of g.roles) {
      if (!opts.roles.includes(role)) problems.push(`grants.${n}.roles: unknown role "${role}"`);
      if (role === 'admin') problems.push(`grants.${n}.roles: an ID token cannot be an admin`);
    }
    if (opts.environments && g.environments) {
      for (const e of g.environments) {
        if (!opts.environments.includes(e)) problems.push(`grants.${n}.environments: unknown environment "${e}"`);
      }
    }
    grants.push({ issuer: g.issuer, claims, roles: [...new Set(g.roles)].sort(), environments: g.environments });
  });
  if (problems.length > 0) throw new OidcConfigError(opts.source, problems);
  return { issuers, grants };
}

/** Read and parse the file WAYBILL_OIDC_CONFIG names (jwksFile paths are relative to it). */
export function loadOidcConfig(
  file: string,
  opts: { roles: readonly string[]; environments?: readonly string[] },
): OidcConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new OidcConfigError(file, [`cannot read: ${(err as Error).message}`]);
  }
  return parseOidcConfig(text, { ...opts, source: file, baseDir: path.dirname(path.resolve(file)) });
}
