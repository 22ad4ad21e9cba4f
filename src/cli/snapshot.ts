// `waybill snapshot kubernetes`: what runs in a cluster, from `kubectl get pods -A -o json` on
// standard input, posted as a runtime snapshot of an environment (POST /v1/environments/{name}/snapshots).
import type { Command } from 'commander';
import { globRegExp } from '../util/glob.ts';
import { api } from './client.ts';
import { CliFailure, EXIT, json, jsonOption, type Out, readJsonArg, serverOption, tokenOption } from './common.ts';

export interface Workload {
  name: string;
  digest: string;
}

export interface PodsRead {
  workloads: Workload[];
  /** Running containers left out: their image ID names no registry digest (`<name>@sha256:<hex>`). */
  skipped: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
/** An image ID as a container runtime reports it: `docker-pullable://ghcr.io/x@sha256:…`, `ghcr.io/x@sha256:…`. */
const IMAGE_ID = /^(?:[a-z-]+:\/\/)?[^@\s]+@(sha256:[0-9a-f]{64})$/;

/**
 * The running containers of a pod list (`kubectl get pods -A -o json`) with the registry digest
 * each runs, from `containerStatuses[].imageID` (and ephemeral containers'); `namespaces`, when
 * given, are patterns (`*` for any run of characters) a pod's namespace must match.
 */
export function runningWorkloads(list: unknown, namespaces: readonly string[] = []): PodsRead {
  if (!isObject(list) || !Array.isArray(list.items)) {
    throw new CliFailure('expected the output of `kubectl get pods -A -o json` (a List with items)', EXIT.USAGE);
  }
  const patterns = namespaces.map(globRegExp);
  const workloads: Workload[] = [];
  const skipped: string[] = [];
  for (const pod of list.items) {
    if (!isObject(pod) || !isObject(pod.metadata) || !isObject(pod.status)) continue;
    const ns = String(pod.metadata.namespace ?? '');
    if (patterns.length > 0 && !patterns.some((p) => p.test(ns))) continue;
    if (pod.status.phase !== 'Running') continue;
    const statuses = [pod.status.containerStatuses, pod.status.ephemeralContainerStatuses].flatMap((s) =>
      Array.isArray(s) ? s : [],
    );
    for (const c of statuses) {
      if (!isObject(c) || !isObject(c.state) || !c.state.running) continue;
      const name = `${ns}/${String(pod.metadata.name)}/${String(c.name)}`;
      const m = IMAGE_ID.exec(String(c.imageID ?? ''));
      if (m) workloads.push({ name, digest: m[1]! });
      else skipped.push(`${name} (imageID ${JSON.stringify(c.imageID ?? null)})`);
    }
  }
  return { workloads, skipped };
}

interface SnapshotJson {
  id: string;
  environment: string;
  source: string;
  observedAt: string;
  workloads: Workload[];
  digests: string[];
}

export function addSnapshotCommands(program: Command, io: Out): void {
  const snapshot = program.command('snapshot').description('report what actually runs (runtime snapshots)');
  snapshot
    .command('kubernetes')
    .description('post what runs in a cluster, read from `kubectl get pods -A -o json` on standard input')
    .requiredOption('--environment <name>', 'the environment these pods are')
    .option('--namespace <pattern...>', 'only pods in these namespaces (* matches any run of characters)')
    .option('--source <text>', 'what observed it, e.g. kubernetes/prod-eu', 'kubernetes')
    .option('--file <path>', 'read the pod list from a file instead of standard input', '-')
    .addOption(serverOption())
    .addOption(tokenOption('a reporter token').makeOptionMandatory())
    .addOption(jsonOption())
    .action(
      async (o: {
        environment: string;
        namespace?: string[];
        source: string;
        file: string;
        server: string;
        token: string;
        json?: boolean;
      }) => {
        const observedAt = new Date().toISOString();
        const list = await readJsonArg(o.file, 'pod list');
        const { workloads, skipped } = runningWorkloads(list, o.namespace ?? []);
        for (const s of skipped) io.err(`waybill: skipped ${s}: not a registry digest\n`);
        if (workloads.length === 0) {
          throw new CliFailure('no running container with a sha256 image digest: nothing to report', EXIT.FAILED);
        }
        const posted = await api<SnapshotJson>(
          { server: o.server, token: o.token },
          'POST',
          `v1/environments/${encodeURIComponent(o.environment)}/snapshots`,
          { source: o.source, observedAt, workloads },
        );
        if (o.json) return io.out(json({ ...posted, bundle: undefined, skipped }));
        io.out(
          `recorded snapshot ${posted.id} of ${posted.environment}: ${posted.workloads.length} containers ` +
            `running ${posted.digests.length} digests (${posted.source}, ${posted.observedAt})\n` +
            posted.digests.map((d) => `  ${d}\n`).join(''),
        );
      },
    );
}
