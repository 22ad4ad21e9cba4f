// The only reader of the environment: parseConfig(env) is called once at the entry point and
// the resulting Config is passed down. Every bad key is reported at once, so an operator fixes
// a broken deployment in one round trip instead of one key at a time.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { messageOf } from './errors.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(0).max(65535);

const url = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

const pemOrFile = z.string().min(1).optional();

const MAX_TREE_ID = 2n ** 63n - 1n;

const schema = z.object({
  PORT: port.default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  WAYBILL_DATA_DIR: z.string().min(1).default('./.waybill'),
  DATABASE_URL: z
    .string()
    .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  WAYBILL_ISSUER: url.optional(),
  WAYBILL_POLICIES_DIR: z.string().min(1).default('./policies'),
  WAYBILL_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters (use a random 256-bit secret)').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  WAYBILL_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  WAYBILL_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  WAYBILL_SIGNING_THREADS: z.coerce.number().int().min(0).max(16).optional(),
  WAYBILL_CA_KEY: pemOrFile,
  WAYBILL_CA_KEY_FILE: pemOrFile,
  WAYBILL_CA_CHAIN: pemOrFile,
  WAYBILL_CA_CHAIN_FILE: pemOrFile,
  WAYBILL_LOG_KEY: pemOrFile,
  WAYBILL_LOG_KEY_FILE: pemOrFile,
  // A decimal string, not a JS number: tree ids are int64 (Rekor's are 56-bit and more), and a
  // number would round them and change the checkpoint origin.
  WAYBILL_LOG_TREE_ID: z
    .string()
    .regex(/^[1-9][0-9]{0,18}$/, 'must be a decimal integer from 1 to 2^63-1, without leading zeros')
    .refine((v) => !/^[0-9]+$/.test(v) || BigInt(v) <= MAX_TREE_ID, 'must be at most 2^63-1 (9223372036854775807)')
    .optional(),
  WAYBILL_TRUST_HISTORY_FILE: z.string().min(1).optional(),
  WAYBILL_ALLOWED_PREDICATES: z.string().min(1).optional(),
  WAYBILL_EXTERNAL_TRUST_ROOTS: z.string().min(1).optional(),
  WAYBILL_EXTERNAL_IDENTITIES: z.string().min(1).optional(),
  WAYBILL_EXTERNAL_KEYS: z.string().min(1).optional(),
  // Workload identity: the OIDC issuers and grants file (src/identity/config.ts reads it).
  WAYBILL_OIDC_CONFIG: z.string().min(1).optional(),
  // Kubernetes admission: namespaces to environments (src/services/admission-config.ts reads it).
  WAYBILL_ADMISSION_CONFIG: z.string().min(1).optional(),
  // Signed webhooks: receivers and the events each gets.
  WAYBILL_WEBHOOKS: z.string().min(1).optional(),
});

/** Evidence types POST /v1/attestations accepts unless WAYBILL_ALLOWED_PREDICATES says otherwise. */
export const DEFAULT_ALLOWED_PREDICATES = [
  'https://in-toto.io/attestation/test-result/v0.1',
  'https://in-toto.io/attestation/vulns/v0.2',
  'https://in-toto.io/attestation/vulns',
  'https://spdx.dev/Document',
  'https://spdx.dev/Document/v2.3',
  'https://spdx.dev/Document/v3.0',
  'https://cyclonedx.org/bom',
  'https://cyclonedx.org/bom/v1.4',
  'https://cyclonedx.org/bom/v1.5',
  'https://cyclonedx.org/bom/v1.6',
] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  database: { driver: 'pglite'; dataDir: string } | { driver: 'postgres'; url: string };
  issuer: string;
  policiesDir: string;
  adminToken: string | undefined;
  logLevel: LogLevel;
  bodyLimit: number;
  shutdownTimeoutMs: number;
  /**
   * Worker threads that sign on Node (0: sign on the event loop; undefined: with PostgreSQL one per
   * spare core, 1 to 4, with PGlite none).
   */
  signingThreads: number | undefined;
  keys: {
    caKeyPem: string | undefined;
    caChainPem: string | undefined;
    logKeyPem: string | undefined;
  };
  /** The checkpoint origin's tree id (decimal, 1 to 2^63-1); undefined derives it from the log key. */
  logTreeId: string | undefined;
  /** Retired CAs and log keys (a TrustedRoot JSON) still listed in the served trusted root. */
  trustHistory: { certificateAuthorities: unknown[]; tlogs: unknown[] } | undefined;
  allowedPredicates: string[];
  external: { trustRootFiles: string[]; identitiesFile: string | undefined; keyFiles: string[] };
  /** WAYBILL_OIDC_CONFIG, resolved: OIDC ID tokens are accepted as callers only when set. */
  oidcConfigFile: string | undefined;
  /** WAYBILL_ADMISSION_CONFIG, resolved: POST /v1/admission/kubernetes denies everything without it. */
  admissionConfigFile: string | undefined;
  /** WAYBILL_WEBHOOKS, resolved: no webhooks without it. */
  webhooksFile: string | undefined;
  /** The values of the environment variables the webhooks file names with `secretEnv` (never logged). */
  webhookSecrets: Record<string, string>;
}

