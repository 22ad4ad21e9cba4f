// Global setup of the workerd tests (vitest.workers.config.ts), in Node: a fresh PostgreSQL
// database migrated the way an operator does it (db:migrate), a CA and a log key, a Node waybill
// on that database (the other instance of the shared-log test), and a small verifier that checks
// bundles with stock @sigstore/verify, as an auditor's Node would. The worker reaches the same
// database through its Hyperdrive binding, configured from what this provides.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import type { TestProject } from 'vitest/node';
import { parseConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { migrateDatabase } from '../../src/runtime/migrate.ts';
import { startServer } from '../../src/runtime/node.ts';
import { loadSigningKeys } from '../../src/signing/keys.ts';
import { backends } from './db.ts';

export const WORKER_ISSUER = 'https://waybill.workerd.test';
const FIX = fileURLToPath(new URL('../fixtures/external/', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test database, with a password (Miniflare's Hyperdrive wants one; trust auth ignores it). */
    databaseUrl: string;
    /** The Worker's vars and secrets. */
    workerVars: Record<string, string>;
    adminToken: string;
    /** The Node waybill on the same database and keys. */
    nodeUrl: string;
    /** POST {bundle, trustedRoot, subject, issuer}: 200 when stock @sigstore/verify accepts the bundle. */
    verifierUrl: string;
  }
}

/** Stock @sigstore/verify, no waybill code: the bundle under the trusted root, for this identity. */
function verifier(): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const { bundle, trustedRoot, subject, issuer } = JSON.parse(body);
        const material = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot));
        const signer = new Verifier(material, { ctlogThreshold: 0, tlogThreshold: 1 }).verify(
          toSignedEntity(bundleFromJSON(bundle)),
          { subjectAlternativeName: subject, extensions: { issuer } },
        );
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ verified: true, identity: signer.identity }));
      } catch (err) {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ verified: false, error: (err as Error).message }));
      }
    });
  });
}

export default async function setup(project: TestProject) {
  const pg = backends.find((b) => b.name === 'postgres');
  if (!pg) throw new Error('the workerd tests run against PostgreSQL: set TEST_DATABASE_URL');
  const fresh = await pg.freshUrl!();
  await migrateDatabase({ DATABASE_URL: fresh.url });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'waybill-workerd-'));
  const keys = await loadSigningKeys({ keys: {}, dataDir: dir } as never, createLogger('silent'));
  const adminToken = `wb_workerd_${randomBytes(24).toString('base64url')}`;
  const shared = {
    WAYBILL_ISSUER: WORKER_ISSUER,
    WAYBILL_ADMIN_TOKEN: adminToken,
    WAYBILL_CA_KEY: keys.ca.keyPem,
    WAYBILL_CA_CHAIN: keys.ca.chainPem,
    WAYBILL_LOG_KEY: keys.log.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    LOG_LEVEL: 'warn',
  };
  const node = await startServer(
    parseConfig({ ...shared, DATABASE_URL: fresh.url, PORT: '0', HOST: '127.0.0.1', WAYBILL_DATA_DIR: dir }),
  );
  const verify = verifier();
  await new Promise<void>((resolve) => verify.listen(0, '127.0.0.1', resolve));

  const url = new URL(fresh.url);
  url.password = 'unused';
  project.provide('databaseUrl', url.toString());
  project.provide('workerVars', {
    ...shared,
    // On Workers the trust settings hold content: the external fixtures' root and identity rules.
    WAYBILL_EXTERNAL_TRUST_ROOTS: `[${readFileSync(`${FIX}trusted_root.json`, 'utf8')}, "public-good"]`,
    WAYBILL_EXTERNAL_IDENTITIES: readFileSync(`${FIX}identities.json`, 'utf8'),
  });
  project.provide('adminToken', adminToken);
  project.provide('nodeUrl', node.url);
  project.provide('verifierUrl', `http://127.0.0.1:${(verify.address() as AddressInfo).port}`);

  return async () => {
    await node.stop();
    await new Promise((resolve) => verify.close(resolve));
    await fresh.drop();
    rmSync(dir, { recursive: true, force: true });
  };
}
