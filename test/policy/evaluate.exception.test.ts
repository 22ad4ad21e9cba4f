// Under an approved rebuild exception, transferable rules (and the prior-stage rule) may use the
// original digest's evidence; nothing else changes, and an absent rule must hold for both.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/policy/evaluate.ts';
import { parsePolicy } from '../../src/policy/load.ts';
import type { Evidence } from '../../src/policy/types.ts';

const ISSUER = 'https://waybill.test';
const ORIGINAL = `sha256:${'1'.repeat(64)}`;
const REBUILD = `sha256:${'2'.repeat(64)}`;
const now = new Date('2026-11-26T12:00:00Z');

const policy = parsePolicy(
  [
    'environment: production',
    'after: staging',
    'rules:',
    '  - name: has-provenance',
    '    predicateType: https://slsa.dev/provenance/v1',
    '  - name: passed-staging-tests',
    '    predicateType: https://in-toto.io/attestation/test-result/v0.1',
    '    environment: staging',
    '    where: predicate.result == "PASSED"',
    '    transferable: true',
    '  - name: no-failed-staging-tests',
    '    predicateType: https://in-toto.io/attestation/test-result/v0.1',
    '    environment: staging',
    '    where: predicate.result == "FAILED"',
    '    absent: true',
    '    transferable: true',
  ].join('\n'),
  'production.yaml',
  { issuer: ISSUER },
);

function ev(
  id: string,
  digest: string,
  predicateType: string,
  predicate: Record<string, unknown>,
  environment: string | null = null,
): Evidence {
  const [alg, hex] = digest.split(':') as [string, string];
  return {
    id,
    predicateType,
    statement: {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { [alg]: hex } }],
      predicateType,
      predicate,
    },
    signer: { subject: 'https://ci.example.com/x', issuer: ISSUER },
    environment,
    createdAt: new Date('2026-11-26T11:00:00Z'),
    subjects: [digest],
    verified: true,
  };
}
const provenance = (id: string, d: string) =>
  ev(id, d, 'https://slsa.dev/provenance/v1', {
    buildDefinition: { buildType: 'https://t/', externalParameters: {} },
    runDetails: { builder: { id: 'https://b/' } },
  });
const test = (id: string, d: string, result: string) =>
  ev(id, d, 'https://in-toto.io/attestation/test-result/v0.1', { result, configuration: [] }, 'staging');
const stagingDeploy = {
  environment: 'staging',
  digest: ORIGINAL,
  attestationId: 'dep-orig',
  createdAt: new Date('2026-11-26T10:00:00Z'),
};

describe('evaluate with a rebuild exception', () => {
  const own = [provenance('prov-rebuild', REBUILD)];
  const theirs = [provenance('prov-orig', ORIGINAL), test('test-orig', ORIGINAL, 'PASSED')];

  it('without an exception a rebuild has only its own (empty) history', () => {
    const d = evaluate(policy, { digest: REBUILD, evidence: own, deployments: [] }, now);
    expect(d.decision).toBe('deny');
    expect(d.rules.filter((r) => !r.satisfied).map((r) => r.name)).toEqual([
      'deployed-to-staging',
      'passed-staging-tests',
    ]);
  });

  it("with one, transferable rules and the prior stage borrow the original's evidence and cite the exception", () => {
    const d = evaluate(
      policy,
      {
        digest: REBUILD,
        evidence: own,
        deployments: [],
        exception: { attestationId: 'exc-1', original: ORIGINAL, evidence: theirs, deployments: [stagingDeploy] },
      },
      now,
    );
    expect(d.decision).toBe('allow');
    expect(d.inputAttestations).toEqual(expect.arrayContaining(['dep-orig', 'test-orig', 'exc-1', 'prov-rebuild']));
    // has-provenance is not transferable: the rebuild's own is used
    expect(d.inputAttestations).not.toContain('prov-orig');
  });

  it("non-transferable rules still need the rebuild's own evidence", () => {
    const d = evaluate(
      policy,
      {
        digest: REBUILD,
        evidence: [],
        deployments: [],
        exception: { attestationId: 'exc-1', original: ORIGINAL, evidence: theirs, deployments: [stagingDeploy] },
      },
      now,
    );
    expect(d.decision).toBe('deny');
    expect(d.rules.find((r) => r.name === 'has-provenance')!.satisfied).toBe(false);
  });

  it('an absent rule must hold for the original too', () => {
    const failed = [...theirs, test('test-orig-failed', ORIGINAL, 'FAILED')];
    const d = evaluate(
      policy,
      {
        digest: REBUILD,
        evidence: own,
        deployments: [],
        exception: { attestationId: 'exc-1', original: ORIGINAL, evidence: failed, deployments: [stagingDeploy] },
      },
      now,
    );
    expect(d.decision).toBe('deny');
    expect(d.rules.find((r) => r.name === 'no-failed-staging-tests')!.reason).toMatch(/original/);
  });
});
