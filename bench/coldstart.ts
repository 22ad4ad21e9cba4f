// Cold start (section `coldstart`): the real process `npm start` runs (`node src/runtime/start.ts`),
// spawned on an empty PGlite data directory, timed from spawn until `GET /readyz` answers 200.
// Every run gets a new empty data directory, so each one creates the database and the development
// keys; what may persist between runs is what a developer's machine keeps too (the PGlite data
// directory snapshot and Node's compile cache under node_modules/.cache/waybill). Run alone:
// `npx node bench/coldstart.ts` (BENCH_COLDSTART_RUNS).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './http.ts';
import { fmtInt, fmtMs, percentile, sleep } from './stats.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
export const COLD_START_TARGET_MS = 1000;

export interface ColdStartResult {
  /** Spawn -> /readyz 200, per run, ms (the first run may also build the caches). */
  runsMs: number[];
  /** The median of the runs after the first. */
  medianMs: number;
  /** `npm start` itself (npm's own start-up included), one run. */
  npmStartMs: number | null;
  /** The server's own start-up figure (its "waybill listening" log line) per run. */
  serverStartupMs: Array<number | null>;
}

async function once(command: string, args: string[]): Promise<{ ms: number; startupMs: number | null }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'waybill-cold-'));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(command, args, {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.homedir(),
      PORT: String(port),
      HOST: '127.0.0.1',
      WAYBILL_DATA_DIR: dir,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  try {
    const deadline = t0 + 60_000;
    for (;;) {
      if (exited) throw new Error(`the server exited before it was ready: ${err.trim()}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) throw new Error('the server was not ready within 60 s');
      await sleep(5);
    }
    const ms = performance.now() - t0;
    const line = out.split('\n').find((l) => l.includes('"waybill listening"'));
    const startupMs = line ? ((JSON.parse(line) as { startupMs?: number }).startupMs ?? null) : null;
    return { ms, startupMs };
  } finally {
    if (!exited) child.kill('SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function coldStart(runs: number, progress: (s: string) => void = () => {}): Promise<ColdStartResult> {
  const runsMs: number[] = [];
  const serverStartupMs: Array<number | null> = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(process.execPath, ['src/runtime/start.ts']);
    runsMs.push(r.ms);
    serverStartupMs.push(r.startupMs);
    progress(`cold start ${i + 1}/${runs}: ${Math.round(r.ms)} ms to /readyz (server start-up ${r.startupMs} ms)`);
  }
  let npmStartMs: number | null = null;
  try {
    npmStartMs = (await once('npm', ['start', '--silent'])).ms;
    progress(`cold start through npm start: ${Math.round(npmStartMs)} ms`);
  } catch (err) {
    progress(`npm start not measured: ${(err as Error).message}`);
  }
  const rest = (runs > 1 ? runsMs.slice(1) : runsMs).slice().sort((a, b) => a - b);
  return { runsMs, medianMs: percentile(rest, 0.5), npmStartMs, serverStartupMs };
}

export function coldStartMarkdown(r: ColdStartResult, rawSignPerSec: number): string {
  const signs = (ms: number) => fmtInt((ms / 1000) * rawSignPerSec);
  return [
    '### Cold start: `npm start` to `/readyz` on an empty PGlite data directory',
    '',
    'The process `npm start` execs (`node src/runtime/start.ts`) spawned on a new, empty data directory per run, ' +
      'timed from spawn until `GET /readyz` answers 200 (database created, schema migrated, development keys ' +
      'generated). The first run may also build the caches a fresh clone builds once (the PGlite data directory ' +
      'snapshot, Node compile cache); the figure is the median of the others.',
    '',
    '| run | spawn → /readyz ms | server start-up ms (its log) | × raw sign |',
    '| ---: | ---: | ---: | ---: |',
    ...r.runsMs.map((ms, i) => `| ${i + 1} | ${fmtMs(ms)} | ${r.serverStartupMs[i] ?? ''} | ${signs(ms)} |`),
    ...(r.npmStartMs !== null
      ? [`| \`npm start\` (npm included) | ${fmtMs(r.npmStartMs)} |  | ${signs(r.npmStartMs)} |`]
      : []),
    '',
    `Target: under ${COLD_START_TARGET_MS} ms: **${r.medianMs < COLD_START_TARGET_MS ? 'met' : 'missed'}** ` +
      `(median ${fmtMs(r.medianMs)} ms).`,
  ].join('\n');
}

if (import.meta.main) {
  const { rawSignRate } = await import('./crypto.ts');
  const raw = rawSignRate(1);
  const r = await coldStart(Number(process.env.BENCH_COLDSTART_RUNS ?? 4), (s) => process.stderr.write(`${s}\n`));
  console.log(coldStartMarkdown(r, raw));
}
