// `waybill diff A B`: what changed between the provenance of two digests, grouped by kind.
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ProvenanceDiff } from '../rebuild/index.ts';
import { api } from './client.ts';

type Out = { out: (s: string) => void; err: (s: string) => void };

const show = (v: unknown): string => (v === null || v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v));

/** The diff as a terminal reads it: one section per kind, one line per change. */
export function formatDiff(a: string, b: string, rebuild: boolean, diff: ProvenanceDiff): string {
  const lines = [`${a} -> ${b}${rebuild ? ' (rebuild: same subject name and source)' : ' (not a rebuild: no shared subject name and source)'}`, `summary: ${diff.summary}`];
  const sections: Array<[string, ReadonlyArray<{ kind: string; name?: string; old: unknown; new: unknown }>]> = [
    ['dependencies', diff.dependencies],
    ['base images', diff.baseImages],
    ['builder', diff.builder],
    ['parameters', diff.parameters],
    ['metadata (expected noise)', diff.metadata],
  ];
  for (const [title, changes] of sections) {
    lines.push('', `${title}:${changes.length === 0 ? ' same' : ''}`);
    for (const c of changes) lines.push(`  ${c.kind.padEnd(8)} ${c.name ?? ''}  ${show(c.old)} -> ${show(c.new)}`.trimEnd());
  }
  return lines.join('\n') + '\n';
}

export function addDiffCommand(program: Command, io: Out): void {
  program
    .command('diff')
    .description('the provenance diff of two digests, grouped by kind (dependencies, base images, builder, parameters, metadata)')
    .argument('<a>', 'the original digest, sha256:<hex>')
    .argument('<b>', 'the other (rebuild) digest, sha256:<hex>')
    .option('--json', 'print the diff as JSON')
    .addOption(new Option('--server <url>', 'waybill server URL').env('WAYBILL_SERVER').default('http://127.0.0.1:8787'))
    .addOption(new Option('--token <token>', 'any role').env('WAYBILL_TOKEN').makeOptionMandatory())
    .action(async (a: string, b: string, o: { server: string; token: string; json?: boolean }) => {
      const res = await api<{ a: string; b: string; rebuild: boolean; diff: ProvenanceDiff }>(
        { server: o.server, token: o.token },
        'GET',
        `v1/artifacts/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`,
      );
      io.out(o.json ? JSON.stringify(res, null, 2) + '\n' : formatDiff(res.a, res.b, res.rebuild, res.diff));
    });
}
