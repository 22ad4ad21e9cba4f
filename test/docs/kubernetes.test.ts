// docs/kubernetes.md stays true: its admission configuration parses against the shipped policies,
// and the webhook configuration routes every kind the webhook checks, failing closed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { environmentOfNamespace, parseAdmissionConfig } from '../../src/services/admission-config.ts';

const doc = readFileSync(new URL('../../docs/kubernetes.md', import.meta.url), 'utf8');
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const manifests = yamlBlocks.flatMap((b) => parseAllDocuments(b).map((d) => d.toJS() as Record<string, unknown>));

describe('docs/kubernetes.md', () => {
  it('shows an admission configuration that loads', () => {
    const text = yamlBlocks.find((b) => b.startsWith('environments:'))!;
    const config = parseAdmissionConfig(text, { source: 'doc', environments: ['dev', 'staging', 'production'] });
    expect(environmentOfNamespace(config, 'prod-eu')).toMatchObject({ environment: 'production' });
    expect(environmentOfNamespace(config, 'dev-x')).toMatchObject({ enforcement: 'audit' });
  });

  it('shows a ValidatingWebhookConfiguration that fails closed on every kind the webhook checks', () => {
    const vwc = manifests.find((m) => m.kind === 'ValidatingWebhookConfiguration') as {
      webhooks: Array<{ failurePolicy: string; clientConfig: { url: string }; rules: Array<{ resources: string[] }> }>;
    };
    const [hook] = vwc.webhooks;
    expect(hook!.failurePolicy).toBe('Fail');
    expect(hook!.clientConfig.url).toMatch(/^https:\/\/.*\/v1\/admission\/kubernetes$/);
    const resources = hook!.rules.flatMap((r) => r.resources).sort();
    expect(resources).toEqual(
      [
        'cronjobs',
        'daemonsets',
        'deployments',
        'jobs',
        'pods',
        'pods/ephemeralcontainers',
        'replicasets',
        'replicationcontrollers',
        'statefulsets',
      ].sort(),
    );
  });
});

describe('docs/kubernetes.md snapshot CronJob', () => {
  it('runs waybill snapshot kubernetes on kubectl output with a reporter token from a Secret', () => {
    const cron = manifests.find((m) => m.kind === 'CronJob') as {
      spec: { jobTemplate: { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } } };
    };
    const [container] = cron.spec.jobTemplate.spec.template.spec.containers;
    const script = (container!.args as string[]).join(' ');
    expect(script).toMatch(/^kubectl get pods -A -o json \| waybill snapshot kubernetes --environment production/);
    expect(JSON.stringify(container!.env)).toContain('"secretKeyRef"');
    expect(manifests.some((m) => m.kind === 'ClusterRole')).toBe(true);
  });
});
