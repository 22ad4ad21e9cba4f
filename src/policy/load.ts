// Policy files -> Policy objects, validated at start-up. Every problem in every file is
// collected and reported as `file:line:col: reason` (the line found through the YAML node
// ranges), so one run of `waybill policy check` shows all of them.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { messageOf } from '../errors.ts';
import { isPlainObject } from '../intoto/fields.ts';
import { parseDuration } from '../util/duration.ts';
import { sha256hex } from '../util/encoding.ts';
import { ENVIRONMENT_NAME } from './environments.ts';
import { KNOWN_FIELDS, type PolicyFile, policyFileSchema } from './schema.ts';
import { deployedRuleName, type Policy, type PolicySet, type Rule } from './types.ts';

const DEFAULT_VERDICT_TTL = '15m';
const DEFAULT_MIN_APPROVALS = 2;

export interface LoadOptions {
  /** waybill's issuer URL: what `$self` means, and the base of each policy's `uri`. */
  issuer: string;
}

/** One thing wrong with a policy file; line and column are 1-based, 0 when the problem is the file itself. */
export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}:${p.column}: ${p.message}` : `${p.file}: ${p.message}`;
}

export class PolicyLoadError extends Error {
  override readonly name = 'PolicyLoadError';
  readonly problems: readonly PolicyProblem[];

  constructor(problems: readonly PolicyProblem[]) {
    const n = problems.length;
    super(
      `invalid policies (${n} problem${n === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
    this.problems = problems;
  }
}

export interface PolicySource {
  /** The file name or path, as it should appear in problems; its base name is `<environment>.yaml`. */
  file: string;
  content: string | Uint8Array;
}

/** Read, validate and link every `*.yaml` in `dir`; throws PolicyLoadError listing every problem. */
export function loadPolicies(dir: string, opts: LoadOptions): PolicySet {
  const result = checkPolicies(dir, opts);
  if (!result.ok) throw new PolicyLoadError(result.problems);
  return result.policies;
}

/** What `waybill policy check` reports: the policy set, or every problem found. */
export function checkPolicies(
  dir: string,
  opts: LoadOptions,
): { ok: true; problems: []; policies: PolicySet } | { ok: false; problems: PolicyProblem[] } {
  const read = readPolicyDir(dir);
  if ('problem' in read) return { ok: false, problems: [read.problem] };
  return assemble(read.sources.map((s) => analyse(s, opts)));
}

/** parsePolicies without the file system: the same checks over given file contents. */
export function parsePolicies(sources: readonly PolicySource[], opts: LoadOptions): PolicySet {
  const result = assemble(sources.map((s) => analyse(s, opts)));
  if (!result.ok) throw new PolicyLoadError(result.problems);
  return result.policies;
}

/** One file on its own (no checks across files); throws PolicyLoadError. */
export function parsePolicy(content: string | Uint8Array, fileName: string, opts: LoadOptions): Policy {
  const a = analyse({ file: fileName, content }, opts);
  if (!a.policy) throw new PolicyLoadError(a.problems);
  return a.policy;
}

function readPolicyDir(dir: string): { sources: PolicySource[] } | { problem: PolicyProblem } {
  const fileProblem = (message: string) => ({ problem: { file: dir, line: 0, column: 0, message } });
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return fileProblem('the policies directory does not exist');
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) return fileProblem('no policy files (<environment>.yaml) in the policies directory');
  return { sources: names.map((name) => ({ file: join(dir, name), content: readFileSync(join(dir, name)) })) };
}

type Path = ReadonlyArray<PropertyKey>;
type Position = { line: number; column: number };

interface Analysed {
  file: string;
  /** The environment the file name gives, when it is a valid one. */
  environment: string | undefined;
  policy: Policy | undefined;
  /** `after` and rule environments as written, for the checks across files (even in a file with problems). */
  after: string | undefined;
  ruleEnvironments: Array<{ index: number; environment: string }>;
  problems: PolicyProblem[];
  at(path: Path): Position;
}

