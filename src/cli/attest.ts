// `waybill attest`: what a CI job runs to get provenance or a test result signed. It builds the
// request, posts it, and writes the returned bundle to a file for the job's artifacts.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { STATEMENT_V1 } from '../intoto/statement.ts';
import { TEST_RESULT_V01 } from '../intoto/test-result.ts';
import { type BuildFacts, provenanceStatement } from '../intoto/waybill.ts';
import { callerToken, ciTokenOptions } from './ci-token.ts';
import { api } from './client.ts';
import { CliFailure, EXIT, json, jsonOption, type Out, serverOption, tokenOption } from './common.ts';
import { type KeylessOptions, keylessOptions, signKeyless } from './keyless.ts';

type Env = Record<string, string | undefined>;

/** NAME=sha256:HEX -> an in-toto subject. */
export function parseSubject(arg: string): { name: string; digest: Record<string, string> } {
  const m = /^(.+)=(sha256|sha384|sha512):([0-9a-fA-F]+)$/.exec(arg);
  if (!m) throw new CliFailure(`--subject "${arg}": expected NAME=sha256:HEX`, EXIT.USAGE);
  return { name: m[1]!, digest: { [m[2]!]: m[3]!.toLowerCase() } };
}

/**
 * Build facts from the GitHub Actions environment, following the GitHub Actions workflow
 * buildType (https://actions.github.io/buildtypes/workflow/v1).
 */
export function githubBuildFacts(env: Env): Record<string, unknown> {
  const need = (k: string) => {
    const v = env[k];
    if (!v) throw new CliFailure(`--from-github-env: ${k} is not set (is this a GitHub Actions job?)`, EXIT.USAGE);
    return v;
  };
  const server = need('GITHUB_SERVER_URL');
  const repository = need('GITHUB_REPOSITORY');
  const sha = need('GITHUB_SHA');
  const ref = need('GITHUB_REF');
  const workflowRef = need('GITHUB_WORKFLOW_REF'); // owner/repo/.github/workflows/x.yml@refs/heads/main
  const runId = need('GITHUB_RUN_ID');
  const attempt = env.GITHUB_RUN_ATTEMPT ?? '1';
  const [workflowPath, workflowGitRef] = workflowRef.slice(repository.length + 1).split('@');
  const defined = (o: Record<string, string | undefined>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v));
  return {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: {
      workflow: { ref: workflowGitRef ?? ref, repository: `${server}/${repository}`, path: workflowPath },
    },
    internalParameters: {
      github: defined({
        event_name: env.GITHUB_EVENT_NAME,
        repository_id: env.GITHUB_REPOSITORY_ID,
        repository_owner_id: env.GITHUB_REPOSITORY_OWNER_ID,
        runner_environment: env.RUNNER_ENVIRONMENT,
      }),
    },
    resolvedDependencies: [{ uri: `git+${server}/${repository}@${ref}`, digest: { gitCommit: sha } }],
    builder: { id: `${server}/${workflowRef}` },
    metadata: { invocationId: `${server}/${repository}/actions/runs/${runId}/attempts/${attempt}` },
  };
}

// Workload identity: without --token, the CI job's own ID token (ci-token.ts); --keyless signs
// on the CI machine (keyless.ts).
const common = (cmd: Command) =>
  keylessOptions(
    ciTokenOptions(
      cmd
        .addOption(serverOption())
        .addOption(tokenOption("bearer token (default: the CI job's ID token)"))
        .option('--out <file>', 'write the returned bundle here')
        .option('--idempotency-key <key>', 'sent as Idempotency-Key, so a retried job never signs twice')
        .addOption(jsonOption()),
    ),
  );

type PostOptions = {
  server: string;
  token?: string;
  audience?: string;
  idTokenEnv?: string;
  out?: string;
  idempotencyKey?: string;
  json?: boolean;
};

async function post(o: PostOptions, route: string, body: unknown, io: Out, env: Env = process.env) {
  const record = await api<{ id: string; logIndex: number; bundle: unknown }>(
    {
      server: o.server,
      token: await callerToken(o, env),
      ...(o.idempotencyKey ? { headers: { 'idempotency-key': o.idempotencyKey } } : {}),
    },
    'POST',
    route,
    body,
  );
  if (o.out) writeFileSync(o.out, `${JSON.stringify(record.bundle, null, 2)}\n`);
  if (o.json) io.out(json({ id: record.id, logIndex: record.logIndex, ...(o.out ? { bundle: o.out } : {}) }));
  else io.out(`signed ${record.id} (log #${record.logIndex})${o.out ? `, bundle written to ${o.out}` : ''}\n`);
}

