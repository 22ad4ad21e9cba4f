// `waybill snapshot kubernetes`: the running containers of `kubectl get pods -A -o json`, by the
// registry digest each runs, posted as a signed runtime snapshot.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { runningWorkloads } from '../../src/cli/snapshot.ts';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';

const PODS = new URL('../fixtures/kubernetes/pods.json', import.meta.url).pathname;
const pods = JSON.parse(readFileSync(PODS, 'utf8'));
const A = `sha256:${'a1'.repeat(32)}`;
const B = `sha256:${'b2'.repeat(32)}`;
const C = `sha256:${'c3'.repeat(32)}`;

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(['node', 'waybill', ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('reading kubectl get pods -A -o json', () => {
  it('takes running containers by the registry digest of their imageID, docker-pullable:// or not', () => {
    const { workloads, skipped } = runningWorkloads(pods, ['prod']);
    expect(workloads).toEqual([
      { name: 'prod/app-7d9c5b-x2x4z/app', digest: A },
      { name: 'prod/app-7d9c5b-x2x4z/proxy', digest: B },
      { name: 'prod/app-7d9c5b-x2x4z/debugger-abcde', digest: C },
      { name: 'prod/app-7d9c5b-q9v2m/app', digest: A },
      { name: 'prod/app-7d9c5b-q9v2m/proxy', digest: B },
    ]);
    // a bare local image id names no registry digest; a pending pod runs nothing yet
    expect(skipped).toEqual([`prod/legacy-0/legacy (imageID "${C}")`]);
  });

  it('keeps every namespace without --namespace, and matches * patterns', () => {
    expect(runningWorkloads(pods).workloads.map((w) => w.name)).toContain(
      'kube-system/coredns-5d78c9869d-abcde/coredns',
    );
    expect(runningWorkloads(pods, ['kube-*']).workloads).toHaveLength(1);
    expect(runningWorkloads(pods, ['pro']).workloads).toEqual([]);
  });

  it('refuses what is not a pod list', () => {
    expect(() => runningWorkloads({ kind: 'Pod' })).toThrow(/kubectl get pods -A -o json/);
  });
});

describe('waybill snapshot kubernetes', () => {
  let server: RunningServer;
  let reporter: string;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-snap-'));
    server = await startServer(parseConfig({ WAYBILL_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent' }));
    reporter = (await server.deps.tokens.create({ subject: 'https://k8s.example.com/snap', roles: ['reporter'] }))
      .token;
  });
  afterAll(async () => server.stop());

  const S = () => ['--server', server.url, '--token', reporter, '--file', PODS];

  it('posts the running digests as a signed snapshot and says what it recorded', async () => {
    const r = await cli(['snapshot', 'kubernetes', '--environment', 'production', '--namespace', 'prod', ...S()]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(`waybill: skipped prod/legacy-0/legacy (imageID "${C}"): not a registry digest\n`);
    expect(r.out).toMatch(
      /^recorded snapshot [0-9a-f]{64} of production: 5 containers running 3 digests \(kubernetes, \S+\)\n/,
    );
    const latest = await server.deps.snapshots.latest('production');
    expect(latest?.digests).toEqual([A, B, C]);
    expect(latest?.verified).toBe(true);
  });

  it('--json prints the snapshot without its bundle; --source names the observer', async () => {
    const r = await cli([
      'snapshot',
      'kubernetes',
      '--environment',
      'staging',
      '--source',
      'kubernetes/prod-eu',
      '--json',
      ...S(),
    ]);
    expect(r.code, r.err).toBe(0);
    const body = JSON.parse(r.out);
    expect(body).toMatchObject({ environment: 'staging', source: 'kubernetes/prod-eu' });
    expect(body.bundle).toBeUndefined();
  });

  it('exits 1 with nothing to report, 4 when the server refuses', async () => {
    const none = await cli(['snapshot', 'kubernetes', '--environment', 'production', '--namespace', 'none', ...S()]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/nothing to report/);
    const qa = await cli(['snapshot', 'kubernetes', '--environment', 'qa', ...S()]);
    expect(qa.code).toBe(4);
    expect(qa.err).toMatch(/no environment "qa"/);
  });
});
