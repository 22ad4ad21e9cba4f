// The offline verifier as an auditor runs it: a saved bundle, the exported trusted root, no server.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.ts';

const FIX = fileURLToPath(new URL('../fixtures/service/', import.meta.url));
const bundle = path.join(FIX, 'bundle.json');
const root = path.join(FIX, 'trusted_root.json');
const SIGNER = 'https://ci.example.com/pipelines/fixtures';
const ISSUER = 'https://waybill.example.com';
const DIGEST = `sha256:${'a'.repeat(64)}`;

const verifyBundle = (args: string[]) => runCli(['verify-bundle', '--bundle', ...args]);

describe('waybill verify-bundle (sigstore-conformance protocol)', () => {
  it('verifies a saved bundle offline with the identity, issuer, trusted root and a subject digest', async () => {
    const res = await verifyBundle([
      bundle,
      '--certificate-identity',
      SIGNER,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      root,
      DIGEST,
    ]);
    expect(res.stderr).toMatch(/verified/);
    expect(res.code).toBe(0);
  });

  it('exits non-zero with the reason on stderr for the wrong identity, issuer, or digest', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--certificate-identity', 'https://ci.example.com/pipelines/other', '--certificate-oidc-issuer', ISSUER],
        /UNTRUSTED_SIGNER/,
      ],
      // exact, not a prefix
      [['--certificate-identity', SIGNER.slice(0, -3), '--certificate-oidc-issuer', ISSUER], /UNTRUSTED_SIGNER/],
      [['--certificate-identity', SIGNER, '--certificate-oidc-issuer', 'https://other.example'], /verification failed/],
    ];
    for (const [idArgs, reason] of cases) {
      const res = await verifyBundle([bundle, ...idArgs, '--trusted-root', root, DIGEST]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(reason);
    }
    const wrongDigest = await verifyBundle([
      bundle,
      '--certificate-identity',
      SIGNER,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      root,
      `sha256:${'c'.repeat(64)}`,
    ]);
    expect(wrongDigest.code).not.toBe(0);
    expect(wrongDigest.stderr).toMatch(/no subject/);
  });

  it('exits non-zero for a tampered bundle and for a foreign trusted root', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-cli-'));
    const b = JSON.parse(readFileSync(bundle, 'utf8'));
    const payload = Buffer.from(b.dsseEnvelope.payload, 'base64');
    const at = payload.length - 3;
    payload[at] = payload[at]! ^ 1;
    b.dsseEnvelope.payload = payload.toString('base64');
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(b));
    const tampered = await verifyBundle([
      path.join(dir, 'bad.json'),
      '--certificate-identity',
      SIGNER,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      root,
      DIGEST,
    ]);
    expect(tampered.code).not.toBe(0);
    expect(tampered.stderr).toMatch(/verification failed/);

    // the public-good Sigstore root (the default) does not trust waybill's CA
    const foreign = await verifyBundle([
      bundle,
      '--certificate-identity',
      SIGNER,
      '--certificate-oidc-issuer',
      ISSUER,
      DIGEST,
    ]);
    expect(foreign.code).not.toBe(0);
  });

  it('waybill verify also takes an anchored identity regexp', async () => {
    const ok = await runCli([
      'verify',
      '--bundle',
      bundle,
      '--certificate-identity-regexp',
      '^https://ci\\.example\\.com/pipelines/.*$',
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      root,
    ]);
    expect(ok.code).toBe(0);
    const no = await runCli([
      'verify',
      '--bundle',
      bundle,
      '--certificate-identity-regexp',
      '^https://ci\\.example\\.com/other/.*$',
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      root,
    ]);
    expect(no.code).not.toBe(0);
  });

  it('verifies a message-signature (hashedrekord) bundle from the digest alone, as ingestion does', async () => {
    const ext = (name: string) => fileURLToPath(new URL(`../fixtures/external/${name}`, import.meta.url));
    const manifest = JSON.parse(readFileSync(ext('manifest.json'), 'utf8'));
    const args = (digest: string) => [
      ext('message-v0.3-hashedrekord.json'),
      '--certificate-identity',
      manifest.subject,
      '--certificate-oidc-issuer',
      manifest.issuer,
      '--trusted-root',
      ext('trusted_root.json'),
      digest,
    ];
    const ok = await verifyBundle(args(`sha256:${manifest.artifactSha256}`));
    expect(ok.stderr).toMatch(/verified/);
    expect(ok.code).toBe(0);
    const other = await verifyBundle(args(`sha256:${'0'.repeat(64)}`));
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/ARTIFACT_MISMATCH.*message digest is not sha256:0000/);
  });

  it('refuses a trusted root whose log key has no validity start', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-cli-'));
    const r = JSON.parse(readFileSync(root, 'utf8'));
    delete r.tlogs[0].publicKey.validFor.start;
    writeFileSync(path.join(dir, 'root.json'), JSON.stringify(r));
    const res = await verifyBundle([
      bundle,
      '--certificate-identity',
      SIGNER,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      path.join(dir, 'root.json'),
      DIGEST,
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/TRUST_ROOT_INVALID.*tlogs\[0\]\.publicKey\.validFor\.start missing/);
  });

  it('refuses contradictory or missing identity options with a usage error', async () => {
    const res = await verifyBundle([bundle, '--trusted-root', root, DIGEST]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--certificate-identity/);
  });
});
