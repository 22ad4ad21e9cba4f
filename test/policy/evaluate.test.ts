import { afterEach, describe, expect, it, vi } from 'vitest';
import { denyAll, evaluate, evaluateEnvironment } from '../../src/policy/evaluate.ts';
import { loadPolicies, parsePolicy } from '../../src/policy/load.ts';
import type { Deployment, Evidence } from '../../src/policy/types.ts';
import { provenanceStatement, sha256 } from '../helpers/statements.ts';

const ISSUER = 'http://localhost:8787';
const PROVENANCE = 'https://slsa.dev/provenance/v1';
const TEST_RESULT = 'https://in-toto.io/attestation/test-result/v0.1';
const HEX = sha256('the artifact');
const DIGEST = `sha256:${HEX}`;
const OTHER_HEX = sha256('another artifact');
const NOW = new Date('2026-03-01T12:00:00Z');
const CI = 'https://ci.example.com/pipelines/build';

const policy = parsePolicy(
  `environment: production
after: staging
rules:
  - name: built-by-trusted-ci
    predicateType: ${PROVENANCE}
    signer:
      issuer: $self
      subject: "^https://ci\\\\.example\\\\.com/.*$"
    where: predicate.runDetails.builder.id == "https://ci.example.com/builder/v1"
  - name: passed-staging-tests
    predicateType: ${TEST_RESULT}
    environment: staging
    where: predicate.result == "PASSED"
    maxAge: 7d
  - name: no-failed-staging-tests
    predicateType: ${TEST_RESULT}
    environment: staging
    where: predicate.result == "FAILED"
    absent: true
`,
  'production.yaml',
  { issuer: ISSUER },
);

let ids = 0;
/** A verified attestation about DIGEST, created an hour before NOW, signed by CI through waybill. */
function evidence(overrides: Partial<Evidence> & { hex?: string } = {}): Evidence {
  const { hex = HEX, ...rest } = overrides;
  return {
    id: sha256(`attestation ${ids++}`),
    predicateType: PROVENANCE,
    statement: provenanceStatement({ digest: hex }),
    signer: { subject: CI, issuer: ISSUER },
    environment: null,
    createdAt: new Date(NOW.getTime() - 3_600_000),
    subjects: [`sha256:${hex}`],
    verified: true,
    ...rest,
  };
}

function testResult(result: 'PASSED' | 'FAILED', overrides: Partial<Evidence> & { hex?: string } = {}): Evidence {
  const hex = overrides.hex ?? HEX;
  return evidence({
    predicateType: TEST_RESULT,
    environment: 'staging',
    statement: {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'ghcr.io/example/app', digest: { sha256: hex } }],
      predicateType: TEST_RESULT,
      predicate: { result, configuration: [{ name: 'environment', uri: `${ISSUER}/environments/staging` }] },
    },
    ...overrides,
  });
}

function deployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    environment: 'staging',
    digest: DIGEST,
    attestationId: sha256(`deployment ${ids++}`),
    createdAt: new Date('2026-02-28T00:00:00Z'),
    ...overrides,
  };
}

/** Everything production needs, plus noise that must not be used. */
function complete() {
  const provenance = evidence();
  const passed = testResult('PASSED');
  const deployed = deployment();
  const noise = [
    testResult('PASSED', { environment: 'dev' }),
    testResult('FAILED', { environment: 'dev' }),
    evidence({ hex: OTHER_HEX }),
    testResult('FAILED', { hex: OTHER_HEX }),
  ];
  return {
    provenance,
    passed,
    deployed,
    input: { digest: DIGEST, evidence: [...noise, provenance, passed], deployments: [deployed] },
  };
}

function ruleOf(decision: ReturnType<typeof evaluate>, name: string) {
  const rule = decision.rules.find((r) => r.name === name);
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
}

afterEach(() => vi.restoreAllMocks());