function analyse(source: PolicySource, opts: LoadOptions): Analysed {
  const { file } = source;
  const bytes = typeof source.content === 'string' ? Buffer.from(source.content, 'utf8') : source.content;
  const problems: PolicyProblem[] = [];
  const fileEnvironment = /^(.*)\.ya?ml$/.exec(basename(file))?.[1];
  const result: Analysed = {
    file,
    environment: fileEnvironment !== undefined && ENVIRONMENT_NAME.test(fileEnvironment) ? fileEnvironment : undefined,
    policy: undefined,
    after: undefined,
    ruleEnvironments: [],
    problems,
    at: () => ({ line: 1, column: 1 }),
  };
  const report = (position: Position, message: string) => problems.push({ file, ...position, message });
  if (result.environment === undefined) {
    report(
      { line: 0, column: 0 },
      'the file name must be <environment>.yaml, the environment 1-63 characters of a-z, 0-9 and -',
    );
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    report({ line: 0, column: 0 }, 'not valid UTF-8');
    return result;
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const linePos = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  result.at = (path) => locate(doc.contents, path, linePos).position;
  for (const e of [...doc.errors, ...doc.warnings]) report(linePos(e.pos[0]), `invalid YAML: ${e.message}`);
  if (doc.errors.length > 0) return result;

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    report({ line: 1, column: 1 }, `invalid YAML: ${messageOf(err)}`);
    return result;
  }

  const parsed = policyFileSchema(opts).safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const p of describeIssue(issue, doc.contents, linePos)) report(p.position, p.message);
    }
  }

  checkAcrossFields(raw, result, report);

  if (problems.length === 0 && parsed.success) {
    result.policy = toPolicy(parsed.data, file, bytes, opts);
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return result;
}

/** Checks across fields, on the raw value so they are reported even when another field is bad. */
function checkAcrossFields(
  raw: unknown,
  result: Analysed,
  report: (position: Position, message: string) => void,
): void {
  const rawPolicy = isPlainObject(raw) ? raw : {};
  const declared = rawPolicy.environment;
  if (
    typeof declared === 'string' &&
    ENVIRONMENT_NAME.test(declared) &&
    result.environment !== undefined &&
    declared !== result.environment
  ) {
    report(
      result.at(['environment']),
      `environment "${declared}" must equal the file name without .yaml ("${result.environment}")`,
    );
  }
  if (typeof rawPolicy.after === 'string' && ENVIRONMENT_NAME.test(rawPolicy.after)) result.after = rawPolicy.after;
  const rules = Array.isArray(rawPolicy.rules) ? rawPolicy.rules : [];
  const firstByName = new Map<string, number>();
  rules.forEach((rule: unknown, i) => {
    if (!isPlainObject(rule)) return;
    if (typeof rule.environment === 'string' && ENVIRONMENT_NAME.test(rule.environment)) {
      result.ruleEnvironments.push({ index: i, environment: rule.environment });
    }
    if (typeof rule.name !== 'string') return;
    const first = firstByName.get(rule.name);
    if (first !== undefined) {
      report(
        result.at(['rules', i, 'name']),
        `duplicate rule name "${rule.name}" (first used at line ${result.at(['rules', first, 'name']).line})`,
      );
    } else {
      firstByName.set(rule.name, i);
    }
    if (result.after !== undefined && rule.name === deployedRuleName(result.after)) {
      report(
        result.at(['rules', i, 'name']),
        `rule name "${rule.name}" is reserved for the implicit rule that "after: ${result.after}" adds`,
      );
    }
  });
}

