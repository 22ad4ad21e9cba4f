// Deploy-pipeline commands: `waybill gate` (exit 0 on allow, 1 on deny), `waybill policy
// explain` (the verdict rule by rule), and `waybill policy check` (validate policy files offline).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { checkPolicies, formatProblem } from '../policy/load.ts';
import { callerToken, ciTokenOptions } from './ci-token.ts';
import { api } from './client.ts';
import { CliFailure } from './verify.ts';

type Out = { out: (s: string) => void; err: (s: string) => void };

interface VerdictJson {
  id: string;
  digest: string;
  environment: string;
  decision: 'allow' | 'deny';
  rules: Array<{ name: string; satisfied: boolean; evidence: string[]; reason?: string }>;
  reasons: string[];
  expiresAt: string | null;
  attestationId: string | null;
  bundle: unknown;
}

const serverOption = () =>
  new Option('--server <url>', 'waybill server URL').env('WAYBILL_SERVER').default('http://127.0.0.1:8787');
// Optional: without it a CI job presents its own ID token (workload identity, ci-token.ts).
const tokenOption = () =>
  new Option('--token <token>', "a deployer token (default: the CI job's ID token)").env('WAYBILL_TOKEN');

function explain(v: VerdictJson): string {
  const until = v.expiresAt ? `, valid until ${v.expiresAt}` : '';
  const lines = [
    `${v.decision === 'allow' ? 'ALLOW' : 'DENY'} ${v.digest} -> ${v.environment} (verdict ${v.id}${until})`,
  ];
  for (const r of v.rules) {
    const evidence = r.evidence.length ? `  [${r.evidence.map((e) => e.slice(0, 12)).join(', ')}]` : '';
    lines.push(`  ${r.satisfied ? '✓' : '✗'} ${r.name}${r.satisfied ? evidence : `: ${r.reason ?? 'not satisfied'}`}`);
  }
  return `${lines.join('\n')}\n`;
}

async function askVerdict(o: {
  server: string;
  token?: string;
  audience?: string;
  idTokenEnv?: string;
  digest: string;
  environment: string;
}): Promise<VerdictJson> {
  return api<VerdictJson>({ server: o.server, token: await callerToken(o, process.env) }, 'POST', 'v1/verdicts', {
    digest: o.digest,
    environment: o.environment,
  });
}

export function addPromotionCommands(program: Command, io: Out, opts: { issuer?: string } = {}): void {
  const gate = program.command('gate');
  ciTokenOptions(gate)
    .description('ask for a verdict before deploying: exit 0 on allow, 1 on deny (with the reasons)')
    .requiredOption('--digest <sha256:hex>', 'the artifact digest')
    .requiredOption('--environment <name>', 'where it is about to go')
    .option('--vsa <file>', 'write the signed verdict (VSA bundle) here')
    .option('--json', 'print the verdict as JSON')
    .addOption(serverOption())
    .addOption(tokenOption())
    .action(async (o) => {
      const v = await askVerdict(o);
      if (o.vsa && v.bundle) writeFileSync(o.vsa, `${JSON.stringify(v.bundle, null, 2)}\n`);
      io.out(o.json ? `${JSON.stringify(v, null, 2)}\n` : explain(v));
      if (v.decision !== 'allow') throw new CliFailure(`denied: ${v.reasons.join('; ')}`, 1);
    });

  const policy = program.command('policy').description('promotion policies');
  policy
    .command('check')
    .description('validate policy files (exit non-zero with file:line:column reasons)')
    .argument('[dir]', 'the policies directory', 'policies')
    .option('--issuer <url>', 'the issuer `$self` stands for', opts.issuer ?? 'http://localhost:8787')
    .action((dir: string, o: { issuer: string }) => {
      const result = checkPolicies(dir, { issuer: o.issuer });
      if (!result.ok) {
        for (const p of result.problems) io.err(`${formatProblem(p)}\n`);
        throw new CliFailure(`${result.problems.length} problem(s) in ${dir}`, 1);
      }
      io.out(`${dir}: ok\n`);
    });
  policy
    .command('explain')
    .description('ask for a verdict and show it rule by rule')
    .requiredOption('--digest <sha256:hex>', 'the artifact digest')
    .requiredOption('--environment <name>', 'the environment')
    .addOption(serverOption())
    .addOption(tokenOption())
    .action(async (o) => {
      io.out(explain(await askVerdict(o)));
    });
}
