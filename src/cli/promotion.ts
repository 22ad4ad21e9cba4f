// Deploy-pipeline commands: `waybill gate` (exit 0 on allow, 1 on deny), `waybill deploy` (a
// verdict, then the deployment under it), `waybill environments` (what runs where), `waybill
// policy explain` (the verdict rule by rule) and `waybill policy check` (policy files, offline).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { checkPolicies, formatProblem } from '../policy/load.ts';
import { type CiTokenOptions, callerToken, ciTokenOptions } from './ci-token.ts';
import { api } from './client.ts';
import {
  CliFailure,
  digestArg,
  EXIT,
  json,
  jsonOption,
  type Out,
  serverOption,
  shortDigest,
  table,
  tokenOption,
} from './common.ts';
import { addPolicyCommands } from './policies.ts';

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

interface DeploymentJson {
  id: string;
  digest: string;
  environment: string;
  verdictId: string;
  attestationId: string;
  deployer: string;
  createdAt: string;
  bundle?: unknown;
}

interface EnvironmentJson {
  name: string;
  after: string | null;
  uri: string;
  policy: { uri: string; digest: { sha256: string } };
  current: { digest: string; deploymentId: string; deployedAt: string } | null;
  /** The latest runtime snapshot's digests (absent from servers before snapshots). */
  observed?: { snapshotId: string; source: string; observedAt: string; digests: string[] } | null;
}

/** What a runtime snapshot saw running: one digest, or the first and how many more. */
function observedRunning(e: EnvironmentJson): string | undefined {
  const digests = e.observed?.digests;
  if (!digests?.length) return undefined;
  return digests.length === 1 ? digests[0] : `${shortDigest(digests[0]!)} (+${digests.length - 1})`;
}

type Remote = { server: string; token: string; json?: boolean };
/** A deployer's options: --token, or the CI job's own ID token (workload identity, ci-token.ts). */
type CiRemote = CiTokenOptions & { server: string; json?: boolean };

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

async function askVerdict(o: CiRemote & { digest: string; environment: string }): Promise<VerdictJson> {
  return api<VerdictJson>({ server: o.server, token: await callerToken(o, process.env) }, 'POST', 'v1/verdicts', {
    digest: digestArg(o.digest),
    environment: o.environment,
  });
}

/** Prints a verdict (text or JSON); a deny exits 1 with the reasons. */
function showVerdict(io: Out, o: { json?: boolean }, v: VerdictJson): void {
  io.out(o.json ? json(v) : explain(v));
  if (v.decision !== 'allow') throw new CliFailure(`denied: ${v.reasons.join('; ')}`, EXIT.FAILED);
}

const remote = (cmd: Command, who: string) =>
  cmd.addOption(serverOption()).addOption(tokenOption(who).makeOptionMandatory()).addOption(jsonOption());

/** Like `remote`, but --token is optional: without it a CI job presents its own ID token. */
const ciRemote = (cmd: Command) =>
  ciTokenOptions(cmd)
    .addOption(serverOption())
    .addOption(tokenOption("a deployer token (default: the CI job's ID token)"))
    .addOption(jsonOption());

