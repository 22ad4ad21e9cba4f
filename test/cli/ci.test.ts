// CI integration: the GitHub Action (action/action.yml, run here step by step as the runner
// would, with a fake ID-token endpoint) and the CLI's CI token options, against a real server.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import { CLAIMED_SHA, githubClaims, gitlabClaims, startIssuer, type TestIssuer } from '../helpers/oidc-issuer.ts';
import { BIN, runCli } from '../helpers/process.ts';
import { workloadFixture } from '../helpers/workload.ts';

const ACTION_DIR = fileURLToPath(new URL('../../action/', import.meta.url));
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const GITHUB_ENV = {
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_SHA: CLAIMED_SHA,
  GITHUB_REF: 'refs/heads/main',
  GITHUB_WORKFLOW_REF: 'acme/app/.github/workflows/release.yml@refs/heads/main',
  GITHUB_RUN_ID: '4242424242',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_EVENT_NAME: 'push',
};

interface ActionYaml {
  inputs: Record<string, { default?: string; required?: boolean }>;
  runs: { using: string; steps: Array<{ id: string; shell: string; env: Record<string, string>; run: string }> };
}

describe('CI: the GitHub Action and the CLI with the job’s ID token', () => {
  let github: TestIssuer;
  let gitlab: TestIssuer;
  let server: RunningServer;
  let tokenEndpoint: Server;
  let requestUrl: string;
  let dir: string;
  let shims: string;
  /** What the fake token endpoint mints, and what it was asked for. */
  let claims: Record<string, unknown> = githubClaims();
  const requests: Array<{ audience: string | null; authorization: string | undefined }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wb-ci-'));
    github = await startIssuer();
    gitlab = await startIssuer();
    server = await startServer(
      parseConfig({
        WAYBILL_DATA_DIR: path.join(dir, 'data'),
        PORT: '0',
        LOG_LEVEL: 'silent',
        ...workloadFixture(github, gitlab),
      }),
    );
    // GitHub's endpoint: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=..., bearer the request token.
    tokenEndpoint = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      requests.push({ audience: url.searchParams.get('audience'), authorization: req.headers.authorization });
      if (req.headers.authorization !== 'bearer request-token') {
        res.writeHead(401);
        res.end();
        return;
      }
      void github
        .mint(claims, { audience: url.searchParams.get('audience') ?? 'https://github.com/acme' })
        .then((value) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ count: 1, value }));
        });
    });
    await new Promise<void>((resolve) => tokenEndpoint.listen(0, '127.0.0.1', resolve));
    requestUrl = `http://127.0.0.1:${(tokenEndpoint.address() as AddressInfo).port}/token?api-version=2.0`;
    // "The installed CLI": a `waybill` on PATH.
    shims = path.join(dir, 'bin');
    mkdirSync(shims);
    writeFileSync(path.join(shims, 'waybill'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(path.join(shims, 'waybill'), 0o755);
  });
  afterAll(async () => {
    await server.stop();
    await new Promise((resolve) => tokenEndpoint.close(resolve));
    await github.close();
    await gitlab.close();
  });

  /** Run the Action's steps as the runner does: inputs into the step's env, then its `run`. */
  async function runAction(inputs: Record<string, string>) {
    const action = parseYaml(readFileSync(path.join(ACTION_DIR, 'action.yml'), 'utf8')) as ActionYaml;
    expect(action.runs.using).toBe('composite');
    for (const [name, input] of Object.entries(action.inputs)) {
      if (input.required && inputs[name] === undefined) throw new Error(`input ${name} is required`);
    }
    const output = path.join(mkdtempSync(path.join(dir, 'step-')), 'output');
    writeFileSync(output, '');
    let stdout = '';
    let stderr = '';
    let code: number | null = 0;
    for (const step of action.runs.steps) {
      const env: Record<string, string> = {
        PATH: `${shims}:${process.env.PATH}`,
        HOME: dir,
        ...GITHUB_ENV,
        GITHUB_OUTPUT: output,
        GITHUB_ACTION_PATH: ACTION_DIR.replace(/\/$/, ''),
        ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
      };
      for (const [k, v] of Object.entries(step.env)) {
        env[k] = v.replace(
          /\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g,
          (_, name: string) => inputs[name] ?? action.inputs[name]?.default ?? '',
        );
      }
      expect(step.shell).toBe('bash');
      const child = spawn('bash', ['-c', step.run], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      if (code !== 0) break;
    }
    const outputs = Object.fromEntries(
      readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('=') as [string, string]),
    );
    return { code, stdout, stderr, outputs };
  }

  it('signs provenance with the job’s ID token (audience "waybill"): the attestation is the workflow’s', async () => {
    claims = githubClaims();
    requests.length = 0;
    const digests = ['1'.repeat(64), '2'.repeat(64)];
    const run = await runAction({
      command: 'provenance',
      server: server.url,
      subjects: `ghcr.io/acme/app=sha256:${digests[0]}\n  ghcr.io/acme/app-debug=sha256:${digests[1]}\n`,
      out: path.join(dir, 'provenance.json'),
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(requests).toEqual([{ audience: 'waybill', authorization: 'bearer request-token' }]);
    const record = (await server.deps.attest.get(run.outputs['attestation-id']!))!;
    expect(record.signer).toEqual({ subject: WORKFLOW, issuer: github.url });
    expect(record.subjects.map((s) => s.digest).sort()).toEqual(digests.map((d) => `sha256:${d}`));
    expect((record.statement.predicate as { runDetails: { builder: { id: string } } }).runDetails.builder.id).toBe(
      WORKFLOW,
    );
    expect(JSON.parse(readFileSync(path.join(dir, 'provenance.json'), 'utf8'))).toEqual(record.bundle);
    expect(run.stdout + run.stderr).not.toContain('eyJ'); // no ID token (a JWT starts so) in the job log
  });

  it('gates: allow into dev with that provenance (exit 0), deny into staging (exit 1), as an output', async () => {
    claims = githubClaims({ environment: 'dev' });
    const allow = await runAction({
      command: 'gate',
      server: server.url,
      digest: `sha256:${'1'.repeat(64)}`,
      environment: 'dev',
      out: path.join(dir, 'vsa.json'),
    });
    expect(allow.code).toBe(0);
    expect(allow.outputs.decision).toBe('allow');
    expect(allow.stdout).toMatch(/^ALLOW sha256:1{64} -> dev/);
    const deny = await runAction({
      command: 'gate',
      server: server.url,
      digest: `sha256:${'1'.repeat(64)}`,
      environment: 'staging',
    });
    expect(deny.code).toBe(1);
    expect(deny.outputs.decision).toBe('deny');
  });

  it('keyless: signs a test result against waybill’s Fulcio and Rekor, stored for its environment', async () => {
    claims = githubClaims({ environment: 'dev' });
    requests.length = 0;
    const run = await runAction({
      command: 'test-result',
      server: server.url,
      subjects: `ghcr.io/acme/app=sha256:${'1'.repeat(64)}`,
      environment: 'dev',
      result: 'PASSED',
      keyless: 'true',
      'fulcio-url': server.url,
      'rekor-url': server.url,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // One token for Fulcio, one for the submission: both for waybill's audience.
    expect(requests.map((r) => r.audience)).toEqual(['waybill', 'waybill']);
    const record = (await server.deps.attest.get(run.outputs['attestation-id']!))!;
    expect(record).toMatchObject({
      predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
      environment: 'dev',
      origin: 'signed',
      signer: { subject: WORKFLOW, issuer: github.url },
    });
  });

  it('GitLab: the template’s provenance job presents its id_tokens variable (--id-token-env)', async () => {
    const template = parseYaml(
      readFileSync(fileURLToPath(new URL('../../ci/gitlab/waybill.gitlab-ci.yml', import.meta.url)), 'utf8'),
    ) as Record<string, { extends?: string; before_script?: string[]; script?: string[] }> & {
      variables: Record<string, string>;
    };
    const job = template['.waybill-provenance']!;
    const base = template[job.extends!]!;
    expect(base).toMatchObject({ id_tokens: { WAYBILL_ID_TOKEN: { aud: 'waybill' } } });
    const cwd = mkdtempSync(path.join(dir, 'gitlab-'));
    // GitLab runs before_script and script in one shell.
    const child = spawn('sh', ['-c', [...base.before_script!, ...job.script!].join('\n')], {
      cwd,
      env: {
        PATH: `${shims}:${process.env.PATH}`,
        HOME: dir,
        ...template.variables,
        WAYBILL_INSTALL: 'true', // the CLI is on PATH already
        WAYBILL_SERVER: server.url,
        WAYBILL_SUBJECTS:
          `registry.gitlab.com/acme/app=sha256:${'3'.repeat(64)} ` +
          `registry.gitlab.com/acme/cli=sha256:${'4'.repeat(64)}`,
        WAYBILL_BUILD_TYPE: 'https://example.com/buildtypes/gitlab/v1',
        WAYBILL_ID_TOKEN: await gitlab.mint(gitlabClaims()),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    expect(stderr).toBe('');
    // The job log says what was signed: `signed <id> (log #N), bundle written to ...`.
    const id = /^signed ([0-9a-f]{64}) \(log #\d+\)/.exec(stdout)?.[1];
    expect(id, stdout).toBeDefined();
    const record = (await server.deps.attest.get(id!))!;
    expect(record.signer.subject).toBe('https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/main');
    expect(record.subjects).toHaveLength(2);
    expect(JSON.parse(readFileSync(path.join(cwd, 'provenance.bundle.json'), 'utf8'))).toEqual(record.bundle);
  });

  it('without --token and outside CI, says how to get a token (exit 2)', async () => {
    const res = await runCli(
      ['gate', '--server', server.url, '--digest', `sha256:${'1'.repeat(64)}`, '--environment', 'dev'],
      { WAYBILL_TOKEN: '', ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' },
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/no token: give --token .* id-token: write/);
  });
});