describe('evaluate', () => {
  it('allows when every rule holds, listing exactly the attestations used', () => {
    const { provenance, passed, deployed, input } = complete();
    const d = evaluate(policy, input, NOW);
    expect(d).toEqual({
      environment: 'production',
      digest: DIGEST,
      decision: 'allow',
      rules: [
        { name: 'deployed-to-staging', satisfied: true, evidence: [deployed.attestationId] },
        { name: 'built-by-trusted-ci', satisfied: true, evidence: [provenance.id] },
        { name: 'passed-staging-tests', satisfied: true, evidence: [passed.id] },
        { name: 'no-failed-staging-tests', satisfied: true, evidence: [] },
      ],
      inputAttestations: [deployed.attestationId, provenance.id, passed.id],
      reasons: [],
      policy: { uri: `${ISSUER}/policies/production.yaml`, digest: policy.digest },
    });
  });

  it('lists every attestation that satisfied a rule, each once', () => {
    const { input, provenance, passed, deployed } = complete();
    const again = testResult('PASSED');
    const d = evaluate(policy, { ...input, evidence: [...input.evidence, again, passed] }, NOW);
    expect(ruleOf(d, 'passed-staging-tests').evidence).toEqual([passed.id, again.id]);
    expect(d.inputAttestations).toEqual([deployed.attestationId, provenance.id, passed.id, again.id]);
  });

  it('is deterministic and reads no clock', () => {
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => {
      throw new Error('the clock was read');
    });
    const { input } = complete();
    expect(evaluate(policy, input, NOW)).toEqual(evaluate(policy, input, NOW));
    expect(spy).not.toHaveBeenCalled();
  });

  it('accepts the digest in any case and answers with the normalised one', () => {
    const { input } = complete();
    const d = evaluate(policy, { ...input, digest: `SHA256:${HEX.toUpperCase()}` }, NOW);
    expect(d).toMatchObject({ decision: 'allow', digest: DIGEST });
  });

  describe('denies', () => {
    it('when evidence is missing', () => {
      const { input, provenance } = complete();
      const d = evaluate(policy, { ...input, evidence: [provenance] }, NOW);
      expect(d.decision).toBe('deny');
      expect(ruleOf(d, 'passed-staging-tests')).toEqual({
        name: 'passed-staging-tests',
        satisfied: false,
        evidence: [],
        reason: `no ${TEST_RESULT} evidence for ${DIGEST} in environment staging`,
      });
      expect(d.reasons).toEqual([
        `passed-staging-tests: no ${TEST_RESULT} evidence for ${DIGEST} in environment staging`,
      ]);
      expect(d.inputAttestations).toEqual([input.deployments[0]!.attestationId, provenance.id]);
    });

    it('when the evidence was recorded for another environment, and says where it was', () => {
      const { input, provenance } = complete();
      const d = evaluate(
        policy,
        { ...input, evidence: [provenance, testResult('PASSED', { environment: 'dev' })] },
        NOW,
      );
      expect(ruleOf(d, 'passed-staging-tests').reason).toBe(
        `no ${TEST_RESULT} evidence for ${DIGEST} in environment staging (only in environments: dev)`,
      );
    });

    it('when the evidence is about another digest', () => {
      const { input, passed } = complete();
      const d = evaluate(policy, { ...input, evidence: [evidence({ hex: OTHER_HEX }), passed] }, NOW);
      expect(d.decision).toBe('deny');
      expect(ruleOf(d, 'built-by-trusted-ci').reason).toBe(`no ${PROVENANCE} evidence for ${DIGEST}`);
    });

    it('when a statement lists the digest only under another algorithm', () => {
      const { input, passed } = complete();
      const sha512 = sha256('x').repeat(2);
      const d = evaluate(policy, { ...input, evidence: [evidence({ subjects: [`sha512:${sha512}`] }), passed] }, NOW);
      expect(ruleOf(d, 'built-by-trusted-ci').satisfied).toBe(false);
    });

    it('when the signer subject does not match', () => {
      const { input, passed } = complete();
      const evil = evidence({ signer: { subject: 'https://evil.example.com/ci', issuer: ISSUER } });
      const d = evaluate(policy, { ...input, evidence: [evil, passed] }, NOW);
      expect(ruleOf(d, 'built-by-trusted-ci').reason).toBe(
        `no ${PROVENANCE} evidence for ${DIGEST} qualifies: evidence ${evil.id}: signer https://evil.example.com/ci ` +
          `does not match ^https://ci\\.example\\.com/.*$`,
      );
    });

    it('when the signer subject only contains a trusted one (the pattern is anchored)', () => {
      const { input, passed } = complete();
      const sneaky = evidence({ signer: { subject: `https://evil.example.com/?${CI}`, issuer: ISSUER } });
      expect(evaluate(policy, { ...input, evidence: [sneaky, passed] }, NOW).decision).toBe('deny');
    });

    it('when the issuer differs', () => {
      const { input, passed } = complete();
      const ingested = evidence({ signer: { subject: CI, issuer: 'https://token.actions.githubusercontent.com' } });
      const d = evaluate(policy, { ...input, evidence: [ingested, passed] }, NOW);
      expect(ruleOf(d, 'built-by-trusted-ci').reason).toContain(
        `issuer https://token.actions.githubusercontent.com is not ${ISSUER}`,
      );
    });

    it('when the evidence is older than maxAge', () => {
      const { input, provenance } = complete();
      const old = testResult('PASSED', { createdAt: new Date(NOW.getTime() - 7 * 86_400_000) });
      const d = evaluate(policy, { ...input, evidence: [provenance, old] }, NOW);
      expect(ruleOf(d, 'passed-staging-tests').reason).toBe(
        `no ${TEST_RESULT} evidence for ${DIGEST} in environment staging qualifies: evidence ${old.id}: is older ` +
          `than 7d (created ${old.createdAt.toISOString()})`,
      );
      const young = testResult('PASSED', { createdAt: new Date(NOW.getTime() - 7 * 86_400_000 + 1000) });
      expect(evaluate(policy, { ...input, evidence: [provenance, young] }, NOW).decision).toBe('allow');
    });

    it('when the only evidence has a bundle that does not verify, and says so', () => {
      const { input, passed } = complete();
      const bad = evidence({ verified: false, verifyError: 'signature does not match' });
      const d = evaluate(policy, { ...input, evidence: [bad, passed] }, NOW);
      expect(d.decision).toBe('deny');
      expect(ruleOf(d, 'built-by-trusted-ci').reason).toBe(
        `no ${PROVENANCE} evidence for ${DIGEST} qualifies: evidence ${bad.id} could not be verified: signature does ` +
          `not match`,
      );
      expect(d.inputAttestations).not.toContain(bad.id);
    });

    it('never counts unverified evidence, but other verified evidence may satisfy the rule', () => {
      const { input, provenance } = complete();
      const bad = evidence({ verified: false });
      const d = evaluate(policy, { ...input, evidence: [...input.evidence, bad] }, NOW);
      expect(d.decision).toBe('allow');
      expect(ruleOf(d, 'built-by-trusted-ci').evidence).toEqual([provenance.id]);
    });

    it('when a where expression errors at run time, even if other evidence satisfies it', () => {
      const strict = parsePolicy(
        `environment: dev\nrules:\n  - name: deep\n    predicateType: ${PROVENANCE}\n    where: ` +
          `predicate.nope.deeper == 1\n`,
        'dev.yaml',
        { issuer: ISSUER },
      );
      const e = evidence();
      const d = evaluate(strict, { digest: DIGEST, evidence: [e] }, NOW);
      expect(d.decision).toBe('deny');
      expect(ruleOf(d, 'deep').reason).toMatch(
        new RegExp(`^where failed on evidence ${e.id}: CEL evaluation error: .*nope`),
      );

      const either = parsePolicy(
        `environment: dev\nrules:\n  - name: builder\n    predicateType: ${PROVENANCE}\n    where: ` +
          `predicate.runDetails.builder.id == "https://ci.example.com/builder/v1"\n`,
        'dev.yaml',
        { issuer: ISSUER },
      );
      const good = evidence();
      const broken = evidence({
        statement: { ...provenanceStatement({ digest: HEX }), predicate: { runDetails: {} } },
      });
      const both = evaluate(either, { digest: DIGEST, evidence: [good, broken] }, NOW);
      expect(both.decision).toBe('deny');
      expect(ruleOf(both, 'builder')).toMatchObject({ satisfied: false, evidence: [] });
      expect(ruleOf(both, 'builder').reason).toContain(broken.id);
      // The deny cites the evidence the expression failed on.
      expect(both.inputAttestations).toEqual([broken.id]);
    });

    it('when a where expression is not a boolean', () => {
      const p = parsePolicy(
        `environment: dev\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\n    where: ` +
          `predicate.runDetails.builder.id\n`,
        'dev.yaml',
        { issuer: ISSUER },
      );
      const d = evaluate(p, { digest: DIGEST, evidence: [evidence()] }, NOW);
      expect(d.decision).toBe('deny');
      expect(ruleOf(d, 'r').reason).toContain('expression must evaluate to a bool, got string');
    });

    it('when evidence that must be absent is present', () => {
      const { input } = complete();
      const failed = testResult('FAILED');
      const d = evaluate(policy, { ...input, evidence: [...input.evidence, failed] }, NOW);
      expect(d.decision).toBe('deny');
      expect(ruleOf(d, 'no-failed-staging-tests')).toEqual({
        name: 'no-failed-staging-tests',
        satisfied: false,
        evidence: [],
        reason:
          `found ${TEST_RESULT} evidence for ${DIGEST} in environment staging that must be absent: evidence ` +
          `${failed.id} (signed by ${CI}, created ${failed.createdAt.toISOString()})`,
        rejected: [failed.id],
      });
      expect(ruleOf(d, 'passed-staging-tests').satisfied).toBe(true);
      expect(d.reasons).toHaveLength(1);
      // The deny cites the FAILED test first, then what the satisfied rules used.
      expect(d.inputAttestations[0]).toBe(failed.id);
      expect(d.inputAttestations).toEqual(expect.arrayContaining(ruleOf(d, 'passed-staging-tests').evidence));
    });

    it('when evidence that might have to be absent cannot be verified', () => {
      const { input } = complete();
      const unverifiable = testResult('PASSED', { verified: false, verifyError: 'unknown CA' });
      const d = evaluate(policy, { ...input, evidence: [...input.evidence, unverifiable] }, NOW);
      expect(ruleOf(d, 'no-failed-staging-tests').reason).toBe(
        `cannot show that no ${TEST_RESULT} evidence for ${DIGEST} in environment staging matches: evidence ` +
          `${unverifiable.id} could not be verified: unknown CA`,
      );
    });

    it('when the digest was not deployed to the prior environment', () => {
      const { input } = complete();
      const cases: Array<[Deployment[] | undefined, string]> = [
        [[], `${DIGEST} has not been deployed to staging`],
        [[deployment({ environment: 'dev' })], `${DIGEST} has not been deployed to staging`],
        [[deployment({ digest: `sha256:${OTHER_HEX}` })], `${DIGEST} has not been deployed to staging`],
        [undefined, `the deployment history was not provided, so a deployment of ${DIGEST} to staging cannot be shown`],
      ];
      for (const [deployments, reason] of cases) {
        const d = evaluate(policy, { ...input, deployments }, NOW);
        expect(d.decision).toBe('deny');
        expect(ruleOf(d, 'deployed-to-staging')).toEqual({
          name: 'deployed-to-staging',
          satisfied: false,
          evidence: [],
          reason,
        });
      }
    });

    it('citing the latest deployment to the prior environment', () => {
      const { input } = complete();
      const older = deployment({ createdAt: new Date('2026-02-01T00:00:00Z') });
      const newer = deployment({ createdAt: new Date('2026-02-20T00:00:00Z'), digest: `SHA256:${HEX.toUpperCase()}` });
      const d = evaluate(policy, { ...input, deployments: [older, newer, deployment({ environment: 'dev' })] }, NOW);
      expect(ruleOf(d, 'deployed-to-staging').evidence).toEqual([newer.attestationId]);
    });

    it('when the digest is not a digest', () => {
      const d = evaluate(policy, { digest: 'latest', evidence: [] }, NOW);
      expect(d).toMatchObject({ decision: 'deny', rules: [], inputAttestations: [] });
      expect(d.reasons[0]).toMatch(/^invalid digest: /);
    });

    it('when anything throws', () => {
      const { input } = complete();
      const broken = { ...input, evidence: [null as unknown as Evidence] };
      const d = evaluate(policy, broken, NOW);
      expect(d).toMatchObject({ decision: 'deny', rules: [] });
      expect(d.reasons[0]).toMatch(/^policy evaluation failed: /);
    });
  });

  it('gives a where the documented variables', () => {
    const e = testResult('PASSED');
    const p = parsePolicy(
      `environment: dev
rules:
  - name: vars
    predicateType: ${TEST_RESULT}
    where: >-
      statement.predicateType == attestation.predicateType &&
      predicate.result == "PASSED" &&
      subject.digest.sha256 == "${HEX}" &&
      signer.subject == "${CI}" && signer.issuer == "${ISSUER}" &&
      environment == "staging" &&
      attestation.id == "${e.id}" &&
      timestamp(attestation.createdAt) == timestamp("${e.createdAt.toISOString()}")
`,
      'dev.yaml',
      { issuer: ISSUER },
    );
    expect(evaluate(p, { digest: DIGEST, evidence: [e] }, NOW).decision).toBe('allow');
  });

  it('sees an unset predicate as an empty one', () => {
    const p = parsePolicy(
      `environment: dev\nrules:\n  - name: r\n    predicateType: ${PROVENANCE}\n    where: size(predicate) == 0\n`,
      'dev.yaml',
      { issuer: ISSUER },
    );
    const { predicate: _, ...statement } = provenanceStatement({ digest: HEX });
    expect(evaluate(p, { digest: DIGEST, evidence: [evidence({ statement })] }, NOW).decision).toBe('allow');
  });
});

