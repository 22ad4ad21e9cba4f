// `waybill diff A B`: what changed between the provenance of two digests, grouped by kind.
import type { Command } from 'commander';
import type { DepChange, ImageChange, ProvenanceDiff } from '../rebuild/index.ts';
import { api } from './client.ts';
import { digestArg, json, jsonOption, type Out, serverOption, tokenOption } from './common.ts';

const show = (v: unknown): string =>
  v === null || v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v);
const shortDigest = (d: Record<string, string> | string | null): string => {
  if (!d) return 'no digest';
  const [alg, hex] = typeof d === 'string' ? (d.split(':') as [string, string]) : (Object.entries(d)[0] ?? ['', '']);
  return hex ? `${alg}:${hex.slice(0, 12)}` : 'no digest';
};

function dependencyLine(c: DepChange): string {
  const version = (v: string | null) => v ?? '(no version)';
  const what =
    c.kind === 'added'
      ? `${version(c.newVersion)} ${shortDigest(c.newDigest)}`
      : c.kind === 'removed'
        ? `${version(c.oldVersion)} ${shortDigest(c.oldDigest)}`
        : c.kind === 'unpinned'
          ? `${version(c.newVersion)} has no digest`
          : `${version(c.oldVersion)} ${shortDigest(c.oldDigest)} -> ` +
            `${version(c.newVersion)} ${shortDigest(c.newDigest)}`;
  return `  ${c.kind.padEnd(9)}${c.display}  ${what}`;
}

function imageLine(c: ImageChange): string {
  const what =
    c.kind === 'tag-only'
      ? `${c.newRef ?? c.name}: referenced by tag only, not pinned by digest`
      : `${c.oldRef ?? '∅'} -> ${c.newRef ?? '∅'}`;
  return `  ${c.kind.padEnd(9)}${c.name}  ${what}`;
}

/** The diff as a terminal reads it: one section per kind, one line per change. */
export function formatDiff(a: string, b: string, rebuild: boolean, diff: ProvenanceDiff): string {
  const kind = rebuild ? 'rebuild: same subject name and source' : 'not a rebuild: no shared subject name and source';
  const lines = [`${a} -> ${b} (${kind})`, `summary: ${diff.summary}`];
  const section = (title: string, items: string[]) =>
    lines.push('', `${title}:${items.length === 0 ? ' same' : ''}`, ...items);
  section('dependencies', diff.dependencies.map(dependencyLine));
  section('base images', diff.baseImages.map(imageLine));
  const generic = (c: { kind: string; name?: string; old: unknown; new: unknown }) =>
    `  ${c.kind.padEnd(9)}${c.name ?? ''}  ${show(c.old)} -> ${show(c.new)}`;
  section('builder', diff.builder.map(generic));
  section('parameters', diff.parameters.map(generic));
  section('metadata (expected noise)', diff.metadata.map(generic));
  return `${lines.join('\n')}\n`;
}

export function addDiffCommand(program: Command, io: Out): void {
  program
    .command('diff')
    .description(
      'the provenance diff of two digests, grouped by kind (dependencies, base images, builder, parameters, metadata)',
    )
    .argument('<a>', 'the original digest, sha256:<hex>')
    .argument('<b>', 'the other (rebuild) digest, sha256:<hex>')
    .addOption(jsonOption())
    .addOption(serverOption())
    .addOption(tokenOption('a token (any role)').makeOptionMandatory())
    .action(async (a: string, b: string, o: { server: string; token: string; json?: boolean }) => {
      const res = await api<{ a: string; b: string; rebuild: boolean; diff: ProvenanceDiff }>(
        { server: o.server, token: o.token },
        'GET',
        `v1/artifacts/${encodeURIComponent(digestArg(a, 'A'))}/diff/${encodeURIComponent(digestArg(b, 'B'))}`,
      );
      io.out(o.json ? json(res) : formatDiff(res.a, res.b, res.rebuild, res.diff));
    });
}
