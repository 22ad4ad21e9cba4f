// docs/policies.md stays true: its format example loads and its CEL examples compile and hold.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { compileCel } from '../../src/policy/cel.ts';
import { parsePolicy } from '../../src/policy/load.ts';

const doc = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8');
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/policies.md', () => {
  it('shows a format example that is a valid policy', () => {
    const policy = parsePolicy(yamlBlocks[0]!, 'production.yaml', { issuer: 'https://waybill.example.com' });
    expect(policy.after).toBe('staging');
    expect(policy.rules[0]!.signer!.issuer).toBe('https://waybill.example.com');
    expect(policy.rebuilds.require).toHaveLength(6);
  });

  it('shows CEL examples that compile and hold on matching evidence', () => {
    const wheres = yamlBlocks[1]!
      .split('\n\n')
      .map((chunk) => (parseDocument(chunk).toJS() as { where: string }).where);
    expect(wheres.length).toBeGreaterThanOrEqual(8);
    const vars = {
      statement: { subject: [{ name: 'ghcr.io/example/app', digest: { sha256: 'ab'.repeat(32) } }] },
      predicate: {
        runDetails: {
          builder: { id: 'https://ci.example.com/builder/v1' },
          metadata: { startedOn: '2026-01-01T10:00:00Z', finishedOn: '2026-01-01T10:30:00Z' },
        },
        buildDefinition: {
          externalParameters: { ref: 'refs/heads/main' },
          resolvedDependencies: [{ uri: 'git+https://x', digest: { gitCommit: 'ab'.repeat(20) } }],
        },
        result: 'PASSED',
        configuration: [{ name: 'environment', uri: 'http://localhost:8787/environments/staging' }],
        scanner: { result: [{ id: 'CVE-2026-1', severity: [{ method: 'CVSSv3', score: '5.3' }] }] },
        'build-type': 'docker',
      },
      subject: { name: 'ghcr.io/example/app', digest: { sha256: 'ab'.repeat(32) } },
      signer: { subject: 'https://ci.example.com/pipelines/build', issuer: 'http://localhost:8787' },
      environment: 'staging',
      attestation: {
        id: 'cd'.repeat(32),
        createdAt: '2026-01-01T11:00:00Z',
        predicateType: 'https://slsa.dev/provenance/v1',
      },
    };
    for (const where of wheres) expect(compileCel(where).evaluate(vars), where).toBe(true);
  });
});