export function addPromotionCommands(program: Command, io: Out, opts: { issuer?: string } = {}): void {
  ciRemote(program.command('gate'))
    .description('ask for a verdict before deploying: exit 0 on allow, 1 on deny (with the reasons)')
    .requiredOption('--digest <sha256:hex>', 'the artifact digest')
    .requiredOption('--environment <name>', 'where it is about to go')
    .option('--vsa <file>', 'write the signed verdict (VSA bundle) here')
    .action(async (o: CiRemote & { digest: string; environment: string; vsa?: string }) => {
      const v = await askVerdict(o);
      if (o.vsa && v.bundle) writeFileSync(o.vsa, json(v.bundle));
      showVerdict(io, o, v);
    });

  ciRemote(program.command('deploy'))
    .description('record a deployment: asks for a verdict (or uses --verdict), then deploys under it; exit 1 on deny')
    .requiredOption('--digest <sha256:hex>', 'the artifact digest')
    .requiredOption('--environment <name>', 'where it goes')
    .option('--verdict <id>', 'an unexpired allow verdict for this digest and environment (default: ask for one)')
    .option('--out <file>', 'write the signed deployment attestation (bundle) here')
    .action(async (o: CiRemote & { digest: string; environment: string; verdict?: string; out?: string }) => {
      const digest = digestArg(o.digest);
      const token = await callerToken(o, process.env);
      let verdictId = o.verdict;
      if (!verdictId) {
        const v = await askVerdict({ ...o, token });
        if (v.decision !== 'allow') return showVerdict(io, o, v);
        verdictId = v.id;
      }
      const d = await api<DeploymentJson>({ server: o.server, token }, 'POST', 'v1/deployments', {
        digest,
        environment: o.environment,
        verdictId,
      });
      if (o.out && d.bundle) writeFileSync(o.out, json(d.bundle));
      if (o.json) return io.out(json(d));
      io.out(
        `deployed ${d.digest} to ${d.environment} (deployment ${d.id}, verdict ${d.verdictId}, attestation ` +
          `${d.attestationId.slice(0, 12)})${o.out ? `, bundle written to ${o.out}` : ''}\n`,
      );
    });

  remote(program.command('environments'), 'a token (any role)')
    .description('the environments in promotion order and what runs in each; with NAME, its deployment history')
    .argument('[name]', 'one environment')
    .action(async (name: string | undefined, o: Remote) => {
      const client = { server: o.server, token: o.token };
      if (name === undefined) {
        const { items } = await api<{ items: EnvironmentJson[] }>(client, 'GET', 'v1/environments');
        if (o.json) return io.out(json(items));
        return io.out(
          table(
            ['ENVIRONMENT', 'AFTER', 'DEPLOYED', 'DEPLOYED AT', 'DEPLOYMENT', 'OBSERVED RUNNING'],
            items.map((e) => [
              e.name,
              e.after,
              e.current?.digest,
              e.current?.deployedAt,
              e.current?.deploymentId,
              observedRunning(e),
            ]),
            '(no environments)',
          ),
        );
      }
      const env = await api<EnvironmentJson & { history: DeploymentJson[] }>(
        client,
        'GET',
        `v1/environments/${encodeURIComponent(name)}`,
      );
      if (o.json) return io.out(json(env));
      io.out(
        `${env.name}${env.after ? ` (after ${env.after})` : ''}: ` +
          `${env.current ? `deployed ${env.current.digest} at ${env.current.deployedAt}` : 'nothing deployed'}\n` +
          (env.observed
            ? `observed running ${env.observed.digests.join(', ')} ` +
              `(${env.observed.source}, ${env.observed.observedAt})\n`
            : '') +
          `policy ${env.policy.uri} (sha256 ${env.policy.digest.sha256.slice(0, 12)})\n\n` +
          table(
            ['DEPLOYED AT', 'DIGEST', 'DEPLOYER', 'DEPLOYMENT', 'VERDICT'],
            env.history.map((d) => [d.createdAt, shortDigest(d.digest), d.deployer, d.id, d.verdictId]),
            '(no deployments)',
          ),
      );
    });

  const policy = program.command('policy').description('promotion policies');
  policy
    .command('check')
    .description('validate policy files (exit 1 with file:line:column reasons)')
    .argument('[dir]', 'the policies directory', 'policies')
    .option('--issuer <url>', 'the issuer `$self` stands for', opts.issuer ?? 'http://localhost:8787')
    .addOption(jsonOption())
    .action((dir: string, o: { issuer: string; json?: boolean }) => {
      const result = checkPolicies(dir, { issuer: o.issuer });
      if (o.json) io.out(json({ dir, ok: result.ok, problems: result.ok ? [] : result.problems }));
      if (!result.ok) {
        if (!o.json) for (const p of result.problems) io.err(`${formatProblem(p)}\n`);
        throw new CliFailure(`${result.problems.length} problem(s) in ${dir}`, EXIT.FAILED);
      }
      if (!o.json) io.out(`${dir}: ok\n`);
    });
  ciRemote(policy.command('explain'))
    .description('ask for a verdict and show it rule by rule (exit 1 on deny)')
    .requiredOption('--digest <sha256:hex>', 'the artifact digest')
    .requiredOption('--environment <name>', 'the environment')
    .action(async (o: CiRemote & { digest: string; environment: string }) => showVerdict(io, o, await askVerdict(o)));
  addPolicyCommands(policy, io, opts.issuer ?? 'http://localhost:8787');
}
