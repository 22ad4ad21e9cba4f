// HTTP throughput of `POST /v1/provenance`: the real server (`node src/cli/bin.ts serve`) as a
// child process on a fresh PostgreSQL database, loaded by autocannon from this process over
// loopback. Every request carries distinct build facts (a new subject digest), so every request
// really signs, logs and stores. Both sides share the machine's cores with PostgreSQL.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result as LoadResult } from 'autocannon';
import postgres from 'postgres';
import { verifyBundle } from '../src/signing/verify.ts';
import { createDatabase, onCloseAll } from './db.ts';
import { provenanceFacts } from './statements.ts';
import { CLK_TCK, cpuWindow, type LatencySummary, postgresCpuMs, sleep, summarize } from './stats.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO, 'src/cli/bin.ts');
export const HTTP_CALLER = 'https://ci.example.com/pipelines/bench-http';

export interface HttpLevelResult {
  /** The server's LOG_LEVEL (warn: no per-request line; info: one JSON line per request). */
  logLevel: string;
  connections: number;
  /** Wall time of the measured run. */
  elapsedSeconds: number;
  /** 2xx responses (201: signed, logged and stored). */
  ok: number;
  reqPerSec: number;
  /** reqPerSec ÷ raw ECDSA signs per second. */
  ratioToRawSign: number;
  /** reqPerSec ÷ the in-process AttestService.sign figure at the same concurrency on PostgreSQL, same run. */
  ratioToAttest: number | null;
  /** Latency of every response (ms). */
  latencyMs: LatencySummary;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts (autocannon). */
  errors: number;
  timeouts: number;
  /**
   * CPU ms per 2xx response: the server process, this process (autocannon), the PostgreSQL
   * processes, the rest of the machine (background).
   */
  serverCpuMsPerReq: number | null;
  /** The server's main thread (its event loop) alone, CPU ms per 2xx response. */
  serverMainThreadCpuMsPerReq: number | null;
  loadToolCpuMsPerReq: number;
  postgresCpuMsPerReq: number | null;
  restCpuMsPerReq: number | null;
  serverCores: number | null;
  machineBusy: number | null;
  /** Bytes the server wrote to stdout (its log) per 2xx response. */
  logBytesPerReq: number;
  sanity: string[];
  /** The measured run on the CLOCK_MONOTONIC time line of V8 CPU profiles (µs), to cut a server profile to it. */
  windowUs: [number, number];
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** utime + stime of a process in ms, from /proc (null off Linux or once it has exited). */
export function procCpuMs(pid: number | undefined, { mainThread = false } = {}): number | null {
  if (pid === undefined) return null;
  try {
    // A process's main thread is the task with the process's own id.
    const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

export interface Server {
  url: string;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

export async function startServer(
  env: Record<string, string>,
  logFile: string,
  nodeArgs: string[] = [],
): Promise<Server> {
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve'], {
    cwd: REPO,
    env,
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${env.PORT}`;
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(killer);
  };
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`the server ${exited}: ${stderr.trim() || readFileSync(logFile, 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`the server did not become ready within 60 s: ${stderr.trim()}`);
    }
    await sleep(100);
  }
  return { url, child, logFile, stop };
}

export async function api<T>(url: string, token: string, method: string, body?: unknown): Promise<T> {
  const r = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${text.slice(0, 500)}`);
  return (r.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T);
}

export interface LoadRun {
  elapsedMs: number;
  result: LoadResult;
  latencies: number[];
  /** The top-level logIndex of every 2xx response. */
  indices: number[];
  lastBody: string | undefined;
}

export async function load(url: string, token: string, connections: number, seconds: number): Promise<LoadRun> {
  const latencies: number[] = [];
  const indices: number[] = [];
  let lastBody: string | undefined;
  const t0 = performance.now();
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 30,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        path: '/v1/provenance',
        // A new subject digest per request: every request signs, logs and stores.
        setupRequest: (req) => ({ ...req, body: JSON.stringify(provenanceFacts()) }),
        onResponse: (status, body) => {
          if (status >= 200 && status < 300) {
            // The record's own logIndex is the only unquoted one (the bundle's are strings).
            const m = /"logIndex":(\d+)/.exec(body);
            if (m) indices.push(Number(m[1]));
            lastBody = body;
          }
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  const result = await instance;
  return { elapsedMs: performance.now() - t0, result, latencies, indices, lastBody };
}

/**
 * One server at `logLevel`: start it on a fresh database, mint a builder token through the
 * API, warm up, measure `seconds` at `connections`, check the log, stop, drop the database.
 */
export async function httpLevel(opts: {
  databaseUrl: string;
  logLevel: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  rawSignPerSec: number;
  attestPerSec: number | null;
  /** Write a V8 CPU profile of the server's measured run (warm-up included) into this directory. */
  cpuProfileDir?: string;
  onProgress?: (msg: string) => void;
}): Promise<HttpLevelResult> {
  const fresh = await createDatabase(opts.databaseUrl);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'waybill-bench-http-'));
  const adminToken = `wb_bench_${randomBytes(32).toString('base64url')}`;
  let server: Server | undefined;
  const cleanup = async () => {
    await server?.stop();
    await fresh.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const unregister = onCloseAll(cleanup);
  try {
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.homedir(),
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: fresh.url,
      WAYBILL_DATA_DIR: dataDir,
      LOG_LEVEL: opts.logLevel,
      WAYBILL_ADMIN_TOKEN: adminToken,
      ...(process.env.BENCH_SIGNING_POOL ? { WAYBILL_SIGNING_THREADS: process.env.BENCH_SIGNING_POOL } : {}),
    };
    server = await startServer(
      env,
      path.join(dataDir, 'server.log'),
      opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`, '--cpu-prof-interval=250'] : [],
    );
    const { token } = await api<{ token: string }>(`${server.url}/v1/tokens`, adminToken, 'POST', {
      subject: HTTP_CALLER,
      roles: ['builder'],
    });

    let warm: LoadRun | undefined;
    if (opts.warmupSeconds > 0) {
      opts.onProgress?.(
        `http (LOG_LEVEL=${opts.logLevel}): warm-up ${opts.warmupSeconds} s at ${opts.connections} connections`,
      );
      warm = await load(server.url, token, opts.connections, opts.warmupSeconds);
    }
    // Let the warm-up's last requests finish before the measured window opens.
    await sleep(500);
    opts.onProgress?.(`http (LOG_LEVEL=${opts.logLevel}): ${opts.connections} connections for ${opts.seconds} s`);
    const logBytes0 = statSync(server.logFile).size;
    const serverCpu0 = procCpuMs(server.child.pid);
    const mainCpu0 = procCpuMs(server.child.pid, { mainThread: true });
    const pgCpu0 = postgresCpuMs();
    const endCpu = cpuWindow();
    const w0 = Number(process.hrtime.bigint() / 1000n);
    const run = await load(server.url, token, opts.connections, opts.seconds);
    const w1 = Number(process.hrtime.bigint() / 1000n);
    const cpu = endCpu();
    const serverCpu1 = procCpuMs(server.child.pid);
    const mainCpu1 = procCpuMs(server.child.pid, { mainThread: true });
    const pgCpu1 = postgresCpuMs();
    const pgCpuMs = pgCpu0 !== null && pgCpu1 !== null ? pgCpu1 - pgCpu0 : null;
    const logBytes = statSync(server.logFile).size - logBytes0;
    await sleep(500); // in-flight requests of the stopped load finish

    const r = run.result;
    const ok = r['2xx'];
    const serverCpuMs = serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null;
    const elapsed = run.elapsedMs;
    const reqPerSec = (ok * 1000) / elapsed;
    const cores = os.availableParallelism();
    const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count]));

    // Sanity: every acknowledged request is in the log once, the log and the table agree, and
    // a bundle from the run verifies offline against the server's trusted root.
    const sanity: string[] = [];
    const note = await api<string>(`${server.url}/v1/log/checkpoint`, token, 'GET');
    const size = Number(note.split('\n')[1]);
    const acknowledged = [...(warm?.indices ?? []), ...run.indices];
    if (new Set(acknowledged).size !== acknowledged.length) sanity.push('two responses carry the same log index');
    if (acknowledged.some((i) => i >= size)) sanity.push(`a response names a log index beyond the log size ${size}`);
    if (acknowledged.length !== (warm?.result['2xx'] ?? 0) + ok) sanity.push('a 2xx response without a log index');
    const pg = postgres(fresh.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await pg<{ n: number }[]>`select count(*)::int as n from attestations`;
      if (row?.n !== size) sanity.push(`${row?.n} attestations stored, log size ${size}`);
    } finally {
      await pg.end({ timeout: 5 });
    }
    if (run.lastBody) {
      try {
        const trustedRoot = await api<unknown>(`${server.url}/v1/trust/root`, token, 'GET');
        const record = JSON.parse(run.lastBody) as { bundle: unknown };
        await verifyBundle(record.bundle, {
          trustedRoot: trustedRoot as never,
          identity: { subjectAlternativeName: HTTP_CALLER, issuer: `http://localhost:${port}` },
        });
      } catch (err) {
        sanity.push(`a returned bundle does not verify: ${(err as Error).message}`);
      }
    } else {
      sanity.push('no 2xx response');
    }

    return {
      logLevel: opts.logLevel,
      connections: opts.connections,
      elapsedSeconds: elapsed / 1000,
      ok,
      reqPerSec,
      ratioToRawSign: reqPerSec / opts.rawSignPerSec,
      ratioToAttest: opts.attestPerSec ? reqPerSec / opts.attestPerSec : null,
      latencyMs: summarize(run.latencies),
      non2xx: r.non2xx,
      statusCodes,
      errors: r.errors,
      timeouts: r.timeouts,
      serverCpuMsPerReq: serverCpuMs !== null && ok ? serverCpuMs / ok : null,
      serverMainThreadCpuMsPerReq: mainCpu0 !== null && mainCpu1 !== null && ok ? (mainCpu1 - mainCpu0) / ok : null,
      loadToolCpuMsPerReq: ok ? cpu.processCpuMs / ok : Number.NaN,
      postgresCpuMsPerReq: pgCpuMs !== null && ok ? pgCpuMs / ok : null,
      restCpuMsPerReq:
        cpu.machineBusy !== null && serverCpuMs !== null && ok
          ? Math.max(0, cpu.machineBusy * cores * elapsed - serverCpuMs - cpu.processCpuMs - (pgCpuMs ?? 0)) / ok
          : null,
      serverCores: serverCpuMs !== null ? serverCpuMs / elapsed : null,
      machineBusy: cpu.machineBusy,
      logBytesPerReq: ok ? logBytes / ok : Number.NaN,
      sanity,
      windowUs: [w0, w1],
    };
  } finally {
    unregister();
    await cleanup();
  }
}
