import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkPolicies,
  loadPolicies,
  PolicyLoadError,
  type PolicyProblem,
  type PolicySource,
  parsePolicies,
  parsePolicy,
} from '../../src/policy/load.ts';
import { sha256 } from '../helpers/statements.ts';

const opts = { issuer: 'http://localhost:8787' };
const PROVENANCE = 'https://slsa.dev/provenance/v1';
/** One rule named `a` on provenance, as the YAML of a policy file. */
const RULE_A = `rules:\n  - name: a\n    predicateType: ${PROVENANCE}\n`;

const DEV = `environment: dev
rules:
  - name: has-provenance
    predicateType: ${PROVENANCE}
`;

/** The problems parsePolicies reports for these files (dev.yaml added unless given). */
function problemsOf(files: Record<string, string>): PolicyProblem[] {
  const sources: PolicySource[] = Object.entries({ 'dev.yaml': DEV, ...files }).map(([file, content]) => ({
    file,
    content,
  }));
  try {
    parsePolicies(sources, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyLoadError);
    return [...(err as PolicyLoadError).problems];
  }
  throw new Error('expected the policies to be rejected');
}

/** Exactly one problem, at `file:line`, whose message matches. */
function expectOneProblem(files: Record<string, string>, file: string, line: number, message: RegExp) {
  const problems = problemsOf(files);
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  expect(problems[0]).toMatchObject({ file, line });
  expect(problems[0]!.message).toMatch(message);
  return problems[0]!;
}