export class ConfigError extends Error {
  readonly issues: Array<{ key: string; message: string }>;
  constructor(issues: Array<{ key: string; message: string }>) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

type Env = Record<string, string | undefined>;

export function parseConfig(env: Env, cwd: string = process.cwd()): Config {
  // Empty strings are treated as unset: `FOO= npm start` should mean "default", not "invalid".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  const issues: Array<{ key: string; message: string }> = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ key: issue.path.join('.') || '(root)', message: issue.message });
    }
    throw new ConfigError(issues);
  }
  const e = parsed.data;

  const secret = (key: 'WAYBILL_CA_KEY' | 'WAYBILL_CA_CHAIN' | 'WAYBILL_LOG_KEY') => {
    const inline = e[key];
    const file = e[`${key}_FILE`];
    if (inline && file) {
      issues.push({ key, message: `set either ${key} or ${key}_FILE, not both` });
      return undefined;
    }
    if (file) {
      try {
        return readFileSync(path.resolve(cwd, file), 'utf8');
      } catch (err) {
        issues.push({ key: `${key}_FILE`, message: `cannot read ${file}: ${messageOf(err)}` });
        return undefined;
      }
    }
    return inline;
  };
  const keys = {
    caKeyPem: secret('WAYBILL_CA_KEY'),
    caChainPem: secret('WAYBILL_CA_CHAIN'),
    logKeyPem: secret('WAYBILL_LOG_KEY'),
  };
  const given = Object.values(keys).filter(Boolean).length;
  if (given !== 0 && given !== 3) {
    issues.push({
      key: 'WAYBILL_CA_KEY',
      message:
        'WAYBILL_CA_KEY, WAYBILL_CA_CHAIN and WAYBILL_LOG_KEY go together: ' +
        'give all three or none (none generates development keys)',
    });
  }
  let trustHistory: Config['trustHistory'];
  if (e.WAYBILL_TRUST_HISTORY_FILE) {
    try {
      const json = JSON.parse(readFileSync(path.resolve(cwd, e.WAYBILL_TRUST_HISTORY_FILE), 'utf8')) as Record<
        string,
        unknown
      >;
      if (!String(json.mediaType ?? '').startsWith('application/vnd.dev.sigstore.trustedroot')) {
        throw new Error('not a TrustedRoot (mediaType application/vnd.dev.sigstore.trustedroot+json;version=0.1)');
      }
      trustHistory = {
        certificateAuthorities: Array.isArray(json.certificateAuthorities) ? json.certificateAuthorities : [],
        tlogs: Array.isArray(json.tlogs) ? json.tlogs : [],
      };
    } catch (err) {
      issues.push({
        key: 'WAYBILL_TRUST_HISTORY_FILE',
        message: `cannot use ${e.WAYBILL_TRUST_HISTORY_FILE}: ${messageOf(err)}`,
      });
    }
  }
  const list = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const allowedPredicates = e.WAYBILL_ALLOWED_PREDICATES
    ? list(e.WAYBILL_ALLOWED_PREDICATES)
    : [...DEFAULT_ALLOWED_PREDICATES];
  for (const p of allowedPredicates) {
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/.test(p))
      issues.push({ key: 'WAYBILL_ALLOWED_PREDICATES', message: `"${p}" is not a URI` });
  }
  const resolveFile = (f: string) => (f === 'public-good' ? f : path.resolve(cwd, f));
  const external = {
    // Ingestion trusts the public-good Sigstore root by default, so GitHub and npm bundles work.
    trustRootFiles: (e.WAYBILL_EXTERNAL_TRUST_ROOTS ? list(e.WAYBILL_EXTERNAL_TRUST_ROOTS) : ['public-good']).map(
      resolveFile,
    ),
    identitiesFile: e.WAYBILL_EXTERNAL_IDENTITIES ? path.resolve(cwd, e.WAYBILL_EXTERNAL_IDENTITIES) : undefined,
    // `[hint=]path` specs; the hint may end in base64 padding, so external.ts's parseKeySpec splits them.
    keyFiles: list(e.WAYBILL_EXTERNAL_KEYS),
  };
  // The webhooks file may name its secrets by environment variable (`secretEnv`); only this module
  // reads the environment, so those are picked here. The file itself is checked by preflight.
  const webhookSecrets: Record<string, string> = {};
  if (e.WAYBILL_WEBHOOKS) {
    try {
      const text = readFileSync(path.resolve(cwd, e.WAYBILL_WEBHOOKS), 'utf8');
      for (const m of text.matchAll(/secretEnv\s*:\s*["']?([A-Za-z_][A-Za-z0-9_]*)/g)) {
        const value = cleaned[m[1]!];
        if (value !== undefined) webhookSecrets[m[1]!] = value;
      }
    } catch {
      // unreadable: preflight says so, with the file's name
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const dataDir = path.resolve(cwd, e.WAYBILL_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    database: e.DATABASE_URL
      ? { driver: 'postgres', url: e.DATABASE_URL }
      : { driver: 'pglite', dataDir: path.join(dataDir, 'pgdata') },
    issuer: (e.WAYBILL_ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    policiesDir: path.resolve(cwd, e.WAYBILL_POLICIES_DIR),
    adminToken: e.WAYBILL_ADMIN_TOKEN,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.WAYBILL_BODY_LIMIT,
    shutdownTimeoutMs: e.WAYBILL_SHUTDOWN_TIMEOUT_MS,
    signingThreads: e.WAYBILL_SIGNING_THREADS,
    keys,
    logTreeId: e.WAYBILL_LOG_TREE_ID,
    trustHistory,
    allowedPredicates,
    external,
    oidcConfigFile: e.WAYBILL_OIDC_CONFIG ? path.resolve(cwd, e.WAYBILL_OIDC_CONFIG) : undefined,
    admissionConfigFile: e.WAYBILL_ADMISSION_CONFIG ? path.resolve(cwd, e.WAYBILL_ADMISSION_CONFIG) : undefined,
    webhooksFile: e.WAYBILL_WEBHOOKS ? path.resolve(cwd, e.WAYBILL_WEBHOOKS) : undefined,
    webhookSecrets,
  };
}

// ---------------------------------------------------------------------------------------------
// Workers: the same variable names, from Worker vars and secrets. A Worker has no files, so the
// settings that name a file on Node hold the file's content there, and those that only mean
// something to a Node process are refused rather than silently ignored.

/** Node-only settings and what stands in for each on Workers. */
const NODE_ONLY: Record<string, string> = {
  PORT: 'wrangler serves the Worker (wrangler dev --port)',
  HOST: 'wrangler serves the Worker (wrangler dev --ip)',
  WAYBILL_DATA_DIR: 'a Worker has no data directory',
  DATABASE_URL: 'the database is the Hyperdrive binding HYPERDRIVE (wrangler.toml)',
  WAYBILL_POLICIES_DIR: 'the policies/ directory is bundled at deploy',
  WAYBILL_SHUTDOWN_TIMEOUT_MS: 'a Worker has no process to shut down',
  WAYBILL_SIGNING_THREADS: 'a Worker signs in its isolate',
  WAYBILL_CA_KEY_FILE: 'set WAYBILL_CA_KEY (a secret) instead',
  WAYBILL_CA_CHAIN_FILE: 'set WAYBILL_CA_CHAIN instead',
  WAYBILL_LOG_KEY_FILE: 'set WAYBILL_LOG_KEY (a secret) instead',
  WAYBILL_TRUST_HISTORY_FILE: 'not supported on Workers yet (docs/workers.md)',
  WAYBILL_ADMISSION_CONFIG: 'Kubernetes admission runs on the Node server only (docs/kubernetes.md)',
  WAYBILL_WEBHOOKS: 'webhook delivery needs a long-running process: the Node server (docs/kubernetes.md)',
};

/** Trust material and OIDC issuers as Worker vars give them (content, not file names). */
export interface WorkerSources {
  /** `public-good` (the root bundled from @sigstore/tuf) or a TrustedRoot JSON object. */
  externalRoots: Array<'public-good' | { name: string; trustedRoot: unknown }>;
  externalKeys: Array<{ name: string; pem: string; hint?: string }>;
  /** The identity rules JSON, or undefined for none. */
  externalIdentities: unknown;
  /** WAYBILL_OIDC_CONFIG's YAML (or JSON) text. */
  oidcConfig: string | undefined;
}

const CONTENT_KEYS = [
  'WAYBILL_EXTERNAL_TRUST_ROOTS',
  'WAYBILL_EXTERNAL_IDENTITIES',
  'WAYBILL_EXTERNAL_KEYS',
  'WAYBILL_OIDC_CONFIG',
] as const;

/**
 * A Worker's configuration from its env (vars and secrets; wrangler.toml tables arrive as
 * objects). Keys and the issuer are required: there is no data directory to generate keys into
 * and no sensible default host. Every problem is reported at once, as `parseConfig` does.
 */
export function parseWorkerConfig(env: Record<string, unknown>): { config: Config; sources: WorkerSources } {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v === 'string') vars[k] = v;
    else if (v !== null && typeof v === 'object' && !('connectionString' in v) && !('idFromName' in v))
      vars[k] = JSON.stringify(v);
  }
  const issues: Array<{ key: string; message: string }> = [];
  for (const [key, instead] of Object.entries(NODE_ONLY)) {
    if (vars[key]) issues.push({ key, message: `not used on Workers: ${instead}` });
  }
  for (const key of ['WAYBILL_ISSUER', 'WAYBILL_CA_KEY', 'WAYBILL_CA_CHAIN', 'WAYBILL_LOG_KEY'])
    if (!vars[key]) issues.push({ key, message: 'required on Workers (docs/workers.md)' });
  const nodeLike = Object.fromEntries(
    Object.entries(vars).filter(([k]) => !(k in NODE_ONLY) && !(CONTENT_KEYS as readonly string[]).includes(k)),
  );
  let config: Config | undefined;
  try {
    config = parseConfig(nodeLike, '/');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  const sources: WorkerSources = {
    externalRoots: workerRoots(vars.WAYBILL_EXTERNAL_TRUST_ROOTS, issues),
    externalKeys: workerKeys(vars.WAYBILL_EXTERNAL_KEYS, issues),
    externalIdentities: vars.WAYBILL_EXTERNAL_IDENTITIES
      ? json(vars.WAYBILL_EXTERNAL_IDENTITIES, 'WAYBILL_EXTERNAL_IDENTITIES', issues)
      : undefined,
    oidcConfig: vars.WAYBILL_OIDC_CONFIG || undefined,
  };
  if (issues.length > 0 || !config) throw new ConfigError(issues);
  return { config, sources };
}

function json(text: string, key: string, issues: Array<{ key: string; message: string }>): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    issues.push({ key, message: `not valid JSON: ${messageOf(err)}` });
    return undefined;
  }
}

// `public-good`, a TrustedRoot JSON object, or a JSON array of those; unset means public-good.
function workerRoots(value: string | undefined, issues: Array<{ key: string; message: string }>) {
  const key = 'WAYBILL_EXTERNAL_TRUST_ROOTS';
  const text = value?.trim() ?? '';
  let items: unknown[];
  if (text === '') items = ['public-good'];
  else if (text.startsWith('{') || text.startsWith('[')) {
    const parsed = json(text, key, issues);
    items = Array.isArray(parsed) ? parsed : [parsed];
  } else items = text.split(',').map((s) => s.trim());
  const out: WorkerSources['externalRoots'] = [];
  items.forEach((item, i) => {
    if (item === 'public-good') out.push('public-good');
    else if (item !== null && typeof item === 'object') out.push({ name: `${key}[${i}]`, trustedRoot: item });
    else if (item !== undefined)
      issues.push({
        key,
        message: `"${String(item)}": a Worker has no files; give "public-good" or the TrustedRoot JSON itself`,
      });
  });
  return out;
}

// A JSON array of {"pem", "hint"?}, or one PEM public key.
function workerKeys(value: string | undefined, issues: Array<{ key: string; message: string }>) {
  const key = 'WAYBILL_EXTERNAL_KEYS';
  const text = value?.trim() ?? '';
  if (text === '') return [];
  if (text.startsWith('-----BEGIN')) return [{ name: key, pem: text }];
  const parsed = json(text, key, issues);
  if (parsed === undefined) return [];
  if (!Array.isArray(parsed)) {
    issues.push({ key, message: 'a Worker has no files; give a PEM public key or a JSON array of {"pem", "hint"?}' });
    return [];
  }
  const out: WorkerSources['externalKeys'] = [];
  parsed.forEach((k: unknown, i) => {
    const { pem, hint } = (k ?? {}) as { pem?: unknown; hint?: unknown };
    if (typeof pem !== 'string' || (hint !== undefined && typeof hint !== 'string'))
      issues.push({ key, message: `[${i}] must be {"pem": "<PEM public key>", "hint"?: "<key hint>"}` });
    else out.push({ name: `${key}[${i}]`, pem, ...(hint !== undefined ? { hint } : {}) });
  });
  return out;
}
