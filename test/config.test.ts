import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.ts';

describe('parseConfig', () => {
  it('has working defaults: embedded database under ./.waybill on port 8787', () => {
    const c = parseConfig({}, '/srv/app');
    expect(c.port).toBe(8787);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe('/srv/app/.waybill');
    expect(c.database).toEqual({ driver: 'pglite', dataDir: '/srv/app/.waybill/pgdata' });
    expect(c.issuer).toBe('http://localhost:8787');
    expect(c.policiesDir).toBe('/srv/app/policies');
    expect(c.logLevel).toBe('info');
    expect(c.adminToken).toBeUndefined();
  });

  it('uses PostgreSQL when DATABASE_URL is set and derives the issuer from PORT', () => {
    const c = parseConfig({
      DATABASE_URL: 'postgres://u@db/x',
      PORT: '9000',
      WAYBILL_ISSUER: 'https://wb.example.com/',
    });
    expect(c.database).toEqual({ driver: 'postgres', url: 'postgres://u@db/x' });
    expect(c.issuer).toBe('https://wb.example.com');
    expect(parseConfig({ PORT: '9000' }).issuer).toBe('http://localhost:9000');
  });

  it('lists every bad key at once', () => {
    try {
      parseConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        WAYBILL_ADMIN_TOKEN: 'short',
        WAYBILL_ISSUER: 'ftp://x',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const keys = (err as ConfigError).issues.map((i) => i.key).sort();
      expect(keys).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'WAYBILL_ADMIN_TOKEN', 'WAYBILL_ISSUER']);
      expect((err as Error).message).toContain('PORT');
    }
  });

  it('reads key material from *_FILE and refuses half a key set', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-cfg-'));
    for (const f of ['ca.key', 'chain.pem', 'log.key']) writeFileSync(path.join(dir, f), `PEM ${f}`);
    const c = parseConfig({
      WAYBILL_CA_KEY_FILE: path.join(dir, 'ca.key'),
      WAYBILL_CA_CHAIN_FILE: path.join(dir, 'chain.pem'),
      WAYBILL_LOG_KEY: 'inline log key',
    });
    expect(c.keys).toEqual({ caKeyPem: 'PEM ca.key', caChainPem: 'PEM chain.pem', logKeyPem: 'inline log key' });
    expect(() => parseConfig({ WAYBILL_CA_KEY: 'x' })).toThrow(/go together/);
    expect(() =>
      parseConfig({ WAYBILL_CA_KEY_FILE: '/nonexistent/k', WAYBILL_CA_CHAIN: 'a', WAYBILL_LOG_KEY: 'b' }),
    ).toThrow(/WAYBILL_CA_KEY_FILE: cannot read/);
  });

  it('keeps a tree id beyond 2^53 exactly (a 56-bit id, as the default derives) and refuses one beyond 2^63-1', () => {
    // 2^53 + 1 and a 7-byte id: as JS numbers both would round and change the checkpoint origin
    expect(parseConfig({ WAYBILL_LOG_TREE_ID: '9007199254740993' }).logTreeId).toBe('9007199254740993');
    expect(parseConfig({ WAYBILL_LOG_TREE_ID: '72057594037927935' }).logTreeId).toBe('72057594037927935');
    expect(parseConfig({ WAYBILL_LOG_TREE_ID: '9223372036854775807' }).logTreeId).toBe('9223372036854775807');
    for (const bad of ['9223372036854775808', '0', '012', '1e6', '-5', 'abc'])
      expect(() => parseConfig({ WAYBILL_LOG_TREE_ID: bad }), bad).toThrow(/WAYBILL_LOG_TREE_ID/);
  });
});
