// `waybill policy list` (the files in force and their history), `waybill policy replay`
// (candidate files over past verdicts: which would flip; signs nothing) and `waybill policy test`
// (the policy tests of DIR/tests/*.yaml, offline).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { checkPolicies, formatProblem } from '../policy/load.ts';
import { formatPolicyTests, runPolicyTests } from '../policy/tests.ts';
import { parseDuration } from '../util/duration.ts';
import { api } from './client.ts';
import {
  CliFailure,
  EXIT,
  json,
  jsonOption,
  type Out,
  serverOption,
  shortDigest,
  table,
  tokenOption,
} from './common.ts';

interface PoliciesJson {
  current: Array<{ environment: string; file: string; sha256: string; uri: string; after: string | null }>;
  history: Array<{
    environment: string;
    file: string;
    sha256: string;
    current: boolean;
    firstSeen: string;
    lastSeen: string;
    replacedAt: string | null;
  }>;
}

interface Flip {
  verdictId: string;
  digest: string;
  createdAt: string;
  from: string;
  to: string;
  rules: Array<{ name: string; reason: string }>;
}
interface ReplayJson {
  since: string;
  until: string;
  environments: Array<{
    environment: string;
    policy: { sha256: string };
    verdicts: number;
    unchanged: number;
    allowToDeny: Flip[];
    denyToAllow: Flip[];
  }>;
}

type Remote = { server: string; token: string; json?: boolean };

const remote = (cmd: Command, who: string) =>
  cmd.addOption(serverOption()).addOption(tokenOption(who).makeOptionMandatory()).addOption(jsonOption());

/** An RFC 3339 time, or a duration (`30d`) meaning that long ago. */
export function timeArg(value: string, option: string, now = new Date()): string {
  if (/^\d+[smhdw]$/.test(value)) return new Date(now.getTime() - parseDuration(value)).toISOString();
  const t = Date.parse(value);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(value))
    throw new CliFailure(`${option} "${value}": expected a duration (30d, 12h) or an RFC 3339 time`, EXIT.USAGE);
  return new Date(t).toISOString();
}

/** The replay report as text: a summary table, then one line per flip. */
export function formatReplay(r: ReplayJson): string {
  const summary = table(
    ['ENVIRONMENT', 'POLICY', 'VERDICTS', 'UNCHANGED', 'ALLOW->DENY', 'DENY->ALLOW'],
    r.environments.map((e) => [
      e.environment,
      e.policy.sha256.slice(0, 12),
      e.verdicts,
      e.unchanged,
      e.allowToDeny.length,
      e.denyToAllow.length,
    ]),
  );
  const flips = r.environments.flatMap((e) =>
    [...e.allowToDeny, ...e.denyToAllow].map((f) => [
      e.environment,
      `${f.from}->${f.to}`,
      f.verdictId,
      shortDigest(f.digest),
      f.createdAt,
      f.rules.map((x) => `${x.name}: ${x.reason}`).join('; '),
    ]),
  );
  const head = `verdicts from ${r.since} to ${r.until}\n\n`;
  if (flips.length === 0) return `${head}${summary}\nno verdict would flip\n`;
  return `${head}${summary}\n${table(['ENVIRONMENT', 'FLIP', 'VERDICT', 'DIGEST', 'DECIDED AT', 'RULES'], flips)}`;
}

/** The policy test files of `dir`/tests, sorted by name. */
export function readPolicyTests(dir: string): Array<{ file: string; content: string }> {
  const tests = join(dir, 'tests');
  let names: string[];
  try {
    names = readdirSync(tests).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'));
  } catch {
    throw new CliFailure(`${tests}: no such directory (policy tests go in <policies>/tests/*.yaml)`, EXIT.USAGE);
  }
  if (names.length === 0) throw new CliFailure(`${tests}: no *.yaml policy tests`, EXIT.USAGE);
  return names.sort().map((n) => ({ file: join(tests, n), content: readFileSync(join(tests, n), 'utf8') }));
}

export function addPolicyCommands(policy: Command, io: Out, defaultIssuer: string): void {
  policy
    .command('test')
    .description('run the policy tests of DIR/tests/*.yaml offline (exit 1 on a failure)')
    .argument('[dir]', 'the policies directory', 'policies')
    .option('--issuer <url>', 'the issuer `$self` stands for', defaultIssuer)
    .addOption(jsonOption())
    .action((dir: string, o: { issuer: string; json?: boolean }) => {
      const checked = checkPolicies(dir, { issuer: o.issuer });
      if (!checked.ok) {
        for (const p of checked.problems) io.err(`${formatProblem(p)}\n`);
        throw new CliFailure(`${checked.problems.length} problem(s) in ${dir}`, EXIT.FAILED);
      }
      const results = runPolicyTests(checked.policies, readPolicyTests(dir), { issuer: o.issuer });
      io.out(o.json ? json(results) : formatPolicyTests(results));
      const failed = results.filter((r) => !r.ok).length;
      if (failed > 0) throw new CliFailure(`${failed} policy test(s) failed`, EXIT.FAILED);
    });

  remote(policy.command('list'), 'a token (any role)')
    .description('the policy files in force and every version waybill has loaded')
    .action(async (o: Remote) => {
      const p = await api<PoliciesJson>({ server: o.server, token: o.token }, 'GET', 'v1/policies');
      if (o.json) return io.out(json(p));
      io.out(
        table(
          ['ENVIRONMENT', 'FILE', 'SHA256', 'IN FORCE', 'FIRST LOADED', 'LAST LOADED', 'REPLACED'],
          p.history.map((h) => [
            h.environment,
            h.file,
            h.sha256.slice(0, 12),
            h.current ? 'yes' : 'no',
            h.firstSeen,
            h.lastSeen,
            h.replacedAt,
          ]),
          '(no policy versions recorded)',
        ),
      );
    });

  remote(policy.command('replay'), 'an auditor or admin token')
    .description('replay candidate policy files over past verdicts: which would flip (signs nothing)')
    .requiredOption('--policies <dir>', 'the candidate files (<environment>.yaml); each replaces the one in force')
    .requiredOption('--since <when>', 'the window start: a duration ago (30d) or an RFC 3339 time')
    .option('--until <when>', 'the window end (default: now)')
    .action(async (o: Remote & { policies: string; since: string; until?: string }) => {
      let names: string[];
      try {
        names = readdirSync(o.policies).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'));
      } catch (err) {
        throw new CliFailure(`--policies ${o.policies}: ${(err as Error).message}`, EXIT.USAGE);
      }
      if (names.length === 0) throw new CliFailure(`--policies ${o.policies}: no <environment>.yaml files`, EXIT.USAGE);
      const files = Object.fromEntries(names.sort().map((n) => [n, readFileSync(join(o.policies, n), 'utf8')]));
      const body = {
        files,
        since: timeArg(o.since, '--since'),
        ...(o.until ? { until: timeArg(o.until, '--until') } : {}),
      };
      const r = await api<ReplayJson>({ server: o.server, token: o.token }, 'POST', 'v1/policies/replay', body);
      io.out(o.json ? json(r) : formatReplay(r));
    });
}
