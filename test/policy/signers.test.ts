// N of M named signers: `signers: { min, of: [{ issuer, subject }] }`.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/policy/evaluate.ts';
import { parsePolicy } from '../../src/policy/load.ts';
import type { Evidence } from '../../src/policy/types.ts';
import { sha256 } from '../helpers/statements.ts';

const ISSUER = 'http://localhost:8787';
const REVIEW = 'https://example.com/review/v1';
const HEX = sha256('the artifact');
const DIGEST = `sha256:${HEX}`;
const NOW = new Date('2026-03-01T12:00:00Z');
const ANA = 'https://people.example.com/ana';
const BO = 'https://people.example.com/bo';

const file = (signers: string, extra = '') =>
  `environment: production\nrules:\n  - name: two-reviews\n    predicateType: ${REVIEW}\n` +
  `${extra}    signers:\n${signers}`;
const policy = parsePolicy(
  file(
    '      min: 2\n      of:\n' +
      `        - { issuer: $self, subject: ${ANA} }\n` +
      `        - { issuer: $self, subject: ${BO} }\n` +
      '        - issuer: https://token.actions.githubusercontent.com\n' +
      '          subject: "^https://github\\\\.com/example/.*$"\n',
  ),
  'production.yaml',
  { issuer: ISSUER },
);

let n = 0;
function review(subject: string, issuer = ISSUER): Evidence {
  return {
    id: sha256(`review ${n++}`),
    predicateType: REVIEW,
    statement: { subject: [{ digest: { sha256: HEX } }], predicateType: REVIEW, predicate: {} },
    signer: { subject, issuer },
    environment: null,
    createdAt: new Date(NOW.getTime() - 60_000),
    subjects: [DIGEST],
    verified: true,
  };
}
const decide = (...evidence: Evidence[]) => evaluate(policy, { digest: DIGEST, evidence }, NOW);

describe('N of M signers', () => {
  it('one listed signer is not enough for min 2; the deny says who signed and cites it', () => {
    const a = review(ANA);
    const d = decide(a);
    expect(d.decision).toBe('deny');
    expect(d.reasons[0]).toBe(
      `two-reviews: ${REVIEW} evidence for ${DIGEST} is signed by 1 of the 2 distinct listed signers required ` +
        `(${ANA}, ${BO}, ^https://github\\.com/example/.*$): ${ANA} (${ISSUER})`,
    );
    expect(d.inputAttestations).toEqual([a.id]);
  });

  it('two distinct listed signers satisfy it, exact or by pattern', () => {
    const a = review(ANA);
    const b = review(BO);
    expect(decide(a, b)).toMatchObject({ decision: 'allow', inputAttestations: [a.id, b.id] });
    const ci = review(
      'https://github.com/example/app/.github/workflows/review.yml',
      'https://token.actions.githubusercontent.com',
    );
    expect(decide(a, ci).decision).toBe('allow');
  });

  it('the same identity twice counts once', () => {
    expect(decide(review(ANA), review(ANA)).decision).toBe('deny');
  });

  it('an unlisted signer, or a listed subject under another issuer, does not count', () => {
    const d = decide(review(ANA), review('https://people.example.com/eve'));
    expect(d.decision).toBe('deny');
    expect(d.reasons[0]).toContain('is signed by 1 of the 2');
    const other = decide(review(ANA), review(BO, 'https://other.example.com'));
    expect(other.decision).toBe('deny');
    // An exact subject is not a pattern: its dots match only dots.
    expect(decide(review(ANA), review('https://people-example.com/bo')).decision).toBe('deny');
    const none = decide(review('https://people.example.com/eve'));
    expect(none.reasons[0]).toContain('is not one of the listed signers');
  });

  it('refuses a bad signers block with file:line:column', () => {
    const load = (text: string) => () => parsePolicy(text, 'production.yaml', { issuer: ISSUER });
    expect(load(file(`      min: 3\n      of:\n        - { issuer: $self, subject: ${ANA} }\n`))).toThrow(
      /signers\.min: min is more than the signers listed/,
    );
    expect(load(file('      min: 1\n      of:\n        - { issuer: $self, subject: "^https://x" }\n'))).toThrow(
      /must be anchored/,
    );
    expect(load(file(`      min: 1\n      of:\n        - { issuer: $self, subject: ${ANA}, role: x }\n`))).toThrow(
      /unknown field "role"; the fields here are issuer, subject/,
    );
    expect(
      load(file(`      min: 1\n      of:\n        - { issuer: $self, subject: ${ANA} }\n`, '    absent: true\n')),
    ).toThrow(/an absent rule cannot require signers/);
    expect(load(file('      min: 0\n      of: []\n'))).toThrow(/at least 1/);
  });
});
