// The shipped policy tests (policies/tests/*.yaml) run in `npm test` through the same runner as
// `waybill policy test`; and the runner's failures read like a test runner's.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicies } from '../../src/policy/load.ts';
import { formatPolicyTests, runPolicyTests } from '../../src/policy/tests.ts';

const ISSUER = 'http://localhost:8787';
const policies = loadPolicies('policies', { issuer: ISSUER });
const files = readdirSync('policies/tests')
  .filter((n) => n.endsWith('.yaml'))
  .sort()
  .map((n) => ({
    file: path.join('policies/tests', n),
    content: readFileSync(path.join('policies/tests', n), 'utf8'),
  }));
const shipped = runPolicyTests(policies, files, { issuer: ISSUER });

describe('the shipped policy tests', () => {
  it('cover every shipped policy', () => {
    expect(new Set(shipped.map((r) => r.environment))).toEqual(new Set(policies.order));
  });
  it.each(shipped.map((r) => [`${r.environment}: ${r.name}`, r] as const))('%s', (_name, r) => {
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
  });
});

describe('runPolicyTests', () => {
  const run = (content: string) => runPolicyTests(policies, [{ file: 'x.yaml', content }], { issuer: ISSUER });

  it('fails a case whose decision or failing rules differ, saying what it got', () => {
    const results = run(`environment: production
now: 2026-03-01T12:00:00Z
tests:
  - name: wrongly expects an allow without staging
    attestations:
      - predicateType: https://slsa.dev/provenance/v1
        signer: { subject: https://ci.example.com/pipelines/build }
        at: 2026-03-01T10:00:00Z
    expect: { decision: allow }
  - name: names the wrong failing rule
    expect: { decision: deny, failing: [has-provenance] }
`);
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    const text = formatPolicyTests(results);
    expect(text).toContain(
      'x.yaml (production)\n  ✗ wrongly expects an allow without staging\n      expected allow, got deny\n',
    );
    expect(text).toContain(`      deployed-to-staging: sha256:${'ab'.repeat(32)} has not been deployed to staging\n`);
    expect(text).not.toContain('expected failing rules []');
    expect(text).toContain(
      '      expected failing rules [has-provenance], got [deployed-to-staging, has-provenance, passed-staging-tests]',
    );
    expect(text.endsWith('\n0 passed, 2 failed\n')).toBe(true);
  });

  it('reports a broken file as one failure naming the field', () => {
    const unknown = run('environment: qa\ntests:\n  - name: x\n    expect: { decision: allow }\n');
    expect(unknown).toEqual([
      expect.objectContaining({ ok: false, problems: [expect.stringContaining('no policy for environment "qa"')] }),
    ]);
    const bad = run('environment: dev\ntests:\n  - name: x\n    expect: { decision: maybe }\n');
    expect(bad[0]!.problems[0]).toMatch(/^tests\.0\.expect\.decision: /);
    const field = run('environment: dev\ntests:\n  - name: x\n    colour: red\n    expect: { decision: allow }\n');
    expect(field[0]!.problems[0]).toContain('colour');
    expect(run('environment: dev\ntests: [\n')[0]!.ok).toBe(false);
  });
});
