// Cloudflare Workers next to Node, in one run: `POST /v1/provenance` over loopback against the
// Worker under `wrangler dev` (workerd, its appends batched by the log's Durable Object, the
// database through Hyperdrive's local connection string) and against the Node server, each on a
// fresh PostgreSQL database with the same keys, load and log level. `wrangler dev` is a
// development server: one workerd process, no Hyperdrive pool in front of PostgreSQL (every
// request opens its own connection), so these are local figures, not Cloudflare's edge.
// Run alone: `BENCH_SECTIONS=worker npm run bench`, or `npx node bench/worker.ts`.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createLogger } from '../src/logger.ts';
import { migrateDatabase } from '../src/runtime/migrate.ts';
import { loadSigningKeys } from '../src/signing/keys.ts';
import { verifyBundle } from '../src/signing/verify.ts';
import { createDatabase, onCloseAll } from './db.ts';
import { api, freePort, HTTP_CALLER, type LoadRun, load, procCpuMs, startServer } from './http.ts';
import { CLK_TCK, fmtInt, fmtMs, sleep, summarize } from './stats.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ISSUER = 'https://waybill.bench.test';

export interface WorkerBenchRow {
  instance: 'node' | 'worker';
  connections: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** CPU of the serving processes (Node: the server; Worker: wrangler and workerd) per 2xx response. */
  serverCpuMsPerReq: number | null;
}

interface Instance {
  url: string;
  /** CPU milliseconds of the serving processes so far. */
  cpuMs(): number | null;
  stop(): Promise<void>;
}

/** utime + stime of every process in a process group (wrangler and the workerd it starts). */
function groupCpuMs(pgid: number): number | null {
  let ms = 0;
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(f[2]) === pgid) ms += ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
      } catch {
        // exited meanwhile
      }
    }
    return ms;
  } catch {
    return null;
  }
}

