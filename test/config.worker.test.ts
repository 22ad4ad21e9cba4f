// A Worker's configuration: the same variable names as on Node, from vars and secrets; the
// settings that name a file on Node hold the file's content, and Node-only ones are refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseWorkerConfig } from '../src/config.ts';

const keys = { WAYBILL_CA_KEY: 'ca-key-pem', WAYBILL_CA_CHAIN: 'ca-chain-pem', WAYBILL_LOG_KEY: 'log-key-pem' };
const base = { WAYBILL_ISSUER: 'https://waybill.example.com', ...keys };
const root = readFileSync(new URL('./fixtures/external/trusted_root.json', import.meta.url), 'utf8');

function issues(env: Record<string, unknown>): Array<{ key: string; message: string }> {
  try {
    parseWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('parseWorkerConfig', () => {
  it('takes the issuer, the keys and the admin token under their Node names', () => {
    const token = 'a'.repeat(40);
    const { config, sources } = parseWorkerConfig({ ...base, WAYBILL_ADMIN_TOKEN: token, LOG_LEVEL: 'warn' });
    expect(config.issuer).toBe('https://waybill.example.com');
    expect(config.keys).toEqual({ caKeyPem: 'ca-key-pem', caChainPem: 'ca-chain-pem', logKeyPem: 'log-key-pem' });
    expect(config.adminToken).toBe(token);
    expect(config.logLevel).toBe('warn');
    // Ingestion trusts the public-good root by default, as on Node.
    expect(sources.externalRoots).toEqual(['public-good']);
  });

  it('requires the issuer and the keys: there is nowhere to generate development keys', () => {
    expect(issues({}).map((i) => i.key)).toEqual([
      'WAYBILL_ISSUER',
      'WAYBILL_CA_KEY',
      'WAYBILL_CA_CHAIN',
      'WAYBILL_LOG_KEY',
    ]);
  });

  it('refuses, each with what stands in for it, the settings only a Node process has', () => {
    const found = issues({ ...base, DATABASE_URL: 'postgres://x@db/y', WAYBILL_CA_KEY_FILE: '/k.pem', PORT: '80' });
    expect(found.map((i) => i.key).sort()).toEqual(['DATABASE_URL', 'PORT', 'WAYBILL_CA_KEY_FILE']);
    expect(found.find((i) => i.key === 'DATABASE_URL')!.message).toMatch(/Hyperdrive binding HYPERDRIVE/);
  });

  it('refuses Kubernetes admission and webhooks, which run on the Node server only', () => {
    const found = issues({ ...base, WAYBILL_ADMISSION_CONFIG: 'environments: {}', WAYBILL_WEBHOOKS: 'webhooks: []' });
    expect(found.map((i) => i.key).sort()).toEqual(['WAYBILL_ADMISSION_CONFIG', 'WAYBILL_WEBHOOKS']);
    expect(found.every((i) => /Node server only|long-running process/.test(i.message))).toBe(true);
  });

  it('reads trusted roots, identity rules and keys as content, and refuses a file name', () => {
    const { sources } = parseWorkerConfig({
      ...base,
      WAYBILL_EXTERNAL_TRUST_ROOTS: `[${root}, "public-good"]`,
      WAYBILL_EXTERNAL_IDENTITIES: '[{"issuer": "https://token.actions.example.com", "subject": "^https://x/$"}]',
      WAYBILL_EXTERNAL_KEYS: '[{"hint": "abc=", "pem": "-----BEGIN PUBLIC KEY-----"}]',
    });
    expect(sources.externalRoots).toEqual([
      { name: 'WAYBILL_EXTERNAL_TRUST_ROOTS[0]', trustedRoot: JSON.parse(root) },
      'public-good',
    ]);
    expect(sources.externalIdentities).toEqual([
      { issuer: 'https://token.actions.example.com', subject: '^https://x/$' },
    ]);
    expect(sources.externalKeys).toEqual([
      { name: 'WAYBILL_EXTERNAL_KEYS[0]', hint: 'abc=', pem: '-----BEGIN PUBLIC KEY-----' },
    ]);
    expect(issues({ ...base, WAYBILL_EXTERNAL_TRUST_ROOTS: 'roots/acme.json' })[0]!.message).toMatch(
      /a Worker has no files/,
    );
    expect(issues({ ...base, WAYBILL_EXTERNAL_IDENTITIES: '[not json' })[0]!.key).toBe('WAYBILL_EXTERNAL_IDENTITIES');
  });

  it('takes a wrangler.toml [vars] table as its JSON text, and ignores the bindings', () => {
    const { sources } = parseWorkerConfig({
      ...base,
      WAYBILL_EXTERNAL_TRUST_ROOTS: JSON.parse(root),
      HYPERDRIVE: { connectionString: 'postgres://x' },
    });
    expect(sources.externalRoots).toHaveLength(1);
  });
});
