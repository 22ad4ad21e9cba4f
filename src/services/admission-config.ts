// The admission configuration file (WAYBILL_ADMISSION_CONFIG): which Kubernetes namespaces belong
// to which waybill environment, and whether waybill enforces there or only audits. Parsed once at
// start-up (src/preflight.ts); any problem stops start-up with every bad field named.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { globRegExp } from '../util/glob.ts';

export type Enforcement = 'enforce' | 'audit';

export interface AdmissionEnvironment {
  environment: string;
  /** The namespace patterns as written: exact names, or with `*` matching any run of characters. */
  namespaces: string[];
  enforcement: Enforcement;
}

export interface AdmissionConfig {
  environments: AdmissionEnvironment[];
}

/** A namespace pattern: a DNS label, where `*` may stand for any run of characters. */
const NamespacePattern = z
  .string()
  .regex(/^[a-z0-9*]([a-z0-9*-]{0,62})$/, 'a namespace name, where * matches any run of characters');

const Schema = z
  .object({
    environments: z.record(
      z.string(),
      z
        .object({
          namespaces: z.array(NamespacePattern).min(1),
          enforcement: z.enum(['enforce', 'audit']).default('enforce'),
        })
        .strict(),
    ),
  })
  .strict();

export class AdmissionConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: invalid admission configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'AdmissionConfigError';
    this.problems = problems;
  }
}

/** The environment a namespace belongs to, or undefined (which admission denies). */
export function environmentOfNamespace(config: AdmissionConfig, namespace: string): AdmissionEnvironment | undefined {
  for (const env of config.environments) {
    if (env.namespaces.some((p) => globRegExp(p).test(namespace))) return env;
  }
  return undefined;
}

/** Parse the YAML text; `environments` are the configured policy environments. */
export function parseAdmissionConfig(
  text: string,
  opts: { source: string; environments: readonly string[] },
): AdmissionConfig {
  let json: unknown;
  try {
    json = parseYaml(text);
  } catch (err) {
    throw new AdmissionConfigError(opts.source, [`not YAML: ${(err as Error).message}`]);
  }
  const parsed = Schema.safeParse(json);
  if (!parsed.success) {
    throw new AdmissionConfigError(
      opts.source,
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const environments: AdmissionEnvironment[] = [];
  // A namespace name that two environments' exact names share is ambiguous; overlapping globs are
  // resolved by order (the first environment listed wins), which the docs say.
  const exact = new Map<string, string>();
  for (const [name, env] of Object.entries(parsed.data.environments)) {
    if (!opts.environments.includes(name)) {
      const known = opts.environments.join(', ') || 'none configured';
      problems.push(`environments.${name}: unknown environment (the policies define: ${known})`);
    }
    for (const ns of env.namespaces) {
      if (ns.includes('*')) continue;
      const other = exact.get(ns);
      if (other && other !== name) problems.push(`environments.${name}.namespaces: ${ns} is also in ${other}`);
      exact.set(ns, name);
    }
    environments.push({ environment: name, namespaces: env.namespaces, enforcement: env.enforcement });
  }
  if (environments.length === 0) problems.push('environments: name at least one environment');
  if (problems.length > 0) throw new AdmissionConfigError(opts.source, problems);
  return { environments };
}

/** Read and parse the file WAYBILL_ADMISSION_CONFIG names. */
export function loadAdmissionConfig(file: string, opts: { environments: readonly string[] }): AdmissionConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AdmissionConfigError(file, [`cannot read: ${(err as Error).message}`]);
  }
  return parseAdmissionConfig(text, { ...opts, source: file });
}