async function startWorker(vars: Record<string, string>, databaseUrl: string, dir: string): Promise<Instance> {
  const port = await freePort();
  const envFile = path.join(dir, 'worker.env');
  // dotenv: values in double quotes may span lines (the PEM keys).
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}="${v}"\n`)
      .join(''),
    { mode: 0o600 },
  );
  const url = new URL(databaseUrl);
  url.password = 'unused'; // Miniflare's Hyperdrive wants one; trust authentication ignores it
  const log = openSync(path.join(dir, 'wrangler.log'), 'w');
  const child: ChildProcess = spawn(
    path.join(REPO, 'node_modules/.bin/wrangler'),
    ['dev', '--port', String(port), '--ip', '127.0.0.1', '--env-file', envFile, '--log-level', 'warn'],
    {
      cwd: REPO,
      detached: true, // its own process group, so workerd's CPU is counted and stopped with it
      env: {
        ...process.env,
        CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: url.toString(),
        WRANGLER_SEND_METRICS: 'false',
        CI: 'true',
      },
      stdio: ['ignore', log, log],
    },
  );
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || performance.now() > deadline) {
      await stop();
      throw new Error(
        `wrangler dev did not serve: ${readFileSync(path.join(dir, 'wrangler.log'), 'utf8').slice(-2000)}`,
      );
    }
    await sleep(200);
  }
  return { url: base, cpuMs: () => groupCpuMs(child.pid!), stop };
}

async function startNode(vars: Record<string, string>, databaseUrl: string, dir: string): Promise<Instance> {
  const port = await freePort();
  const server = await startServer(
    {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.homedir(),
      ...vars,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      WAYBILL_DATA_DIR: dir,
    },
    path.join(dir, 'server.log'),
  );
  return { url: server.url, cpuMs: () => procCpuMs(server.child.pid), stop: () => server.stop() };
}

/** One instance on a fresh database: every connection level, then the log checked and a bundle verified. */
async function measure(
  instance: 'node' | 'worker',
  opts: { databaseUrl: string; connections: number[]; seconds: number; warmupSeconds: number },
  onProgress: (msg: string) => void,
): Promise<{ rows: WorkerBenchRow[]; sanity: string[] }> {
  const fresh = await createDatabase(opts.databaseUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), `waybill-bench-${instance}-`));
  let server: Instance | undefined;
  const cleanup = async () => {
    await server?.stop();
    await fresh.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCloseAll(cleanup);
  try {
    await migrateDatabase({ DATABASE_URL: fresh.url });
    const keys = await loadSigningKeys({ keys: {}, dataDir: dir } as never, createLogger('silent'));
    const adminToken = `wb_bench_${randomBytes(32).toString('base64url')}`;
    const vars = {
      WAYBILL_ISSUER: ISSUER,
      WAYBILL_ADMIN_TOKEN: adminToken,
      WAYBILL_CA_KEY: keys.ca.keyPem,
      WAYBILL_CA_CHAIN: keys.ca.chainPem,
      WAYBILL_LOG_KEY: keys.log.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      LOG_LEVEL: 'warn',
    };
    onProgress(`${instance}: starting`);
    server = await (instance === 'worker' ? startWorker : startNode)(vars, fresh.url, dir);
    const { token } = await api<{ token: string }>(`${server.url}/v1/tokens`, adminToken, 'POST', {
      subject: HTTP_CALLER,
      roles: ['builder'],
    });
    const runs: LoadRun[] = [];
    if (opts.warmupSeconds > 0) {
      onProgress(`${instance}: warm-up ${opts.warmupSeconds} s at 16 connections`);
      runs.push(await load(server.url, token, 16, opts.warmupSeconds));
      await sleep(500);
    }
    const rows: WorkerBenchRow[] = [];
    for (const connections of opts.connections) {
      onProgress(`${instance}: ${connections} connections for ${opts.seconds} s`);
      const cpu0 = server.cpuMs();
      const run = await load(server.url, token, connections, opts.seconds);
      const cpu1 = server.cpuMs();
      await sleep(500); // the stopped load's last requests finish
      runs.push(run);
      const ok = run.result['2xx'];
      const latency = summarize(run.latencies);
      rows.push({
        instance,
        connections,
        reqPerSec: (ok * 1000) / run.elapsedMs,
        p50Ms: latency.p50,
        p99Ms: latency.p99,
        ok,
        non2xx: run.result.non2xx,
        errors: run.result.errors + run.result.timeouts,
        serverCpuMsPerReq: cpu0 !== null && cpu1 !== null && ok ? (cpu1 - cpu0) / ok : null,
      });
      onProgress(`${instance}: ${connections} connections: ${Math.round(rows.at(-1)!.reqPerSec)} req/s`);
    }

    // Every acknowledged request is in the log once, the log and the table agree, a bundle verifies.
    const sanity: string[] = [];
    const indices = runs.flatMap((r) => r.indices);
    if (new Set(indices).size !== indices.length) sanity.push(`${instance}: two responses carry the same log index`);
    // Requests the load tool gave up on may still be logged after it stopped: wait for the log to
    // settle, then read its size and the attestation count in one statement (one snapshot).
    const pg = postgres(fresh.url, { max: 1, onnotice: () => {} });
    try {
      let last = -1;
      for (;;) {
        const [row] = await pg<{ n: number; size: number }[]>`select
          (select count(*)::int from attestations) as n,
          (select coalesce(max(tree_size), 0)::int from log_checkpoints) as size`;
        if (row!.size === last) {
          if (row!.n !== row!.size) sanity.push(`${instance}: ${row!.n} attestations stored, log size ${row!.size}`);
          if (indices.some((i) => i >= row!.size)) sanity.push(`${instance}: a response names an index beyond the log`);
          break;
        }
        last = row!.size;
        await sleep(1000);
      }
    } finally {
      await pg.end({ timeout: 5 });
    }
    const last = runs.map((r) => r.lastBody).findLast(Boolean);
    if (!last) sanity.push(`${instance}: no 2xx response`);
    else {
      try {
        const trustedRoot = await api<unknown>(`${server.url}/v1/trust/root`, token, 'GET');
        await verifyBundle((JSON.parse(last) as { bundle: unknown }).bundle, {
          trustedRoot: trustedRoot as never,
          identity: { subjectAlternativeName: HTTP_CALLER, issuer: ISSUER },
        });
      } catch (err) {
        sanity.push(`${instance}: a returned bundle does not verify: ${(err as Error).message}`);
      }
    }
    return { rows, sanity };
  } finally {
    unregister();
    await cleanup();
  }
}

export async function runWorkerBench(
  opts: { databaseUrl: string; connections: number[]; seconds: number; warmupSeconds: number },
  onProgress: (msg: string) => void,
): Promise<{ rows: WorkerBenchRow[]; sanity: string[]; markdown: string }> {
  const node = await measure('node', opts, onProgress);
  const worker = await measure('worker', opts, onProgress);
  const rows = [...node.rows, ...worker.rows];
  const sanity = [...node.sanity, ...worker.sanity];
  const cell = (r: WorkerBenchRow | undefined) => (r ? fmtInt(r.reqPerSec) : '');
  const lines = [
    '## Cloudflare Workers (`wrangler dev`) next to Node',
    '',
    '`POST /v1/provenance`, every request distinct build facts, `LOG_LEVEL=warn`, each instance on a fresh ' +
      `PostgreSQL database, ${opts.seconds} s per level, loopback.`,
    '',
    '| instance | connections | requests/s | p50 ms | p99 ms | non-2xx | errors | server CPU ms/req |',
    '| :-- | --: | --: | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.instance === 'node' ? 'Node' : 'Worker (`wrangler dev`)'} | ${r.connections} | ` +
        `${fmtInt(r.reqPerSec)} | ${fmtMs(r.p50Ms)} | ${fmtMs(r.p99Ms)} | ${r.non2xx} | ${r.errors} | ` +
        `${r.serverCpuMsPerReq === null ? 'n/a' : fmtMs(r.serverCpuMsPerReq)} |`,
    ),
    '',
    '| connections | Node requests/s | Worker requests/s | Worker ÷ Node |',
    '| --: | --: | --: | --: |',
    ...opts.connections.map((c) => {
      const n = node.rows.find((r) => r.connections === c);
      const w = worker.rows.find((r) => r.connections === c);
      const ratio = n && w && n.reqPerSec > 0 ? (w.reqPerSec / n.reqPerSec).toFixed(2) : '';
      return `| ${c} | ${cell(n)} | ${cell(w)} | ${ratio} |`;
    }),
    '',
    sanity.length
      ? `Sanity: **${sanity.join('; ')}**`
      : 'Sanity: every acknowledged request logged once, the log ' +
        'size equals the attestations stored, a returned bundle verifies offline (both instances).',
  ];
  return { rows, sanity, markdown: `${lines.join('\n')}\n` };
}

if (import.meta.main) {
  const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
  const result = await runWorkerBench(
    {
      databaseUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
      connections: list(process.env.BENCH_WORKER_CONNECTIONS, [1, 16, 64]),
      seconds: Number(process.env.BENCH_SECONDS ?? 5),
      warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 2),
    },
    (msg) => process.stderr.write(`[bench worker] ${msg}\n`),
  );
  process.stdout.write(result.markdown);
  process.exitCode = result.sanity.length ? 1 : 0;
}