describe('denyAll and evaluateEnvironment', () => {
  const set = loadPolicies('policies', { issuer: ISSUER });

  it('denyAll denies with the reason and evaluates nothing', () => {
    expect(denyAll('production', DIGEST, 'storage unavailable')).toEqual({
      environment: 'production',
      digest: DIGEST,
      decision: 'deny',
      rules: [],
      inputAttestations: [],
      reasons: ['storage unavailable'],
    });
  });

  it('denies an unknown environment', () => {
    const d = evaluateEnvironment(set, 'prod', { digest: DIGEST, evidence: [] }, NOW);
    expect(d).toMatchObject({ environment: 'prod', decision: 'deny', rules: [] });
    expect(d.reasons).toEqual(['unknown environment "prod"; the environments are dev, staging, production']);
  });

  it('walks a digest through the default policies', () => {
    const provenance = evidence({ signer: { subject: 'https://ci.example.com/pipelines/api', issuer: ISSUER } });
    const devPassed = testResult('PASSED', { environment: 'dev' });
    const stagingPassed = testResult('PASSED');
    const toDev = deployment({ environment: 'dev' });
    const toStaging = deployment({ environment: 'staging' });

    expect(evaluateEnvironment(set, 'dev', { digest: DIGEST, evidence: [provenance] }, NOW).decision).toBe('allow');
    expect(
      evaluateEnvironment(set, 'staging', { digest: DIGEST, evidence: [provenance, devPassed], deployments: [] }, NOW)
        .reasons,
    ).toEqual([`deployed-to-dev: ${DIGEST} has not been deployed to dev`]);
    const staging = evaluateEnvironment(
      set,
      'staging',
      { digest: DIGEST, evidence: [provenance, devPassed], deployments: [toDev] },
      NOW,
    );
    expect(staging).toMatchObject({
      decision: 'allow',
      inputAttestations: [toDev.attestationId, provenance.id, devPassed.id],
    });

    const evidenceSoFar = [provenance, devPassed, stagingPassed];
    const deployments = [toDev, toStaging];
    expect(
      evaluateEnvironment(set, 'production', { digest: DIGEST, evidence: evidenceSoFar, deployments }, NOW).decision,
    ).toBe('allow');
    const flaky = testResult('FAILED');
    const production = evaluateEnvironment(
      set,
      'production',
      { digest: DIGEST, evidence: [...evidenceSoFar, flaky], deployments },
      NOW,
    );
    expect(production.decision).toBe('deny');
    expect(production.reasons).toEqual([
      expect.stringMatching(new RegExp(`^no-failed-staging-tests: found .* ${flaky.id}`)),
    ]);

    const foreign = evidence({
      signer: {
        subject: 'https://github.com/example/app/.github/workflows/build.yml@refs/heads/main',
        issuer: 'https://token.actions.githubusercontent.com',
      },
    });
    expect(evaluateEnvironment(set, 'dev', { digest: DIGEST, evidence: [foreign] }, NOW).decision).toBe('deny');
  });
});
