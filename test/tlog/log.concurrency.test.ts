// Several processes on one PostgreSQL produce one log: no gap, no duplicate index, every
// checkpoint consistent with the last; a process killed mid-batch leaves nothing half-written.
// PGlite serialises transactions and is single-process, so this runs on PostgreSQL only.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { loadSigningKeys } from '../../src/signing/keys.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { backends } from '../helpers/db.ts';
import { checkLogIntegrity } from '../helpers/log-integrity.ts';

const WORKER = fileURLToPath(new URL('../helpers/sign-worker.ts', import.meta.url));
const ISSUER = 'https://waybill.test';
const postgresBackend = backends.find((b) => b.name === 'postgres');

function worker(env: Record<string, string>) {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, out, err })),
  );
  return { child, done, progress: () => out.split('').filter((c) => c === '.').length };
}

async function setup() {
  const fresh = await postgresBackend!.freshUrl!();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wb-conc-'));
  const keys = await loadSigningKeys(parseConfig({ WAYBILL_DATA_DIR: dataDir }), createLogger('silent'));
  const env = { DATABASE_URL: fresh.url, WAYBILL_DATA_DIR: dataDir, WAYBILL_ISSUER: ISSUER, LOG_LEVEL: 'silent' };
  const key = { name: new URL(ISSUER).host, publicKey: keys.log.publicKey };
  return { fresh, env, key };
}

describe.runIf(postgresBackend)('log concurrency on PostgreSQL', () => {
  it('two processes, 1,000 concurrent appends: indices 0..999 once each, every checkpoint consistent', async () => {
    const { fresh, env, key } = await setup();
    try {
      const runs = [
        worker({ ...env, COUNT: '500', CONCURRENCY: '32' }),
        worker({ ...env, COUNT: '500', CONCURRENCY: '32' }),
      ];
      const results = await Promise.all(runs.map((r) => r.done));
      for (const r of results) expect(r.code, r.err).toBe(0);
      const indices = results.flatMap(
        (r) => (JSON.parse(r.out.trim().split('\n').pop()!) as { indices: number[] }).indices,
      );
      expect(indices.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      const db = await openDatabase({ driver: 'postgres', url: fresh.url });
      try {
        const report = await checkLogIntegrity(db, key);
        expect(report.size).toBe(1000);
        expect(report.checkpoints).toBeGreaterThan(1); // batches, not one checkpoint per run
      } finally {
        await db.close();
      }
    } finally {
      await fresh.drop();
    }
  }, 180_000);

  it('a process killed mid-batch leaves a consistent log and nothing half-written', async () => {
    const { fresh, env, key } = await setup();
    try {
      const steady = worker({ ...env, COUNT: '300', CONCURRENCY: '16' });
      const victim = worker({ ...env, COUNT: '100000', CONCURRENCY: '64', PROGRESS: '1' });
      const deadline = Date.now() + 60_000;
      while (victim.progress() < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      victim.child.kill('SIGKILL');
      const killed = await victim.done;
      expect(killed.signal).toBe('SIGKILL');
      expect((await steady.done).code).toBe(0);
      const after = worker({ ...env, COUNT: '50', CONCURRENCY: '8' });
      expect((await after.done).code).toBe(0);
      const db = await openDatabase({ driver: 'postgres', url: fresh.url });
      try {
        const report = await checkLogIntegrity(db, key);
        expect(report.size).toBeGreaterThanOrEqual(300 + 150 + 50);
      } finally {
        await db.close();
      }
    } finally {
      await fresh.drop();
    }
  }, 180_000);
});
