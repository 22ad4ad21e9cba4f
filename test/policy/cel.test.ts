import { describe, expect, it } from 'vitest';
import { CelExpressionError, compileCel } from '../../src/policy/cel.ts';

const DIGEST = 'ab'.repeat(32);

/** The variables a `where` sees, shaped as evaluate() builds them. */
const vars = {
  statement: {
    _type: 'https://in-toto.io/Statement/v1',
    predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
    subject: [{ name: 'app', digest: { sha256: DIGEST } }],
  },
  predicate: {
    result: 'PASSED',
    configuration: [{ name: 'environment', uri: 'http://localhost:8787/environments/staging' }],
    url: null,
    passedTests: ['unit-a', 'unit-b', 'e2e-login'],
    failedTests: [],
    count: 3,
    score: 0.75,
    runDetails: {
      builder: { id: 'https://ci.example.com/builder/v1' },
      metadata: { startedOn: '2026-01-01T10:00:00Z', finishedOn: '2026-01-01T10:05:00Z' },
    },
    'build-type': 'docker',
  },
  subject: { name: 'app', digest: { sha256: DIGEST } },
  signer: { subject: 'https://ci.example.com/pipelines/api', issuer: 'http://localhost:8787' },
  environment: 'staging',
  attestation: {
    id: 'cd'.repeat(32),
    createdAt: '2026-01-02T00:00:00Z',
    predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
  },
};

// What policies need from CEL. docs/policies.md ("Why this CEL library") has the same table
// run against each candidate library.
const table: Array<[string, string, boolean | 'error']> = [
  ['nested field access', 'predicate.runDetails.builder.id == "https://ci.example.com/builder/v1"', true],
  ['has() present', 'has(predicate.runDetails.builder.id)', true],
  ['has() absent', 'has(predicate.runDetails.builder.version)', false],
  ['missing key is an error', 'predicate.nope.deeper == 1', 'error'],
  ['size() of a list', 'size(predicate.failedTests) == 0', true],
  ['.size() method', 'predicate.passedTests.size() == 3', true],
  ['exists macro', 'predicate.passedTests.exists(t, t.startsWith("e2e-"))', true],
  ['all macro', 'predicate.passedTests.all(t, size(t) > 3)', true],
  ['exists_one macro', 'predicate.passedTests.exists_one(t, t.startsWith("e2e"))', true],
  [
    'filter and map macros',
    'predicate.passedTests.filter(t, t.startsWith("unit")).map(t, t + "!") == ["unit-a!", "unit-b!"]',
    true,
  ],
  [
    'exists over maps in a list',
    'predicate.configuration.exists(c, c.name == "environment" && c.uri.endsWith("/environments/staging"))',
    true,
  ],
  ['in a list', '"unit-a" in predicate.passedTests', true],
  ['in a map (key)', '"result" in predicate', true],
  ['in a list literal', 'predicate.result in ["PASSED", "WARNED"]', true],
  ['startsWith', 'signer.subject.startsWith("https://ci.example.com/")', true],
  ['endsWith', 'signer.subject.endsWith("/api")', true],
  ['contains', 'signer.subject.contains("pipelines")', true],
  ['matches (RE2, unanchored)', 'signer.subject.matches("ci\\\\.example\\\\.com")', true],
  ['matches (anchored)', 'signer.subject.matches("^https://ci\\\\.example\\\\.com/.*$")', true],
  ['JSON number == int literal', 'predicate.count == 3', true],
  ['JSON number > int literal', 'predicate.count > 2', true],
  ['JSON number vs double literal', 'predicate.score >= 0.5', true],
  ['int == double (heterogeneous equality)', '1 == 1.0', true],
  ['int < double', '2 < 2.5', true],
  ['int() of a JSON number', 'int(predicate.count) == 3', true],
  ['null field == null', 'predicate.url == null', true],
  ['null != string', 'predicate.url != "x"', true],
  ['string == int is false, not an error', 'predicate.result == 1', false],
  ['the environment variable', 'environment == "staging"', true],
  ['a key that is not an identifier, by index', 'predicate["build-type"] == "docker"', true],
  ['subject digest', 'subject.digest.sha256 == statement.subject[0].digest.sha256', true],
  ['timestamp() comparison', 'timestamp(attestation.createdAt) > timestamp("2026-01-01T00:00:00Z")', true],
  [
    'timestamp difference vs duration',
    'timestamp(predicate.runDetails.metadata.finishedOn) - timestamp(predicate.runDetails.metadata.startedOn) <= ' +
      'duration("10m")',
    true,
  ],
  [
    'timestamp + duration',
    'timestamp(attestation.createdAt) + duration("24h") == timestamp("2026-01-03T00:00:00Z")',
    true,
  ],
  ['&& absorbs an error when the other side is false', 'false && predicate.nope.x == 1', false],
  ['|| absorbs an error when the other side is true (commutative)', 'predicate.nope.x == 1 || true', true],
  ['! and the conditional operator', '!(predicate.result == "FAILED") ? true : false', true],
  ['size() counts code points', 'size("h\u00e9llo" + "!") == 6', true],
  ['division by zero is an error', '1 / 0 == 0', 'error'],
  ['int overflow is an error', '9223372036854775807 + 1 > 0', 'error'],
  ['type() of a JSON number is double', 'type(predicate.count) == double', true],
  ['strings extension: lowerAscii', 'predicate.result.lowerAscii() == "passed"', true],
  ['a non-boolean result is an error', 'predicate.result', 'error'],
  ['a wrong-typed call is an error', 'predicate.count.startsWith("3")', 'error'],
];