const tmp = mkdtempSync(join(tmpdir(), 'waybill-policies-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
function policyDir(files: Record<string, string>): string {
  const dir = join(tmp, String(dirs++));
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('the default policies', () => {
  it('load, in promotion order dev -> staging -> production', () => {
    const set = loadPolicies('policies', opts);
    expect(set.order).toEqual(['dev', 'staging', 'production']);
    expect(set.policies.get('staging')!.after).toBe('dev');
    expect(set.policies.get('production')!.after).toBe('staging');
  });

  it('require provenance signed through this waybill ($self is the issuer option)', () => {
    const set = loadPolicies('policies', { issuer: 'https://waybill.example.com/' });
    for (const env of ['dev', 'staging', 'production']) {
      const rule = set.policies.get(env)!.rules.find((r) => r.predicateType === PROVENANCE)!;
      expect(rule.signer!.issuer).toBe('https://waybill.example.com/');
    }
  });

  it('make production require no FAILED staging test result (an absent rule)', () => {
    const production = loadPolicies('policies', opts).policies.get('production')!;
    const absent = production.rules.filter((r) => r.absent);
    expect(absent).toHaveLength(1);
    expect(absent[0]).toMatchObject({
      environment: 'staging',
      predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
    });
    expect(absent[0]!.where!.source).toBe('predicate.result == "FAILED"');
  });

  it('carry the SHA-256 of their file bytes and a policy URI under the issuer', () => {
    const staging = loadPolicies('policies', { issuer: 'http://localhost:8787/' }).policies.get('staging')!;
    expect(staging.uri).toBe('http://localhost:8787/policies/staging.yaml');
    expect(staging.digest.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(staging.file).toBe(join('policies', 'staging.yaml'));
  });
});

describe('a valid policy file', () => {
  const text = `environment: production
after: staging
verdictTtl: 1h
rules:
  - name: built-by-trusted-ci
    predicateType: ${PROVENANCE}
    signer:
      issuer: "https://token.actions.githubusercontent.com"
      subject: "^https://ci\\\\.example\\\\.com/.*$"
    where: predicate.runDetails.builder.id == "https://ci.example.com/builder/v1"
    maxAge: 7d
    transferable: true
rebuilds:
  allowWithException: true
  require: [pinned-dependencies, same-builder]
`;

  it('is parsed field by field', () => {
    const p = parsePolicy(text, 'production.yaml', opts);
    expect(p).toMatchObject({ environment: 'production', after: 'staging', verdictTtl: '1h', verdictTtlMs: 3_600_000 });
    expect(p.rules[0]).toMatchObject({
      name: 'built-by-trusted-ci',
      predicateType: PROVENANCE,
      signer: { issuer: 'https://token.actions.githubusercontent.com', subject: '^https://ci\\.example\\.com/.*$' },
      environment: null,
      maxAge: '7d',
      maxAgeMs: 7 * 86_400_000,
      absent: false,
      transferable: true,
    });
    expect(p.rebuilds).toEqual({
      allowWithException: true,
      approvers: null,
      minApprovals: 2,
      require: ['pinned-dependencies', 'same-builder'],
    });
  });

  it('digests the exact bytes of the file', () => {
    expect(parsePolicy(text, 'production.yaml', opts).digest.sha256).toBe(sha256(text));
    expect(parsePolicy(Buffer.from(text), 'production.yaml', opts).digest.sha256).toBe(sha256(text));
  });

  it('gets the defaults: verdictTtl 15m, no rebuild exceptions, two approvals', () => {
    const p = parsePolicy(DEV, 'dev.yaml', opts);
    expect(p).toMatchObject({ after: null, verdictTtl: '15m', verdictTtlMs: 900_000 });
    expect(p.rebuilds).toEqual({ allowWithException: false, approvers: null, minApprovals: 2, require: [] });
    expect(p.rules[0]).toMatchObject({
      signer: null,
      environment: null,
      where: null,
      maxAge: null,
      absent: false,
      transferable: false,
    });
  });

  it('matches the signer subject against the whole subject, even with a top-level alternation', () => {
    const p = parsePolicy(
      `environment: dev\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n    signer:\n      subject: ` +
        `"^https://a\\\\.example/x|https://b\\\\.example/y$"\n`,
      'dev.yaml',
      opts,
    );
    const pattern = p.rules[0]!.signer!.subjectPattern!;
    expect(pattern.test('https://a.example/x')).toBe(true);
    expect(pattern.test('https://b.example/y')).toBe(true);
    expect(pattern.test('https://a.example/x/evil')).toBe(false);
    expect(pattern.test('https://evil/https://b.example/y')).toBe(false);
  });
});

describe('an invalid policy is reported with its file and line', () => {
  it('bad YAML', () => {
    expectOneProblem(
      { 'staging.yaml': 'environment: staging\nrules:\n\t- name: a\n' },
      'staging.yaml',
      3,
      /invalid YAML: Tabs/,
    );
  });

  it('a duplicate YAML key', () => {
    const text = `environment: staging\nrules:\n  - name: a\n    name: b\n    predicateType: ${PROVENANCE}\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 4, /Map keys must be unique/);
  });

  it('an unknown field, at the field', () => {
    const text = `environment: staging\nrules:\n  - name: a\n    predicatType: ${PROVENANCE}\n`;
    const problems = problemsOf({ 'staging.yaml': text });
    expect(problems.map((p) => [p.line, p.column])).toEqual([
      [3, 5],
      [4, 5],
    ]);
    expect(problems[0]!.message).toBe('missing required field "rules[0].predicateType"');
    expect(problems[1]!.message).toMatch(
      /^rules\[0\]\.predicatType: unknown field "predicatType"; the fields here are name, predicateType/,
    );
  });

  it('an unknown top-level field', () => {
    expectOneProblem(
      {
        'staging.yaml': `environment: staging\nverdictTTL: 15m\n${RULE_A}`,
      },
      'staging.yaml',
      2,
      /unknown field "verdictTTL"/,
    );
  });

  it('a wrong type', () => {
    const p = expectOneProblem(
      {
        'staging.yaml': `environment: staging\n${RULE_A}    absent: "yes"\n`,
      },
      'staging.yaml',
      5,
      /^rules\[0\]\.absent: .*expected boolean/,
    );
    expect(p.column).toBe(13);
  });

  it('missing rules, and an empty rule list', () => {
    expectOneProblem(
      { 'staging.yaml': 'environment: staging\nafter: dev\n' },
      'staging.yaml',
      1,
      /^missing required field "rules"$/,
    );
    expectOneProblem({ 'staging.yaml': 'environment: staging\nrules: []\n' }, 'staging.yaml', 2, /at least one rule/);
  });

  it('a file that is not a mapping', () => {
    expectOneProblem({ 'staging.yaml': '' }, 'staging.yaml', 1, /must be a YAML mapping/);
    expectOneProblem({ 'staging.yaml': '- a\n- b\n' }, 'staging.yaml', 1, /must be a YAML mapping/);
  });

  it('duplicate rule names, at the second', () => {
    const text = `environment: staging
rules:
  - name: tests
    predicateType: ${PROVENANCE}
  - name: other
    predicateType: ${PROVENANCE}
  - name: tests
    predicateType: ${PROVENANCE}
`;
    expectOneProblem(
      { 'staging.yaml': text },
      'staging.yaml',
      7,
      /duplicate rule name "tests" \(first used at line 3\)/,
    );
  });

  it.each([
    ['^https://ci\\\\.example\\\\.com/', /anchored regular expression/],
    ['https://ci\\\\.example\\\\.com/.*$', /anchored regular expression/],
    ['^https://ci\\\\.example\\\\.com/\\\\$', /anchored regular expression/],
    ['^https://(ci$', /invalid regular expression/],
  ])('a signer subject %s that is not an anchored regular expression', (subject, message) => {
    const text =
      `environment: staging\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n    signer:\n      ` +
      `issuer: $self\n      subject: "${subject}"\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 7, message);
  });

  it('a signer issuer that is neither a URL nor $self', () => {
    const text =
      `environment: staging\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n    signer:\n      ` +
      `issuer: self\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 6, /must be an issuer URL or \$self/);
  });

  it.each(['7 days', '0d', '1y', '15'])('a bad duration %j', (value) => {
    const text =
      `environment: staging\nverdictTtl: 15m\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n    ` +
      `maxAge: "${value}"\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 6, /^rules\[0\]\.maxAge: invalid duration/);
  });

  it('a bad verdictTtl', () => {
    expectOneProblem(
      {
        'staging.yaml': `environment: staging\nverdictTtl: 15 minutes\n${RULE_A}`,
      },
      'staging.yaml',
      2,
      /^verdictTtl: invalid duration/,
    );
  });

  it.each([
    ['predicate.result ==', /CEL syntax error at line 1, column 18/],
    [
      'predicat.result == "PASSED"',
      new RegExp(
        'unknown variable "predicat" at line 1, column 1; ' +
          'the variables are statement, predicate, subject, signer, environment, attestation',
      ),
    ],
    ['predicate.tests.exists(t, t.startWith("unit"))', /unknown function "startWith" at line 1, column 28/],
  ])('a CEL expression that does not compile: %s', (where, message) => {
    const text = `environment: staging\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n    where: '${where}'\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 5, message);
  });

  it('a CEL error in a multi-line where, at the where', () => {
    const text =
      `environment: staging\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n    where: >-\n      ` +
      `predicate.result == "PASSED" &&\n      size(predicate.failedTests) ==\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 5, /CEL syntax error/);
  });

  it('an environment that does not match the file name', () => {
    expectOneProblem(
      { 'staging.yaml': `# staging\nenvironment: stage\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n` },
      'staging.yaml',
      2,
      /environment "stage" must equal the file name without \.yaml \("staging"\)/,
    );
  });

  it('a file name that is not an environment name', () => {
    const p = expectOneProblem(
      { 'Staging.yaml': `environment: staging\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n` },
      'Staging.yaml',
      0,
      /file name must be <environment>\.yaml/,
    );
    expect(p.column).toBe(0);
  });

  it('an after cycle, at every after in it', () => {
    const a = `environment: a\nafter: c\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\n`;
    const b = `# b\nenvironment: b\nafter: a\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\n`;
    const c = `environment: c\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\nafter: b\n`;
    const problems = problemsOf({ 'a.yaml': a, 'b.yaml': b, 'c.yaml': c });
    expect(problems.map((p) => [p.file, p.line])).toEqual([
      ['a.yaml', 2],
      ['c.yaml', 5],
      ['b.yaml', 3],
    ]);
    for (const p of problems) expect(p.message).toBe('the after chain is a cycle: a -> c -> b -> a');
  });

  it('an environment after itself', () => {
    expectOneProblem(
      { 'qa.yaml': `environment: qa\nafter: qa\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\n` },
      'qa.yaml',
      2,
      /cycle: qa -> qa/,
    );
  });

  it('a dangling after', () => {
    const head = 'environment: production\nafter: staging\n';
    const p = expectOneProblem(
      { 'production.yaml': `${head}rules:\n  - name: r\n    predicateType: ${PROVENANCE}\n` },
      'production.yaml',
      2,
      /after: "staging" names an environment with no policy file \(environments: dev, production\)/,
    );
    expect(p.column).toBe(8);
  });

  it('a rule environment with no policy file', () => {
    const text =
      `environment: staging\nafter: dev\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\n    ` +
      `environment: qa\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 6, /environment "qa" has no policy file/);
  });

  it('a rule named like the implicit after rule', () => {
    const head = 'environment: staging\nafter: dev\n';
    const text = `${head}rules:\n  - name: deployed-to-dev\n    predicateType: ${PROVENANCE}\n`;
    expectOneProblem({ 'staging.yaml': text }, 'staging.yaml', 4, /reserved/);
  });

  it('bad rebuild settings', () => {
    const text =
      `environment: staging\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\nrebuilds:\n  ` +
      `allowWithException: true\n  minApprovals: 0\n  require: [same-builder, unknown-check]\n`;
    const problems = problemsOf({ 'staging.yaml': text });
    expect(problems.map((p) => [p.line, p.message.split(':')[0]])).toEqual([
      [7, 'rebuilds.minApprovals'],
      [8, 'rebuilds.require[1]'],
    ]);
  });

  it('every problem of a file at once, in line order', () => {
    const text = `environment: staging
verdictTtl: 15
rules:
  - name: a
    predicateType: ${PROVENANCE}
    maxAge: 7days
    where: predicate.result ==
  - name: a
    predicateType: not a uri
`;
    const problems = problemsOf({ 'staging.yaml': text });
    expect(problems.map((p) => p.line)).toEqual([2, 6, 7, 8, 9]);
  });
});

describe('loadPolicies', () => {
  it('throws PolicyLoadError whose message lists each problem as file:line:col: reason', () => {
    const dir = policyDir({
      'dev.yaml': DEV,
      'staging.yaml':
        `environment: staging\nafter: qa\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n    ` +
        `maxAge: soon\n`,
    });
    let error: unknown;
    try {
      loadPolicies(dir, opts);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicyLoadError);
    const file = join(dir, 'staging.yaml');
    expect((error as Error).message).toBe(
      [
        'invalid policies (2 problems):',
        `  ${file}:6:13: rules[0].maxAge: invalid duration "soon": expected a positive number and one of s, m, h, d, ` +
          `w (e.g. 15m, 30d)`,
        `  ${file}:2:8: after: "qa" names an environment with no policy file (environments: dev, staging)`,
      ].join('\n'),
    );
  });

  it('reads .yaml and .yml files and ignores everything else', () => {
    const dir = policyDir({
      'dev.yaml': DEV,
      'qa.yml': `environment: qa\nafter: dev\nrules:\n  - name: a\n    predicateType: ${PROVENANCE}\n`,
      'README.md': '# not a policy',
      '.hidden.yaml': 'not: [valid',
    });
    expect(loadPolicies(dir, opts).order).toEqual(['dev', 'qa']);
  });

  it('rejects two files for one environment', () => {
    const dir = policyDir({ 'dev.yaml': DEV, 'dev.yml': DEV });
    const result = checkPolicies(dir, opts);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      {
        file: join(dir, 'dev.yml'),
        line: 0,
        column: 0,
        message: expect.stringMatching(/second policy file for environment "dev"/),
      },
    ]);
  });

  it('rejects a missing or empty directory', () => {
    expect(checkPolicies(join(tmp, 'nope'), opts).problems[0]!.message).toMatch(/does not exist/);
    expect(checkPolicies(policyDir({}), opts).problems[0]!.message).toMatch(/no policy files/);
  });

  it('orders branches depth first, roots and siblings by name', () => {
    const policy = (env: string, after?: string) =>
      `environment: ${env}\n${after ? `after: ${after}\n` : ''}rules:\n  - name: a\n    predicateType: ${PROVENANCE}\n`;
    const dir = policyDir({
      'dev.yaml': policy('dev'),
      'staging.yaml': policy('staging', 'dev'),
      'production.yaml': policy('production', 'staging'),
      'perf.yaml': policy('perf', 'dev'),
      'sandbox.yaml': policy('sandbox'),
    });
    expect(checkPolicies(dir, opts)).toMatchObject({ ok: true, problems: [] });
    expect(loadPolicies(dir, opts).order).toEqual(['dev', 'perf', 'staging', 'production', 'sandbox']);
  });
});