function toPolicy(data: PolicyFile, file: string, bytes: Uint8Array, opts: LoadOptions): Policy {
  const rules: Rule[] = data.rules.map((r) =>
    Object.freeze({
      name: r.name,
      predicateType: r.predicateType,
      signer: r.signer
        ? Object.freeze({
            issuer: r.signer.issuer ?? null,
            subject: r.signer.subject?.source ?? null,
            subjectPattern: r.signer.subject?.pattern ?? null,
          })
        : null,
      signers: r.signers
        ? Object.freeze({
            min: r.signers.min,
            of: Object.freeze(
              r.signers.of.map((o) =>
                Object.freeze({ issuer: o.issuer, subject: o.subject.source, subjectPattern: o.subject.pattern }),
              ),
            ),
          })
        : null,
      environment: r.environment ?? null,
      where: r.where ?? null,
      maxAge: r.maxAge?.text ?? null,
      maxAgeMs: r.maxAge?.ms ?? null,
      absent: r.absent ?? false,
      transferable: r.transferable ?? false,
    }),
  );
  return Object.freeze({
    environment: data.environment,
    after: data.after ?? null,
    verdictTtl: data.verdictTtl?.text ?? DEFAULT_VERDICT_TTL,
    verdictTtlMs: data.verdictTtl?.ms ?? parseDuration(DEFAULT_VERDICT_TTL),
    rules: Object.freeze(rules),
    rebuilds: Object.freeze({
      allowWithException: data.rebuilds?.allowWithException ?? false,
      approvers: data.rebuilds?.approvers
        ? Object.freeze(
            data.rebuilds.approvers.map((o) =>
              Object.freeze({ issuer: o.issuer, subject: o.subject.source, subjectPattern: o.subject.pattern }),
            ),
          )
        : null,
      minApprovals: data.rebuilds?.minApprovals ?? DEFAULT_MIN_APPROVALS,
      require: Object.freeze([...(data.rebuilds?.require ?? [])]),
    }),
    file,
    content: Buffer.from(bytes).toString('utf8'),
    digest: Object.freeze({ sha256: sha256hex(bytes) }),
    uri: `${opts.issuer.replace(/\/+$/, '')}/policies/${data.environment}.yaml`,
  });
}