export function addAttestCommands(program: Command, io: Out, env: Env = process.env): void {
  const attest = program.command('attest').description('submit evidence for signing (CI)');

  common(attest.command('provenance'))
    .description('sign SLSA v1 provenance for build outputs (role builder)')
    .requiredOption(
      '--subject <name=sha256:hex...>',
      'a build output; repeat for several',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--from-github-env', 'take the build facts from the GitHub Actions environment')
    .option('--build-type <uri>', 'buildType (without --from-github-env)')
    .option('--builder-id <uri>', 'builder.id (without --from-github-env)')
    .option('--source <uri@gitCommit>', 'the source repository and commit, e.g. git+https://github.com/o/r@<sha>')
    .option('--parameters <json>', 'externalParameters as JSON', '{}')
    .action(async (o) => {
      const subjects = (o.subject as string[]).map(parseSubject);
      let facts: Record<string, unknown>;
      if (o.fromGithubEnv) {
        facts = githubBuildFacts(env);
        // Signed as the job's ID token, waybill takes builder.id from its job_workflow_ref claim
        // (a reusable workflow's, which no environment variable names).
        if (!o.token && !o.keyless) delete facts.builder;
      } else {
        // A CI job signing as its ID token gets builder.id from its claims (workload identity).
        if (!o.buildType || (!o.builderId && (o.token || o.keyless)))
          throw new CliFailure('give --build-type and --builder-id, or --from-github-env', EXIT.USAGE);
        let externalParameters: unknown;
        try {
          externalParameters = JSON.parse(o.parameters);
        } catch {
          throw new CliFailure('--parameters is not JSON', EXIT.USAGE);
        }
        const source = o.source ? /^(.+)@([0-9a-f]{40}|[0-9a-f]{64})$/.exec(o.source) : null;
        if (o.source && !source) throw new CliFailure('--source: expected URI@<40 or 64 hex gitCommit>', EXIT.USAGE);
        facts = {
          buildType: o.buildType,
          externalParameters,
          ...(o.builderId ? { builder: { id: o.builderId } } : {}),
          ...(source ? { resolvedDependencies: [{ uri: source[1], digest: { gitCommit: source[2] } }] } : {}),
        };
      }
      if (o.keyless) {
        const statement = provenanceStatement({ subjects, ...facts } as BuildFacts);
        await post(o, 'v1/bundles', { bundle: await signKeyless(statement, o as KeylessOptions, env) }, io, env);
      } else await post(o, 'v1/provenance', { subjects, ...facts }, io, env);
    });

  common(attest.command('test-result'))
    .description('sign a test result for an environment (role tester)')
    .requiredOption('--environment <name>', 'where the tests ran')
    .addOption(
      new Option('--result <result>', 'the outcome').choices(['PASSED', 'WARNED', 'FAILED']).makeOptionMandatory(),
    )
    .requiredOption(
      '--subject <name=sha256:hex...>',
      'the artifact tested; repeat for several',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--url <url>', 'link to the test run')
    .option('--passed <name...>', 'passed tests')
    .option('--warned <name...>', 'warned tests')
    .option('--failed <name...>', 'failed tests')
    .action(async (o) => {
      const statement = {
        _type: STATEMENT_V1,
        subject: (o.subject as string[]).map(parseSubject),
        predicateType: TEST_RESULT_V01,
        predicate: {
          result: o.result,
          configuration: [] as Array<{ name: string; uri: string }>,
          ...(o.url ? { url: o.url } : {}),
          ...(o.passed ? { passedTests: o.passed } : {}),
          ...(o.warned ? { warnedTests: o.warned } : {}),
          ...(o.failed ? { failedTests: o.failed } : {}),
        },
      };
      if (o.keyless) {
        // Signed here, so the environment binding the server adds must be in the statement already.
        statement.predicate.configuration.push({
          name: 'environment',
          uri: await environmentUri(o.server, o.environment),
        });
        const bundle = await signKeyless(statement, o as KeylessOptions, env);
        await post(o, 'v1/bundles', { bundle, environment: o.environment }, io, env);
      } else await post(o, 'v1/attestations', { environment: o.environment, statement }, io, env);
    });
}

/** `<issuer>/environments/<name>`, the issuer read from the server's trusted root (public). */
async function environmentUri(server: string, environment: string): Promise<string> {
  const root = await api<{ certificateAuthorities?: Array<{ uri?: string }> }>({ server }, 'GET', 'v1/trust/root');
  const issuer = root.certificateAuthorities?.[0]?.uri;
  if (!issuer) throw new CliFailure(`${server} names no issuer in its trusted root`, EXIT.FAILED);
  return `${issuer}/environments/${environment}`;
}