describe('CEL conformance for policies', () => {
  it.each(table)('%s: %s', (_what, expr, want) => {
    const compiled = compileCel(expr);
    if (want === 'error') {
      expect(() => compiled.evaluate(vars)).toThrow(CelExpressionError);
    } else {
      expect(compiled.evaluate(vars)).toBe(want);
    }
  });
});

describe('compileCel', () => {
  it('reports a syntax error with its position', () => {
    expect(() => compileCel('predicate.result ==')).toThrow(/^CEL syntax error at line 1, column 18: /);
    expect(() => compileCel('predicate.result == "PASSED" &&\n  size(predicate.x) ==')).toThrow(/at line 2, column 21/);
  });

  it('rejects unknown variables and functions at compile time', () => {
    expect(() => compileCel('predicat.result == "x"')).toThrow(expect.objectContaining({ kind: 'unknown-variable' }));
    expect(() => compileCel('predicate.tests.all(t, t.startWith("a"))')).toThrow(
      expect.objectContaining({ kind: 'unknown-function' }),
    );
    expect(() => compileCel('lookup(predicate.result)')).toThrow(/unknown function "lookup"/);
  });

  it('knows comprehension variables only inside their macro', () => {
    expect(() => compileCel('predicate.tests.exists(t, t == "a") && predicate.tests.all(u, u != "")')).not.toThrow();
    expect(() => compileCel('predicate.tests.exists(t, t == "a") && t == "a"')).toThrow(/unknown variable "t"/);
  });

  it('takes its own variable list', () => {
    expect(compileCel('x > 1', { variables: ['x'] }).evaluate({ x: 2 })).toBe(true);
    expect(() => compileCel('predicate.x', { variables: ['x'] })).toThrow(/unknown variable "predicate"/);
  });

  it('never passes on a non-boolean result or a runtime error', () => {
    for (const expr of ['predicate.count', 'predicate.passedTests', '"true"', 'null', 'predicate.nope']) {
      expect(() => compileCel(expr).evaluate(vars), expr).toThrow(CelExpressionError);
    }
    expect(() => compileCel('predicate.result').evaluate(vars)).toThrow(
      'expression must evaluate to a bool, got string "PASSED"',
    );
    expect(() => compileCel('predicate.nope.deeper == 1').evaluate(vars)).toThrow(/^CEL evaluation error: .*nope/);
  });

  it('compiles once and evaluates many times with different variables', () => {
    const c = compileCel('predicate.result == "PASSED"');
    expect(c.source).toBe('predicate.result == "PASSED"');
    expect(c.evaluate({ ...vars, predicate: { result: 'PASSED' } })).toBe(true);
    expect(c.evaluate({ ...vars, predicate: { result: 'FAILED' } })).toBe(false);
  });
});