/** Checks across files (names, `after`, rule environments), then the promotion order. */
function assemble(
  files: Analysed[],
): { ok: true; problems: []; policies: PolicySet } | { ok: false; problems: PolicyProblem[] } {
  const problems = files.flatMap((f) => f.problems);
  const byEnvironment = new Map<string, Analysed>();
  for (const f of files) {
    if (f.environment === undefined) continue;
    const other = byEnvironment.get(f.environment);
    if (other)
      problems.push({
        file: f.file,
        line: 0,
        column: 0,
        message: `a second policy file for environment "${f.environment}" (also ${other.file})`,
      });
    else byEnvironment.set(f.environment, f);
  }
  const known = [...byEnvironment.keys()].sort().join(', ');
  for (const f of byEnvironment.values()) {
    if (f.after !== undefined && !byEnvironment.has(f.after)) {
      problems.push({
        file: f.file,
        ...f.at(['after']),
        message: `after: "${f.after}" names an environment with no policy file (environments: ${known})`,
      });
    }
    for (const { index, environment } of f.ruleEnvironments) {
      if (!byEnvironment.has(environment)) {
        problems.push({
          file: f.file,
          ...f.at(['rules', index, 'environment']),
          message:
            `environment "${environment}" has no policy file, ` +
            `so no evidence can be recorded for it (environments: ${known})`,
        });
      }
    }
  }
  for (const cycle of afterCycles(byEnvironment)) {
    for (const environment of cycle) {
      const f = byEnvironment.get(environment)!;
      problems.push({
        file: f.file,
        ...f.at(['after']),
        message: `the after chain is a cycle: ${[...cycle, cycle[0]].join(' -> ')}`,
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const policies = new Map([...byEnvironment].map(([env, f]) => [env, f.policy!] as const));
  return {
    ok: true,
    problems: [],
    policies: Object.freeze({ policies, order: Object.freeze(promotionOrder(policies)) }),
  };
}

/** Each cycle of `after` links once, starting from its alphabetically first environment. */
function afterCycles(files: ReadonlyMap<string, Analysed>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  for (const start of [...files.keys()].sort()) {
    const walk: string[] = [];
    let env: string | undefined = start;
    while (env !== undefined && files.has(env) && !done.has(env) && !walk.includes(env)) {
      walk.push(env);
      env = files.get(env)!.after;
    }
    if (env !== undefined && walk.includes(env)) {
      const cycle = walk.slice(walk.indexOf(env));
      const first = [...cycle].sort()[0]!;
      cycles.push([...cycle.slice(cycle.indexOf(first)), ...cycle.slice(0, cycle.indexOf(first))]);
    }
    for (const e of walk) done.add(e);
  }
  return cycles;
}

/** Roots first, then each environment's followers depth first, siblings by name. */
function promotionOrder(policies: ReadonlyMap<string, Policy>): string[] {
  const followers = new Map<string | null, string[]>();
  for (const p of [...policies.values()].sort((a, b) => a.environment.localeCompare(b.environment))) {
    const list = followers.get(p.after) ?? [];
    list.push(p.environment);
    followers.set(p.after, list);
  }
  const order: string[] = [];
  const visit = (env: string) => {
    order.push(env);
    for (const next of followers.get(env) ?? []) visit(next);
  };
  for (const root of followers.get(null) ?? []) visit(root);
  return order;
}

/** Turn one zod issue into messages at the lines it concerns. */
function describeIssue(
  issue: z.core.$ZodIssue,
  root: unknown,
  linePos: (offset: number) => Position,
): Array<{ position: Position; message: string }> {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = KNOWN_FIELDS[objectKind(path)];
    return issue.keys.map((key) => ({
      position: locate(root, [...path, key], linePos, { key: true }).position,
      message: `${fieldName([...path, key])}: unknown field "${key}"; the fields here are ${known.join(', ')}`,
    }));
  }
  const found = locate(root, path, linePos);
  if (path.length === 0 && issue.code === 'invalid_type') {
    return [
      { position: found.position, message: 'a policy file must be a YAML mapping with at least environment and rules' },
    ];
  }
  if (!found.exact && issue.code === 'invalid_type') {
    return [{ position: found.position, message: `missing required field "${fieldName(path)}"` }];
  }
  return [{ position: found.position, message: `${fieldName(path)}: ${issue.message}` }];
}

function objectKind(path: Path): keyof typeof KNOWN_FIELDS {
  if (path.length === 0) return 'policy';
  if (path[0] === 'rebuilds') return path[1] === 'approvers' && path.length === 3 ? 'approvers' : 'rebuilds';
  if (path.at(-1) === 'signer') return 'signer';
  if (path.at(-1) === 'signers') return 'signers';
  if (path.at(-3) === 'signers' && path.at(-2) === 'of') return 'signersOf';
  return 'rule';
}

/** `rules[1].signer.subject` */
function fieldName(path: Path): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : `${i === 0 ? '' : '.'}${String(seg)}`)).join('');
}

/**
 * The position of the YAML node at `path` (its key with `key: true`). When the path does not
 * exist, the deepest node that does, with `exact: false`.
 */
function locate(
  root: unknown,
  path: Path,
  linePos: (offset: number) => Position,
  opts: { key?: boolean } = {},
): { position: Position; exact: boolean } {
  const at = (node: unknown, exact: boolean) => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return { position: range ? linePos(range[0]) : { line: 1, column: 1 }, exact };
  };
  let node: unknown = root;
  let keyNode: unknown;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return at(node, false);
      keyNode = pair.key;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      keyNode = undefined;
      node = node.items[seg];
    } else {
      return at(node, false);
    }
  }
  return at(opts.key && keyNode ? keyNode : node, true);
}
