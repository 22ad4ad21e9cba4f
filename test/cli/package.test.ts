// The CLI as an auditor installs it: `npm pack` builds the tarball (prepack bundles dist/), and
// `npm install -g --offline --prefix DIR` installs it with no network (nothing is left to fetch).
// Then every offline command runs on the machine's own Node (not the Node 24 npm brought for the
// checkout): verify-bundle, audit verify against a pack from a live server, log verify.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import type { Json } from '../helpers/json.ts';
import { sha256 } from '../helpers/statements.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };

/** PATH without any node_modules/.bin: what a shell outside the project sees. */
const outsidePath = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((d) => d && !d.includes('node_modules'))
  .join(path.delimiter);

/** The first `node` on that PATH: the machine's own. */
function machineNode(): string {
  for (const dir of outsidePath.split(path.delimiter)) {
    try {
      accessSync(path.join(dir, 'node'), constants.X_OK);
      return path.join(dir, 'node');
    } catch {
      // not here
    }
  }
  throw new Error(`no node on PATH outside node_modules: ${outsidePath}`);
}

describe('the packed CLI, installed from its tarball', () => {
  let dir: string;
  let prefix: string;
  let node: string;
  let server: RunningServer;
  const file = (name: string) => path.join(dir, name);

  /**
   * Runs the installed `waybill` with the machine's Node first on PATH. Asynchronously: the
   * server under test answers from this very process.
   */
  const waybill = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(path.join(prefix, 'bin', 'waybill'), args, {
        env: { ...process.env, PATH: [path.join(prefix, 'bin'), path.dirname(node), outsidePath].join(path.delimiter) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wb-pack-'));
    prefix = file('prefix');
    node = machineNode();
    const npm = { cwd: ROOT, env: process.env, encoding: 'utf8' as const };
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], npm).trim().split('\n').pop()!;
    execFileSync(
      'npm',
      ['install', '--global', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, path.join(dir, tarball)],
      npm,
    );

    server = await startServer(
      parseConfig({
        WAYBILL_DATA_DIR: file('data'),
        PORT: '0',
        LOG_LEVEL: 'silent',
        WAYBILL_ISSUER: 'https://waybill.test',
      }),
    );
  }, 180_000);
  afterAll(async () => server?.stop());

  it("runs on the machine's own Node and says its version", async () => {
    const v = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    expect(v).toMatch(/^v\d+\./);
    const res = await waybill('--version');
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe(pkg.version);
    // The tarball holds the bundle and the launcher only: no TypeScript, no dependency to fetch.
    const installed = JSON.parse(readFileSync(path.join(prefix, 'lib/node_modules/waybill/package.json'), 'utf8'));
    expect(installed.dependencies ?? {}).toEqual({});
  });

  it('verify-bundle: a saved bundle, and a message signature from its digest alone', async () => {
    const fix = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));
    const ok = await waybill(
      'verify-bundle',
      '--bundle',
      fix('service/bundle.json'),
      '--certificate-identity',
      'https://ci.example.com/pipelines/fixtures',
      '--certificate-oidc-issuer',
      'https://waybill.example.com',
      '--trusted-root',
      fix('service/trusted_root.json'),
      `sha256:${'a'.repeat(64)}`,
    );
    expect(ok.stderr).toMatch(/^verified: /);
    expect(ok.code).toBe(0);
    const manifest = JSON.parse(readFileSync(fix('external/manifest.json'), 'utf8'));
    const message = await waybill(
      'verify-bundle',
      '--bundle',
      fix('external/message-v0.3-hashedrekord.json'),
      '--certificate-identity',
      manifest.subject,
      '--certificate-oidc-issuer',
      manifest.issuer,
      '--trusted-root',
      fix('external/trusted_root.json'),
      `sha256:${manifest.artifactSha256}`,
    );
    expect(message.code).toBe(0);
    const wrong = await waybill(
      'verify-bundle',
      '--bundle',
      fix('service/bundle.json'),
      '--certificate-identity',
      'https://ci.example.com/pipelines/other',
      '--certificate-oidc-issuer',
      'https://waybill.example.com',
      '--trusted-root',
      fix('service/trusted_root.json'),
      `sha256:${'a'.repeat(64)}`,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/UNTRUSTED_SIGNER/);
  });

  it('audit verify and log verify against a live server', async () => {
    const deps = server.deps;
    const digest = sha256(`packed ${dir}`);
    await deps.attest.sign(
      {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'app', digest: { sha256: digest } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {
          buildDefinition: { buildType: 'https://example.com/b', externalParameters: {} },
          runDetails: { builder: { id: 'https://ci.example.com/b' } },
        },
      },
      'https://ci.example.com/build',
    );
    const deployer = (await deps.tokens.create({ subject: 'https://cd.example.com/d', roles: ['deployer'] })).token;
    const auditor = (await deps.tokens.create({ subject: 'https://audit.example.com/', roles: ['auditor'] })).token;
    writeFileSync(file('root.json'), JSON.stringify(deps.trustedRoot));
    writeFileSync(file('checkpoint.txt'), (await deps.log.checkpoint()).note);
    const deploy = await waybill(
      'deploy',
      '--server',
      server.url,
      '--token',
      deployer,
      '--digest',
      `sha256:${digest}`,
      '--environment',
      'dev',
    );
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    const pack = await waybill(
      'evidence',
      '--server',
      server.url,
      '--token',
      auditor,
      '--digest',
      `sha256:${digest}`,
      '--out',
      file('pack.json'),
    );
    expect(pack.code).toBe(0);

    const audit = await waybill('audit', 'verify', file('pack.json'), '--trusted-root', file('root.json'));
    expect(audit.stderr).toBe('');
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/^OK: .*pack\.json: \d+ bundles, 1 step verified offline$/m);
    const tampered = JSON.parse(readFileSync(file('pack.json'), 'utf8')) as Json;
    tampered.manifest.steps[0].deployedAt = '2000-01-01T00:00:00.000Z';
    writeFileSync(file('tampered.json'), JSON.stringify(tampered));
    expect((await waybill('audit', 'verify', file('tampered.json'), '--trusted-root', file('root.json'))).code).toBe(1);

    const log = await waybill(
      'log',
      'verify',
      '--checkpoint',
      file('checkpoint.txt'),
      '--server',
      server.url,
      '--trusted-root',
      file('root.json'),
    );
    expect(log.stderr).toBe('');
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/^consistent: size 1 -> \d+/);
  });

  it('says that the server runs from a checkout', async () => {
    const res = await waybill('serve');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/does not include the server: run it from a checkout/);
  });
});
