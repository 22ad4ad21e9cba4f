// Signed+logged statements per second through AttestService.sign, closed loop: N concurrent
// callers, each awaiting its call before starting the next, every call a distinct statement.
import { availableParallelism } from 'node:os';
import { parseConfig } from '../src/config.ts';
import { wireServices } from '../src/deps.ts';
import { createLogger } from '../src/logger.ts';
import { SigningPool } from '../src/runtime/signing-pool.ts';
import { loadSigningKeys } from '../src/signing/keys.ts';
import { verifyBundle } from '../src/signing/verify.ts';
import type { BackendName, BenchDatabase } from './db.ts';
import { BENCH_CALLER, provenanceStatement } from './statements.ts';
import { type CpuWindow, cpuWindow, type LatencySummary, postgresCpuMs, summarize } from './stats.ts';

export const BENCH_ISSUER = 'https://waybill.bench';

export type Services = Awaited<ReturnType<typeof wireServices>>;

export interface SignLevelResult {
  backend: BackendName;
  callers: number;
  /** Wall time from the first call to the last completion (the load stops at `seconds`). */
  elapsedSeconds: number;
  ops: number;
  opsPerSec: number;
  /** opsPerSec ÷ raw ECDSA signs per second. */
  ratioToRawSign: number;
  latencyMs: LatencySummary;
  cpu: CpuWindow;
  /** This process's CPU milliseconds per statement. */
  processCpuMsPerOp: number;
  /** The main thread's (event loop's) CPU milliseconds per statement. */
  mainThreadCpuMsPerOp: number;
  /** CPU milliseconds per statement of the PostgreSQL processes (server and backends; null for PGlite or off Linux). */
  postgresCpuMsPerOp: number | null;
  /** The rest of the machine's CPU milliseconds per statement: background load (other processes). */
  otherCpuMsPerOp: number | null;
  errors: number;
  firstError?: string;
}

/**
 * The services as the server wires them (signing on its worker-thread pool, src/runtime/node.ts), on
 * `bench`'s database, with keys in `dataDir`. `BENCH_SIGNING_POOL=n` sizes the pool (0: sign in this thread),
 * and is passed to the HTTP server as WAYBILL_SIGNING_THREADS.
 */
export async function benchServices(bench: BenchDatabase, dataDir: string): Promise<Services> {
  const config = parseConfig({ WAYBILL_DATA_DIR: dataDir, WAYBILL_ISSUER: BENCH_ISSUER, LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  // The server's default (src/runtime/node.ts): the pool on PostgreSQL, in-thread on PGlite.
  const threads = process.env.BENCH_SIGNING_POOL
    ? Number(process.env.BENCH_SIGNING_POOL)
    : bench.backend === 'postgres'
      ? undefined
      : 0;
  if (threads === 0) return wireServices(config, bench.database, logger);
  const keys = await loadSigningKeys(config, logger);
  // Idle pool threads are unref'd: they do not keep the benchmark alive.
  const pool = new SigningPool(keys.ca, threads);
  return wireServices(config, bench.database, logger, { keys, signers: pool.signers });
}

/** Closed-loop load: `callers` workers call sign() back to back for `seconds`. */
export async function signLoad(
  services: Services,
  callers: number,
  seconds: number,
): Promise<{
  latencies: number[];
  errors: number;
  firstError?: string;
  elapsedMs: number;
  cpu: CpuWindow;
  /** CPU ms of the PostgreSQL processes over the run (null off Linux). */
  postgresCpuMs: number | null;
  lastBundle?: unknown;
}> {
  const latencies: number[] = [];
  const pg0 = postgresCpuMs();
  let errors = 0;
  let firstError: string | undefined;
  let lastBundle: unknown;
  const endCpu = cpuWindow();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const statement = provenanceStatement();
      const start = performance.now();
      try {
        const { record, created } = await services.attest.sign(statement, BENCH_CALLER);
        if (!created) throw new Error('a distinct statement came back as an existing record');
        latencies.push(performance.now() - start);
        lastBundle = record.bundle;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, worker));
  const elapsedMs = performance.now() - t0;
  const cpu = endCpu();
  const pg1 = postgresCpuMs();
  const postgresCpuMs_ = pg0 !== null && pg1 !== null ? pg1 - pg0 : null;
  return {
    latencies,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    elapsedMs,
    cpu,
    postgresCpuMs: postgresCpuMs_,
    lastBundle,
  };
}

export async function signLevel(
  services: Services,
  backend: BackendName,
  callers: number,
  seconds: number,
  rawSignPerSec: number,
): Promise<{ result: SignLevelResult; lastBundle: unknown }> {
  const run = await signLoad(services, callers, seconds);
  const ops = run.latencies.length;
  const opsPerSec = (ops * 1000) / run.elapsedMs;
  const result: SignLevelResult = {
    backend,
    callers,
    elapsedSeconds: run.elapsedMs / 1000,
    ops,
    opsPerSec,
    ratioToRawSign: opsPerSec / rawSignPerSec,
    latencyMs: summarize(run.latencies),
    cpu: run.cpu,
    processCpuMsPerOp: ops > 0 ? run.cpu.processCpuMs / ops : Number.NaN,
    mainThreadCpuMsPerOp: ops > 0 ? run.cpu.mainThreadCpuMs / ops : Number.NaN,
    postgresCpuMsPerOp:
      backend === 'postgres' && run.postgresCpuMs !== null && ops > 0 ? run.postgresCpuMs / ops : null,
    otherCpuMsPerOp:
      run.cpu.machineBusy === null || ops === 0
        ? null
        : Math.max(
            0,
            run.cpu.machineBusy * availableParallelism() * run.elapsedMs -
              run.cpu.processCpuMs -
              (backend === 'postgres' ? (run.postgresCpuMs ?? 0) : 0),
          ) / ops,
    errors: run.errors,
    ...(run.firstError !== undefined ? { firstError: run.firstError } : {}),
  };
  return { result, lastBundle: run.lastBundle };
}

/**
 * After a backend's runs: the log holds exactly the statements signed (no gap, no duplicate
 * index) and a bundle from the run verifies offline against the served trusted root.
 */
export async function sanityCheck(services: Services, expectedEntries: number, bundle: unknown): Promise<string[]> {
  const problems: string[] = [];
  const cp = await services.log.checkpoint();
  if (cp.treeSize !== expectedEntries) problems.push(`log size ${cp.treeSize}, expected ${expectedEntries}`);
  if (bundle !== undefined) {
    try {
      await verifyBundle(bundle, {
        trustedRoot: services.trustedRoot,
        identity: { subjectAlternativeName: BENCH_CALLER, issuer: BENCH_ISSUER },
      });
    } catch (err) {
      problems.push(`a signed bundle does not verify: ${(err as Error).message}`);
    }
  } else {
    problems.push('no bundle was signed');
  }
  return problems;
}
