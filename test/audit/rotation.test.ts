// Key rotation as docs/operations.md tells an operator to do it, twice: the CA and the log key are
// replaced, the retired ones stay in the trusted root with their end (`waybill keys retire`), and
// the tree id stays pinned. Every bundle, evidence pack and log-monitor state from each of the
// three periods then verifies with the final trusted root, and a pack made after a rotation
// carries each bundle's own log entry (never one re-signed with the new key).
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyPack } from '../../src/audit/verify.ts';
import { main } from '../../src/cli/main.ts';
import { parseConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/runtime/node.ts';
import { verifyBundle } from '../../src/signing/verify.ts';
import { backends } from '../helpers/db.ts';
import type { Json } from '../helpers/json.ts';
import { sha256 } from '../helpers/statements.ts';

const ISSUER = 'https://waybill.test';
const TREE_ID = '72057594037927935'; // 2^56 - 1: a 7-byte id, as the derived ones are
const BUILDER = 'https://ci.example.com/build';
const FIX = fileURLToPath(new URL('../fixtures/external/', import.meta.url));
const external = JSON.parse(readFileSync(`${FIX}manifest.json`, 'utf8')) as { digests: { testResult: string } };

/** The CLI in-process: exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'waybill', ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  expect(r.code, `waybill ${args.join(' ')}\n${r.err}`).toBe(0);
  return r.out;
}

describe.each(backends)('two rotations of the CA and the log key on $name', (backend) => {
  it('leaves every earlier bundle, pack and monitor state verifying with the final trusted root', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-rotate-'));
    const file = (name: string) => path.join(dir, name);
    const db = backend.freshUrl ? await backend.freshUrl() : undefined;
    const base: Record<string, string> = {
      WAYBILL_DATA_DIR: file('data'),
      WAYBILL_ISSUER: ISSUER,
      WAYBILL_LOG_TREE_ID: TREE_ID,
      PORT: '0',
      LOG_LEVEL: 'silent',
      WAYBILL_EXTERNAL_TRUST_ROOTS: `${FIX}trusted_root.json`,
      WAYBILL_EXTERNAL_IDENTITIES: `${FIX}identities.json`,
      ...(db ? { DATABASE_URL: db.url } : {}),
    };
    const bundles: unknown[] = [];
    const packs: Array<{ name: string; pack: Json }> = [];
    const digests: string[] = [];
    let server: RunningServer | undefined;
    try {
      for (const period of [1, 2, 3]) {
        // The keys of this period, made offline; after a rotation, the history file too.
        await ok('keys', 'generate', '--out', file(`keys-${period}`), '--json');
        server = await startServer(
          parseConfig({
            ...base,
            WAYBILL_CA_KEY_FILE: file(`keys-${period}/ca-key.pem`),
            WAYBILL_CA_CHAIN_FILE: file(`keys-${period}/ca-chain.pem`),
            WAYBILL_LOG_KEY_FILE: file(`keys-${period}/log-key.pem`),
            ...(period > 1 ? { WAYBILL_TRUST_HISTORY_FILE: file(`history-${period}.json`) } : {}),
          }),
        );
        const url = server.url;
        const mint = async (role: 'builder' | 'tester' | 'deployer' | 'auditor', subject: string) =>
          (await server!.deps.tokens.create({ subject, roles: [role] })).token;
        const builder = await mint('builder', BUILDER);
        const tester = await mint('tester', 'https://ci.example.com/test');
        const deployer = await mint('deployer', 'https://people.example.com/dana');
        const auditor = await mint('auditor', 'https://audit.example.com/');
        expect(server.deps.log.identity.origin).toBe(`waybill.test - ${TREE_ID}`);

        // A digest built, tested and deployed to dev in this period (the first one's tests were
        // signed elsewhere and ingested, so its pack holds a bundle waybill keeps no SET for).
        const digest = period === 1 ? external.digests.testResult : sha256(`rotation ${period} ${dir}`);
        digests.push(digest);
        const res = await fetch(`${url}/v1/provenance`, {
          method: 'POST',
          headers: { authorization: `Bearer ${builder}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            subjects: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
            buildType: 'https://example.com/build/v1',
            externalParameters: { period },
            builder: { id: 'https://ci.example.com/builder/v1' },
          }),
        });
        expect(res.status).toBe(201);
        bundles.push(((await res.json()) as Json).bundle);
        if (period === 1) {
          const ingested = await fetch(`${url}/v1/bundles`, {
            method: 'POST',
            headers: { authorization: `Bearer ${tester}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              bundle: JSON.parse(readFileSync(`${FIX}dsse-v0.2-chain-intoto.json`, 'utf8')),
              environment: 'dev',
            }),
          });
          expect(ingested.status).toBe(201);
        } else {
          await ok(
            'attest',
            'test-result',
            '--server',
            url,
            '--token',
            tester,
            '--environment',
            'dev',
            '--result',
            'PASSED',
            '--subject',
            `app=sha256:${digest}`,
          );
        }
        await ok(
          'deploy',
          '--server',
          url,
          '--token',
          deployer,
          '--digest',
          `sha256:${digest}`,
          '--environment',
          'dev',
        );

        // This period's pack, trusted root and monitor state.
        await ok(
          'evidence',
          '--server',
          url,
          '--token',
          auditor,
          '--digest',
          `sha256:${digest}`,
          '--out',
          file(`pack-${period}.json`),
        );
        packs.push({
          name: `pack of period ${period}`,
          pack: JSON.parse(readFileSync(file(`pack-${period}.json`), 'utf8')),
        });
        writeFileSync(file(`root-${period}.json`), JSON.stringify(await (await fetch(`${url}/v1/trust/root`)).json()));
        await ok(
          'log',
          'verify',
          '--state',
          file('monitor.txt'),
          '--server',
          url,
          '--trusted-root',
          file(`root-${period}.json`),
        );
        copyFileSync(file('monitor.txt'), file(`checkpoint-${period}.txt`));

        if (period < 3) {
          // Rotate: retire everything served now, then restart on new keys (next iteration).
          await ok(
            'keys',
            'retire',
            '--trusted-root',
            file(`root-${period}.json`),
            '--out',
            file(`history-${period + 1}.json`),
          );
          await server.stop();
          server = undefined;
        }
      }
      const url = server!.url;
      const auditor = (await server!.deps.tokens.create({ subject: 'https://audit.example.com/', roles: ['auditor'] }))
        .token;
      // Packs made after both rotations, for the digests of the first two periods.
      for (const [i, digest] of digests.slice(0, 2).entries()) {
        await ok(
          'evidence',
          '--server',
          url,
          '--token',
          auditor,
          '--digest',
          `sha256:${digest}`,
          '--out',
          file(`late-${i + 1}.json`),
        );
        packs.push({
          name: `late pack of period ${i + 1}`,
          pack: JSON.parse(readFileSync(file(`late-${i + 1}.json`), 'utf8')),
        });
      }

      const root = JSON.parse(readFileSync(file('root-3.json'), 'utf8')) as Json;
      // Three CAs and three log keys; the two retired ones have an end, the current one none.
      expect(root.certificateAuthorities.map((ca: Json) => ca.validFor.end === undefined)).toEqual([
        true,
        false,
        false,
      ]);
      expect(root.tlogs.map((t: Json) => t.publicKey.validFor.end === undefined)).toEqual([true, false, false]);

      // Every bundle of every period.
      for (const bundle of bundles) {
        await expect(
          verifyBundle(bundle, { trustedRoot: root, identity: { subjectAlternativeName: BUILDER, issuer: ISSUER } }),
        ).resolves.toBeDefined();
      }
      // Every pack, made in its period or after the rotations.
      for (const { name, pack } of packs) {
        const report = await verifyPack(pack, { trustedRoot: root });
        expect(report.problems, name).toEqual([]);
        expect(report.ok, name).toBe(true);
        expect(
          report.steps.map((s) => s.environment),
          name,
        ).toEqual(['dev']);
      }
      // The late pack of period 1 carries the bundles' own entries: signed by period 1's log key.
      const late1 = packs.find((p) => p.name === 'late pack of period 1')!.pack;
      const key1 = JSON.parse(readFileSync(file('root-1.json'), 'utf8')).tlogs[0].logId.keyId;
      const signed = late1.attestations.filter((a: Json) => a.origin === 'signed');
      expect(signed.map((a: Json) => a.logEntry.logId.keyId)).toEqual(signed.map(() => key1));
      expect(signed.map((a: Json) => a.logEntry)).toEqual(
        signed.map((a: Json) =>
          expect.objectContaining({ inclusionPromise: a.bundle.verificationMaterial.tlogEntries[0].inclusionPromise }),
        ),
      );
      // The auditor's CLI agrees.
      expect((await cli('audit', 'verify', file('pack-1.json'), '--trusted-root', file('root-3.json'))).code).toBe(0);

      // The monitor goes on across both rotations, and every earlier checkpoint is consistent with today's log.
      expect(
        await ok(
          'log',
          'verify',
          '--state',
          file('monitor.txt'),
          '--server',
          url,
          '--trusted-root',
          file('root-3.json'),
        ),
      ).toMatch(/^consistent: size \d+ -> \d+/);
      for (const period of [1, 2, 3]) {
        const out = await ok(
          'log',
          'verify',
          '--checkpoint',
          file(`checkpoint-${period}.txt`),
          '--server',
          url,
          '--trusted-root',
          file('root-3.json'),
        );
        expect(out, `checkpoint of period ${period}`).toMatch(/^consistent: /);
      }

      // What keeps them valid is the retired keys: without them the first period's pack fails.
      const current = {
        ...root,
        certificateAuthorities: root.certificateAuthorities.slice(0, 1),
        tlogs: root.tlogs.slice(0, 1),
      };
      const without = await verifyPack(packs[0]!.pack, { trustedRoot: current });
      expect(without.ok).toBe(false);
      expect(without.problems.join('\n')).toMatch(/is not the trusted root given|not a log of the trusted root/);
    } finally {
      await server?.stop();
      await db?.drop();
    }
  }, 180_000);
});
