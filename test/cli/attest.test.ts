import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import { runCli } from '../helpers/process.ts';

const DIGEST = 'e'.repeat(64);
const GITHUB_ENV = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'example/app',
  GITHUB_REPOSITORY_ID: '123',
  GITHUB_REPOSITORY_OWNER_ID: '456',
  GITHUB_SHA: 'f'.repeat(40),
  GITHUB_REF: 'refs/heads/main',
  GITHUB_WORKFLOW_REF: 'example/app/.github/workflows/release.yml@refs/heads/main',
  GITHUB_RUN_ID: '789',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_EVENT_NAME: 'push',
  RUNNER_ENVIRONMENT: 'github-hosted',
};

describe('waybill attest (CI)', () => {
  let server: RunningServer;
  let dir: string;
  let builder: string;
  let tester: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wb-attest-'));
    server = await startServer(
      parseConfig({ WAYBILL_DATA_DIR: path.join(dir, 'data'), PORT: '0', LOG_LEVEL: 'silent' }),
    );
    builder = (await server.deps.tokens.create({ subject: 'https://ci.example.com/build', roles: ['builder'] })).token;
    tester = (await server.deps.tokens.create({ subject: 'https://ci.example.com/test', roles: ['tester'] })).token;
    writeFileSync(path.join(dir, 'root.json'), JSON.stringify(server.deps.trustedRoot));
  });
  afterAll(async () => server.stop());

  it('signs provenance from flags and writes a bundle that verifies offline', async () => {
    const out = path.join(dir, 'prov.json');
    const res = await runCli(
      [
        'attest',
        'provenance',
        '--server',
        server.url,
        '--subject',
        `app=sha256:${DIGEST}`,
        '--build-type',
        'https://example.com/build/v1',
        '--builder-id',
        'https://ci.example.com/builder',
        '--source',
        `git+https://github.com/example/app@${'a'.repeat(40)}`,
        '--out',
        out,
        '--json',
      ],
      { WAYBILL_TOKEN: builder },
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ bundle: out });
    const verify = await runCli([
      'verify-bundle',
      '--bundle',
      out,
      '--certificate-identity',
      'https://ci.example.com/build',
      '--certificate-oidc-issuer',
      server.deps.config.issuer,
      '--trusted-root',
      path.join(dir, 'root.json'),
      `sha256:${DIGEST}`,
    ]);
    expect(verify.code).toBe(0);
  });

  it('takes the build facts from the GitHub Actions environment', async () => {
    const out = path.join(dir, 'gh.json');
    const res = await runCli(
      [
        'attest',
        'provenance',
        '--server',
        server.url,
        '--subject',
        `app=sha256:${'b'.repeat(64)}`,
        '--from-github-env',
        '--out',
        out,
      ],
      { WAYBILL_TOKEN: builder, ...GITHUB_ENV },
    );
    expect(res.code).toBe(0);
    const statement = JSON.parse(
      Buffer.from(JSON.parse(readFileSync(out, 'utf8')).dsseEnvelope.payload, 'base64').toString('utf8'),
    );
    expect(statement.predicate.buildDefinition.buildType).toBe('https://actions.github.io/buildtypes/workflow/v1');
    expect(statement.predicate.buildDefinition.externalParameters.workflow).toEqual({
      ref: 'refs/heads/main',
      repository: 'https://github.com/example/app',
      path: '.github/workflows/release.yml',
    });
    expect(statement.predicate.buildDefinition.resolvedDependencies[0]).toEqual({
      uri: 'git+https://github.com/example/app@refs/heads/main',
      digest: { gitCommit: 'f'.repeat(40) },
    });
    expect(statement.predicate.runDetails.metadata.invocationId).toBe(
      'https://github.com/example/app/actions/runs/789/attempts/2',
    );

    const missing = await runCli(
      ['attest', 'provenance', '--server', server.url, '--subject', `app=sha256:${DIGEST}`, '--from-github-env'],
      { WAYBILL_TOKEN: builder, GITHUB_SHA: '' },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/GITHUB_/);
  });

  it('signs a test result for an environment, and reports a refused request clearly', async () => {
    const ok = await runCli(
      [
        'attest',
        'test-result',
        '--server',
        server.url,
        '--environment',
        'staging',
        '--result',
        'PASSED',
        '--subject',
        `app=sha256:${DIGEST}`,
        '--passed',
        'unit',
        'e2e',
      ],
      { WAYBILL_TOKEN: tester },
    );
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // text by default: "signed <id> (log #N)"
    const id = /^signed ([0-9a-f]{64}) \(log #\d+\)$/m.exec(ok.stdout)?.[1];
    const rec = await server.deps.attest.get(id!);
    expect(rec?.environment).toBe('staging');
    const badEnv = await runCli(
      [
        'attest',
        'test-result',
        '--server',
        server.url,
        '--environment',
        'moon',
        '--result',
        'PASSED',
        '--subject',
        `app=sha256:${DIGEST}`,
      ],
      { WAYBILL_TOKEN: tester },
    );
    expect(badEnv.code).toBe(4); // refused by the server (a 4xx)
    expect(badEnv.stderr).toMatch(
      /refused: POST http:\/\/127\.0\.0\.1:\d+\/v1\/attestations: HTTP 400: .*unknown environment/,
    );
    const badSubject = await runCli(
      [
        'attest',
        'test-result',
        '--server',
        server.url,
        '--environment',
        'dev',
        '--result',
        'PASSED',
        '--subject',
        'app',
      ],
      { WAYBILL_TOKEN: tester },
    );
    expect(badSubject.code).toBe(2);
  });
});
