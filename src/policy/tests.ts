// Policy tests (`waybill policy test`): YAML files of cases, each an environment, the evidence and
// deployment history a digest has, and the decision the policy must reach, run offline through
// evaluate(). Pure: file contents in, results out (the CLI and the test suite read the files).
// The format is docs/policies.md "Policy tests".
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { messageOf } from '../errors.ts';
import { normalizeDigest } from '../intoto/digest.ts';
import { REVOCATION_V1 } from '../intoto/waybill.ts';
import { sha256hex } from '../util/encoding.ts';
import { evaluate } from './evaluate.ts';
import { markRevoked, revocationsIn } from './revocations.ts';
import type { Deployment, Evidence, PolicySet } from './types.ts';

const DEFAULT_DIGEST = `sha256:${'ab'.repeat(32)}`;
const time = z.iso.datetime({ offset: true }).transform((t) => new Date(t));

const Attestation = z.strictObject({
  /** Names it for `revokes` and in output; default `<predicate type's last segment>-<index>`. */
  id: z.string().min(1).optional(),
  predicateType: z.string().min(1),
  signer: z.strictObject({ issuer: z.string().min(1).default('$self'), subject: z.string().min(1) }),
  environment: z.string().min(1).nullable().default(null),
  at: time,
  predicate: z.record(z.string(), z.unknown()).default({}),
  /** Another digest than the case's (evidence about something else). */
  digest: z.string().optional(),
  /** The bundle does not verify. */
  verified: z.boolean().default(true),
  /** Revoked by waybill at this time. */
  revokedAt: time.optional(),
});

const Case = z.strictObject({
  name: z.string().min(1),
  digest: z.string().default(DEFAULT_DIGEST),
  now: time.optional(),
  deployments: z.array(z.strictObject({ environment: z.string().min(1), at: time })).default([]),
  attestations: z.array(Attestation).default([]),
  expect: z.strictObject({
    decision: z.enum(['allow', 'deny']),
    /** Exactly the rules that must fail (default: none for an allow, not checked for a deny). */
    failing: z.array(z.string()).optional(),
  }),
});

const TestFile = z.strictObject({
  environment: z.string().min(1),
  now: time.optional(),
  tests: z.array(Case).min(1, 'a test file needs at least one test'),
});

export interface PolicyTestResult {
  file: string;
  environment: string;
  name: string;
  ok: boolean;
  /** What differed (empty when ok). */
  problems: string[];
}

/** Run every case of `files` against `policies`; a file that cannot be read is one failed result. */
export function runPolicyTests(
  policies: PolicySet,
  files: ReadonlyArray<{ file: string; content: string }>,
  opts: { issuer: string },
): PolicyTestResult[] {
  return files.flatMap((f) => runFile(policies, f, opts.issuer));
}

function runFile(policies: PolicySet, f: { file: string; content: string }, issuer: string): PolicyTestResult[] {
  const broken = (message: string): PolicyTestResult[] => [
    { file: f.file, environment: '?', name: '(the file)', ok: false, problems: [message] },
  ];
  const doc = parseDocument(f.content, { uniqueKeys: true });
  if (doc.errors.length > 0) return broken(doc.errors.map((e) => e.message).join('; '));
  const parsed = TestFile.safeParse(doc.toJS());
  if (!parsed.success) {
    return broken(parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; '));
  }
  const { environment, tests } = parsed.data;
  const policy = policies.policies.get(environment);
  if (!policy) return broken(`no policy for environment "${environment}" (${policies.order.join(', ')})`);
  const verifier = { subject: `${issuer}/verifier`, issuer };
  return tests.map((t) => {
    const result = { file: f.file, environment, name: t.name };
    try {
      const digest = normalizeDigest(t.digest);
      const now =
        t.now ?? parsed.data.now ?? new Date(Math.max(0, ...t.attestations.map((a) => a.at.getTime())) + 60_000);
      const evidence: Evidence[] = [];
      t.attestations.forEach((a, i) => {
        const about = a.digest ? normalizeDigest(a.digest) : digest;
        const id = sha256hex(`${f.file}/${t.name}/${a.id ?? i}`);
        const e: Evidence = {
          id,
          predicateType: a.predicateType,
          statement: {
            _type: 'https://in-toto.io/Statement/v1',
            subject: [{ name: 'artifact', digest: { [about.split(':')[0]!]: about.split(':')[1]! } }],
            predicateType: a.predicateType,
            predicate: a.predicate,
          },
          signer: { subject: a.signer.subject, issuer: a.signer.issuer === '$self' ? issuer : a.signer.issuer },
          environment: a.environment,
          createdAt: a.at,
          subjects: [about],
          verified: a.verified,
        };
        evidence.push(e);
        if (a.revokedAt) evidence.push(revocation(e, a.revokedAt, verifier));
      });
      const deployments: Deployment[] = t.deployments.map((d, i) => ({
        environment: d.environment,
        digest,
        attestationId: sha256hex(`${f.file}/${t.name}/deployment-${i}`),
        createdAt: d.at,
      }));
      const marked = markRevoked(evidence, revocationsIn(evidence, verifier, now));
      const decision = evaluate(policy, { digest, evidence: marked, deployments }, now);
      const problems: string[] = [];
      if (decision.decision !== t.expect.decision) {
        problems.push(`expected ${t.expect.decision}, got ${decision.decision}`);
        for (const r of decision.reasons) problems.push(r);
      }
      const failing = decision.rules.filter((r) => !r.satisfied).map((r) => r.name);
      // An allow implies no failing rule; say so only when the decision itself matched.
      const implied = t.expect.decision === 'allow' && problems.length === 0 ? [] : undefined;
      const wanted = t.expect.failing ?? implied;
      if (wanted && !sameSet(wanted, failing)) {
        problems.push(`expected failing rules [${wanted.join(', ')}], got [${failing.join(', ')}]`);
      }
      return { ...result, ok: problems.length === 0, problems };
    } catch (err) {
      return { ...result, ok: false, problems: [messageOf(err)] };
    }
  });
}

function revocation(e: Evidence, at: Date, verifier: { subject: string; issuer: string }): Evidence {
  return {
    id: sha256hex(`revocation of ${e.id}`),
    predicateType: REVOCATION_V1,
    statement: {
      subject: e.statement.subject,
      predicateType: REVOCATION_V1,
      predicate: { revoked: { id: e.id }, reason: 'policy test', revokedBy: 'policy test' },
    },
    signer: verifier,
    environment: null,
    createdAt: at,
    subjects: e.subjects,
    verified: true,
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

/** Test-runner output: the file, ✓/✗ per case with what differed, and a summary line. */
export function formatPolicyTests(results: readonly PolicyTestResult[]): string {
  const lines: string[] = [];
  let file: string | undefined;
  for (const r of results) {
    if (r.file !== file) {
      file = r.file;
      lines.push(`${r.file} (${r.environment})`);
    }
    lines.push(`  ${r.ok ? '✓' : '✗'} ${r.name}`);
    for (const p of r.problems) lines.push(`      ${p}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push('', `${results.length - failed} passed, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}
