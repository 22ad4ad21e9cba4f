import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/policy/evaluate.ts';
import { parsePolicy } from '../../src/policy/load.ts';
import { markRevoked, revocationsIn } from '../../src/policy/revocations.ts';
import type { Evidence } from '../../src/policy/types.ts';
import { sha256 } from '../helpers/statements.ts';

const ISSUER = 'http://localhost:8787';
const VERIFIER = { subject: `${ISSUER}/verifier`, issuer: ISSUER };
const TEST_RESULT = 'https://in-toto.io/attestation/test-result/v0.1';
const REVOCATION = 'https://waybill.dev/revocation/v1';
const HEX = sha256('the artifact');
const DIGEST = `sha256:${HEX}`;
const NOW = new Date('2026-03-01T12:00:00Z');

const policy = parsePolicy(
  `environment: production
rules:
  - name: passed-staging-tests
    predicateType: ${TEST_RESULT}
    environment: staging
    where: predicate.result == "PASSED"
  - name: no-failed-staging-tests
    predicateType: ${TEST_RESULT}
    environment: staging
    where: predicate.result == "FAILED"
    absent: true
`,
  'production.yaml',
  { issuer: ISSUER },
);

let n = 0;
const at = (minutesBeforeNow: number) => new Date(NOW.getTime() - minutesBeforeNow * 60_000);
function test(result: 'PASSED' | 'FAILED'): Evidence {
  return {
    id: sha256(`test ${n++}`),
    predicateType: TEST_RESULT,
    statement: { subject: [{ digest: { sha256: HEX } }], predicateType: TEST_RESULT, predicate: { result } },
    signer: { subject: 'https://ci.example.com/test', issuer: ISSUER },
    environment: 'staging',
    createdAt: at(60),
    subjects: [DIGEST],
    verified: true,
  };
}
function revocation(of: Evidence, opts: Partial<Evidence> = {}): Evidence {
  return {
    id: sha256(`revocation ${n++}`),
    predicateType: REVOCATION,
    statement: {
      subject: [{ digest: { sha256: HEX } }],
      predicateType: REVOCATION,
      predicate: { revoked: { id: of.id }, reason: 'flaky runner', revokedBy: 'https://people.example.com/ana' },
    },
    signer: VERIFIER,
    environment: null,
    createdAt: at(30),
    subjects: [DIGEST],
    verified: true,
    ...opts,
  };
}
const marked = (evidence: Evidence[], asOf?: Date) => markRevoked(evidence, revocationsIn(evidence, VERIFIER, asOf));

describe('revocations', () => {
  it('a revoked FAILED test no longer keeps the digest out, and the allow cites the revocation', () => {
    const passed = test('PASSED');
    const failed = test('FAILED');
    expect(evaluate(policy, { digest: DIGEST, evidence: marked([passed, failed]) }, NOW).decision).toBe('deny');
    const r = revocation(failed);
    const d = evaluate(policy, { digest: DIGEST, evidence: marked([passed, failed, r]) }, NOW);
    expect(d.decision).toBe('allow');
    expect(d.inputAttestations).toEqual([passed.id, r.id]);
    expect(d.rules.find((x) => x.name === 'no-failed-staging-tests')).toMatchObject({
      satisfied: true,
      revoked: [r.id],
    });
  });

  it('a revoked PASSED test no longer satisfies a rule, and the reason says who revoked it and why', () => {
    const passed = test('PASSED');
    const r = revocation(passed);
    const d = evaluate(policy, { digest: DIGEST, evidence: marked([passed, r]) }, NOW);
    expect(d.decision).toBe('deny');
    expect(d.reasons).toEqual([
      `passed-staging-tests: no ${TEST_RESULT} evidence for ${DIGEST} in environment staging qualifies: evidence ` +
        `${passed.id} was revoked by https://people.example.com/ana (flaky runner)`,
    ]);
    expect(d.inputAttestations).toEqual([r.id]);
  });

  it('counts only verified revocations waybill signed, logged at or before the time asked about', () => {
    const passed = test('PASSED');
    const forged = revocation(passed, { signer: { subject: 'https://ci.example.com/test', issuer: ISSUER } });
    const unverified = revocation(passed, { verified: false });
    expect(evaluate(policy, { digest: DIGEST, evidence: marked([passed, forged, unverified]) }, NOW).decision).toBe(
      'allow',
    );
    const r = revocation(passed);
    // As of 45 minutes ago the revocation (30 minutes ago) was not yet made: the test counted then.
    expect(evaluate(policy, { digest: DIGEST, evidence: marked([passed, r], at(45)) }, at(45)).decision).toBe('allow');
    expect(evaluate(policy, { digest: DIGEST, evidence: marked([passed, r], NOW) }, NOW).decision).toBe('deny');
  });

  it('a deny cites the candidates a rule rejected', () => {
    const failed = test('FAILED');
    const d = evaluate(policy, { digest: DIGEST, evidence: [failed] }, NOW);
    expect(d.decision).toBe('deny');
    expect(d.rules.find((x) => x.name === 'passed-staging-tests')?.rejected).toEqual([failed.id]);
    expect(d.inputAttestations).toEqual([failed.id]);
  });
});
