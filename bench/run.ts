// waybill benchmark: `npm run bench` (or `npx node bench/run.ts`). See bench/README.md.
//
// One run measures, side by side: the raw ECDSA P-256 sign/verify rates (the reference every
// other figure is also expressed against), signed+logged statements per second through
// AttestService.sign at several concurrency levels on PostgreSQL and PGlite, a profile of where
// a statement's time goes, and inclusion-proof latency at 10^4..10^6 log entries. Prints a
// markdown report and writes bench/results/latest.{json,md}.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAdmissionBench } from './admission.ts';
import { COLD_START_TARGET_MS, type ColdStartResult, coldStart, coldStartMarkdown } from './coldstart.ts';
import { rawEcdsa, rawSignRate } from './crypto.ts';
import { type BackendName, closeAll, openBenchDatabase, postgresVersion } from './db.ts';
import { type HttpLevelResult, httpLevel } from './http.ts';
import {
  type DbClientCost,
  dbClientCosts,
  profileSequencer,
  type SequencerProfile,
  type StageCosts,
  stageCosts,
} from './profile.ts';
import { type ProofBackendResult, proofBench } from './proofs.ts';
import { runReplayBench } from './replay.ts';
import { type Results, renderMarkdown } from './report.ts';
import { benchServices, type SignLevelResult, sanityCheck, signLevel, signLoad } from './signing.ts';
import { cpuWindow, fmtInt, fmtMs, sleep } from './stats.ts';
import { runUiBench } from './ui.ts';
import { runVerdictBench } from './verdicts.ts';
import { runWorkerBench } from './worker.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS_DIR = path.join(HERE, 'results');
const SIGN_TARGET = 2000;
const SIGN_TARGET_CALLERS = 64;
const PROOF_TARGET_RATIO = 2;
const HTTP_TARGET = 1500;
const HTTP_P99_TARGET_MS = 100;
/** Background load below which the machine counts as quiet (share of all cores). */
const QUIET = 0.15;

// ---------------------------------------------------------------------------------------------
// Settings (environment)

function num(name: string, dflt: number, { min = 0 } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

function list(name: string, dflt: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = raw.split(',').map((s) => Number(s.trim()));
  if (v.some((x) => !Number.isSafeInteger(x) || x < 1))
    throw new Error(`${name} must be a comma-separated list of positive integers`);
  return v;
}

const settings = {
  databaseUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
  seconds: num('BENCH_SECONDS', 5, { min: 0.1 }),
  warmupSeconds: num('BENCH_WARMUP_SECONDS', 2),
  concurrency: list('BENCH_CONCURRENCY', [1, 16, 64]),
  backends: (process.env.BENCH_BACKENDS || 'postgres,pglite').split(',').map((s) => s.trim()) as BackendName[],
  proofSizes: list('BENCH_PROOF_SIZES', [10_000, 100_000, 1_000_000]),
  pgliteProofMax: num('BENCH_PGLITE_PROOF_MAX', 1_000_000, { min: 1 }),
  proofSamples: num('BENCH_PROOF_SAMPLES', 500, { min: 1 }),
  profileSeconds: num('BENCH_PROFILE_SECONDS', 3),
  waitIdleSeconds: num('BENCH_WAIT_IDLE_SECONDS', 60),
  sections: new Set(
    (process.env.BENCH_SECTIONS || 'sign,profile,http,proofs,verdicts,replay,admission,ui,coldstart,worker')
      .split(',')
      .map((s) => s.trim()),
  ),
  httpConnections: num('BENCH_HTTP_CONNECTIONS', 64, { min: 1 }),
  httpLogLevels: (process.env.BENCH_HTTP_LOG_LEVELS || 'warn,info').split(',').map((s) => s.trim()),
  workerConnections: list('BENCH_WORKER_CONNECTIONS', [1, 16, 64]),
  coldStartRuns: num('BENCH_COLDSTART_RUNS', 4, { min: 1 }),
};
for (const b of settings.backends) {
  if (b !== 'postgres' && b !== 'pglite') throw new Error(`BENCH_BACKENDS: unknown backend ${JSON.stringify(b)}`);
}

const progress = (msg: string) =>
  process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(3)}s] ${msg}\n`);
const T0 = performance.now();

// Ctrl-C still drops the benchmark databases.
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    progress(`${sig}: dropping benchmark databases`);
    void closeAll().finally(() => process.exit(130));
  });
}

function pgliteVersion(): string {
  try {
    const pkg = fileURLToPath(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url));
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const pg = settings.backends.includes('postgres') ? await postgresVersion(settings.databaseUrl) : undefined;
  const backends = settings.backends.filter((b) => {
    if (b === 'postgres' && pg && !pg.ok) {
      notes.push(
        `PostgreSQL at ${redact(settings.databaseUrl)} is not reachable (${pg.error}): its figures are missing.`,
      );
      progress(`PostgreSQL not reachable: ${pg.error}`);
      return false;
    }
    return true;
  });

  // Other work on the machine skews everything: measure it while this process sleeps, and give
  // a busy machine (someone's test run) up to BENCH_WAIT_IDLE_SECONDS to quieten down.
  let backgroundBefore = await backgroundLoad();
  const waitUntil = performance.now() + settings.waitIdleSeconds * 1000;
  // Two quiet seconds in a row; off Linux (no /proc/stat) there is nothing to wait for.
  let quietSeconds = backgroundBefore !== null && backgroundBefore < QUIET ? 1 : 0;
  while (backgroundBefore !== null && quietSeconds < 2 && performance.now() < waitUntil) {
    if (quietSeconds === 0)
      progress(`machine ${Math.round(backgroundBefore * 100)}% busy with other work: waiting for it to quieten`);
    backgroundBefore = await backgroundLoad();
    quietSeconds = backgroundBefore !== null && backgroundBefore < QUIET ? quietSeconds + 1 : 0;
  }
  progress(
    `background load: machine ${backgroundBefore === null ? 'n/a' : `${Math.round(backgroundBefore * 100)}%`} busy ` +
      `while the benchmark was idle`,
  );

  // 1. Reference figures, measured first.
  progress('raw ECDSA P-256 sign/verify, ~1 s each');
  const crypto = rawEcdsa(1);
  progress(`raw sign ${Math.round(crypto.signPerSec)}/s, verify ${Math.round(crypto.verifyPerSec)}/s`);

  // 2. Signing throughput (and, on the first backend, the profile).
  const levels: SignLevelResult[] = [];
  const sanity: Results['signing']['sanity'] = {};
  let stages: StageCosts | null = null;
  let sequencer: SequencerProfile | null = null;
  let dbCosts: DbClientCost[] | null = null;
  let profiledOn: BackendName | null = null;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'waybill-bench-'));
  try {
    if (settings.sections.has('sign') || settings.sections.has('profile')) {
      for (const backend of backends) {
        const bench = await openBenchDatabase(backend, settings.databaseUrl);
        try {
          const services = await benchServices(bench, dataDir);
          let signed = 0;
          let lastBundle: unknown;
          if (settings.warmupSeconds > 0) {
            progress(`${backend}: warm-up ${settings.warmupSeconds} s at 16 callers`);
            const w = await signLoad(services, 16, settings.warmupSeconds);
            signed += w.latencies.length;
            lastBundle = w.lastBundle;
          }
          if (settings.sections.has('sign')) {
            for (const callers of settings.concurrency) {
              progress(`${backend}: ${callers} callers for ${settings.seconds} s`);
              const { result, lastBundle: b } = await signLevel(
                services,
                backend,
                callers,
                settings.seconds,
                crypto.signPerSec,
              );
              levels.push(result);
              signed += result.ops;
              lastBundle = b ?? lastBundle;
              progress(
                `${backend}: ${callers} callers: ${Math.round(result.opsPerSec)} statements/s, p50 ` +
                  `${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms`,
              );
            }
          }
          // The profile runs on the first backend (PostgreSQL unless unreachable or not selected).
          if (settings.sections.has('profile') && profiledOn === null) {
            profiledOn = backend;
            if (settings.profileSeconds > 0) {
              progress(
                `${backend}: instrumented run, ${SIGN_TARGET_CALLERS} callers, ${settings.profileSeconds} s, CPU ` +
                  `profiler on`,
              );
              mkdirSync(RESULTS_DIR, { recursive: true });
              const file = path.join(RESULTS_DIR, `profile-${backend}-${SIGN_TARGET_CALLERS}.cpuprofile`);
              sequencer = await profileSequencer(services, {
                callers: SIGN_TARGET_CALLERS,
                seconds: settings.profileSeconds,
                rawSignUs: crypto.signUs,
                profileFile: file,
              });
              sequencer.cpuProfile.file = path.relative(process.cwd(), file);
              signed += sequencer.statements;
            }
            // Per-batch work is amortised over the batch size seen under load (32 without a run).
            progress(`${backend}: stage costs`);
            const batch =
              sequencer && Number.isFinite(sequencer.meanBatchSize)
                ? Math.max(1, Math.round(sequencer.meanBatchSize))
                : 32;
            stages = await stageCosts(services, {
              rawSignUs: crypto.signUs,
              sampleBundle: lastBundle,
              batchAssumed: batch,
            });
            if (backend === 'postgres') {
              progress(`${backend}: database client costs, ${batch} rows per transaction`);
              dbCosts = await dbClientCosts(bench, {
                sampleBundle: lastBundle,
                rawSignUs: crypto.signUs,
                perTx: batch,
              });
            }
          }
          sanity[backend] = await sanityCheck(services, signed, lastBundle);
        } finally {
          await bench.close();
        }
      }
    }

    // 3. HTTP throughput of POST /v1/provenance: the real server as a child process, on PostgreSQL.
    const httpLevels: HttpLevelResult[] = [];
    if (settings.sections.has('http')) {
      if (!backends.includes('postgres')) {
        notes.push('The HTTP benchmark runs on PostgreSQL only: not run.');
      } else {
        const attest = levels.find((l) => l.backend === 'postgres' && l.callers === settings.httpConnections);
        for (const logLevel of settings.httpLogLevels) {
          const h = await httpLevel({
            databaseUrl: settings.databaseUrl,
            logLevel,
            connections: settings.httpConnections,
            seconds: settings.seconds,
            warmupSeconds: settings.warmupSeconds,
            rawSignPerSec: crypto.signPerSec,
            attestPerSec: attest?.opsPerSec ?? null,
            onProgress: progress,
          });
          httpLevels.push(h);
          progress(
            `http (LOG_LEVEL=${logLevel}): ${Math.round(h.reqPerSec)} req/s, p50 ${h.latencyMs.p50.toFixed(1)} ms, ` +
              `p99 ${h.latencyMs.p99.toFixed(1)} ms, non-2xx ${h.non2xx}`,
          );
        }
      }
    }

    // 4. Inclusion proofs.
    const proofBackends: ProofBackendResult[] = [];
    if (settings.sections.has('proofs')) {
      for (const backend of backends) {
        const sizes = settings.proofSizes.filter((s) => backend !== 'pglite' || s <= settings.pgliteProofMax);
        if (sizes.length === 0) continue;
        if (sizes.length < settings.proofSizes.length) {
          notes.push(
            `PGlite proofs stop at ${sizes[sizes.length - 1]!.toLocaleString('en-US')} entries ` +
              `(BENCH_PGLITE_PROOF_MAX).`,
          );
        }
        progress(
          `${backend}: populating one log per size (${sizes.map((s) => s.toLocaleString('en-US')).join(', ')} ` +
            `entries) for proofs`,
        );
        const result = await proofBench(() => openBenchDatabase(backend, settings.databaseUrl), {
          sizes,
          samples: settings.proofSamples,
          rawSignUs: crypto.signUs,
          onProgress: progress,
        });
        proofBackends.push(result);
        for (const s of result.sizes)
          progress(
            `${backend}: ${s.size} entries: proof p50 ${s.latencyMs.p50.toFixed(3)} ms, p99 ` +
              `${s.latencyMs.p99.toFixed(3)} ms`,
          );
      }
    }

    // The reference again, to show how much the machine drifted during the run.
    const signPerSecAtEnd = rawSignRate(1);
    const backgroundAfter = await backgroundLoad();

    const pgLevel = levels.find((l) => l.backend === 'postgres' && l.callers === SIGN_TARGET_CALLERS);
    // The target is judged on the first log level listed (warn by default: no per-request log line).
    const httpTarget = httpLevels[0];
    const pgProofs = proofBackends.find((b) => b.backend === 'postgres');
    const proofTargetSizes: [number, number] = [Math.min(...settings.proofSizes), Math.max(...settings.proofSizes)];
    const proofMeasured =
      pgProofs && pgProofs.ratioSizes[0] === proofTargetSizes[0] && pgProofs.ratioSizes[1] === proofTargetSizes[1]
        ? pgProofs.p50Ratio
        : null;
    if (settings.seconds < 5)
      notes.push(`BENCH_SECONDS=${settings.seconds}: shorter than the default 5 s, so noisier.`);

    const results: Results = {
      schema: 1,
      startedAt,
      durationSeconds: (performance.now() - T0) / 1000,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        platform: `${os.type()} ${os.release()} ${os.arch()}`,
        postgres: pg?.ok ? pg.version : null,
        pglite: pgliteVersion(),
        backgroundBusyBefore: backgroundBefore,
        backgroundBusyAfter: backgroundAfter,
      },
      settings: {
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        concurrency: settings.concurrency,
        backends: settings.backends,
        proofSizes: settings.proofSizes,
        pgliteProofMax: settings.pgliteProofMax,
        proofSamples: settings.proofSamples,
        profileSeconds: settings.profileSeconds,
      },
      crypto: { ...crypto, signPerSecAtEnd },
      signing: {
        levels,
        sanity,
        target: {
          description:
            `at least ${SIGN_TARGET.toLocaleString('en-US')} signed+logged statements/s at ` +
            `${SIGN_TARGET_CALLERS} callers on PostgreSQL`,
          threshold: SIGN_TARGET,
          callers: SIGN_TARGET_CALLERS,
          backend: 'postgres',
          measured: pgLevel?.opsPerSec ?? null,
          met: pgLevel ? pgLevel.opsPerSec >= SIGN_TARGET : null,
        },
      },
      profile: { stages, sequencer, dbClient: dbCosts, backend: profiledOn },
      http: {
        levels: httpLevels,
        target: {
          description:
            `at least ${HTTP_TARGET.toLocaleString('en-US')} POST /v1/provenance requests/s at ` +
            `${settings.httpConnections} connections on PostgreSQL with p99 under ${HTTP_P99_TARGET_MS} ms`,
          threshold: HTTP_TARGET,
          p99ThresholdMs: HTTP_P99_TARGET_MS,
          logLevel: httpTarget?.logLevel ?? null,
          measured: httpTarget?.reqPerSec ?? null,
          measuredP99Ms: httpTarget?.latencyMs.p99 ?? null,
          met: httpTarget
            ? httpTarget.reqPerSec >= HTTP_TARGET &&
              httpTarget.latencyMs.p99 < HTTP_P99_TARGET_MS &&
              httpTarget.non2xx === 0
            : null,
        },
      },
      proofs: {
        backends: proofBackends,
        target: {
          description:
            `PostgreSQL proof p50 at ${proofTargetSizes[1].toLocaleString('en-US')} entries within ` +
            `${PROOF_TARGET_RATIO}× of p50 at ${proofTargetSizes[0].toLocaleString('en-US')}`,
          threshold: PROOF_TARGET_RATIO,
          backend: 'postgres',
          sizes: proofTargetSizes,
          measured: proofMeasured,
          met: proofMeasured === null ? null : proofMeasured <= PROOF_TARGET_RATIO,
        },
      },
      notes,
    };
    let markdown = renderMarkdown(results);
    // Verdicts (promotion issue): PostgreSQL with 10^5 and 10^6 stored attestations (bench/verdicts.ts).
    let verdicts: Awaited<ReturnType<typeof runVerdictBench>> | null = null;
    if (settings.sections.has('verdicts')) {
      progress('verdicts: filling 10^4, 10^5 and 10^6 attestations, deciding in process and over HTTP');
      verdicts = await runVerdictBench(progress);
      markdown += `\n${verdicts.markdown}\n`;
    }
    // Kubernetes admission (issue 15): a 5-image review at 10^5 stored attestations (bench/admission.ts).
    let admission: Awaited<ReturnType<typeof runAdmissionBench>> | null = null;
    if (settings.sections.has('admission')) {
      progress('admission: filling 10^5 attestations, verdicts and deployments, then reviewing');
      admission = await runAdmissionBench(progress);
      markdown += `\n${admission.markdown}\n`;
    }
    // The web UI (issue #14): each page's server render time at 10^5 attestations (bench/ui.ts).
    let ui: Awaited<ReturnType<typeof runUiBench>> | null = null;
    if (settings.sections.has('ui')) {
      if (!backends.includes('postgres')) notes.push('The web UI benchmark runs on PostgreSQL only: not run.');
      else {
        progress('ui: filling 10^5 attestations, then rendering each page');
        ui = await runUiBench(progress);
        markdown += `\n${ui.markdown}\n`;
      }
    }
    // Cold start: `npm start` on an empty PGlite data directory, spawn -> /readyz (bench/coldstart.ts).
    let cold: ColdStartResult | null = null;
    if (settings.sections.has('coldstart')) {
      progress(`cold start: ${settings.coldStartRuns} runs on empty data directories`);
      cold = await coldStart(settings.coldStartRuns, progress);
      markdown += `\n${coldStartMarkdown(cold, crypto.signPerSec)}\n`;
    }
    markdown += `\n${issueTable(results, verdicts, cold, crypto.signPerSec)}\n`;
    // Replay (issue 16): 10^4 past verdicts under candidate policies (bench/replay.ts).
    let replay: Awaited<ReturnType<typeof runReplayBench>> | null = null;
    if (settings.sections.has('replay')) {
      replay = await runReplayBench(progress);
      markdown += `\n${replay.markdown}\n`;
    }
    // Cloudflare Workers under `wrangler dev` next to the Node server, same load (bench/worker.ts).
    let worker: Awaited<ReturnType<typeof runWorkerBench>> | null = null;
    if (settings.sections.has('worker')) {
      if (!backends.includes('postgres')) notes.push('The Workers benchmark runs on PostgreSQL only: not run.');
      else {
        progress('worker: Node and wrangler dev, one after the other');
        worker = await runWorkerBench(
          {
            databaseUrl: settings.databaseUrl,
            connections: settings.workerConnections,
            seconds: settings.seconds,
            warmupSeconds: settings.warmupSeconds,
          },
          progress,
        );
        markdown += `\n${worker.markdown}`;
      }
    }
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(
      path.join(RESULTS_DIR, 'latest.json'),
      `${JSON.stringify(
        {
          ...results,
          verdicts: verdicts && { rows: verdicts.rows, http: verdicts.httpRows, rawSignsPerSec: verdicts.raw },
          admission: admission && { row: admission.row, rawSignsPerSec: admission.raw },
          ui: ui && { rows: ui.rows, rawSignsPerSec: ui.raw },
          coldStart: cold,
          replay: replay && { ...replay, markdown: undefined },
          worker: worker && { rows: worker.rows, sanity: worker.sanity },
        },
        null,
        2,
      )}\n`,
    );
    writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdown);
    process.stdout.write(markdown);
    progress(
      `done in ${results.durationSeconds.toFixed(0)} s; wrote ` +
        `${path.relative(process.cwd(), RESULTS_DIR)}/latest.{json,md}`,
    );
    const failedSanity =
      Object.values(sanity).some((p) => p && p.length > 0) || (worker !== null && worker.sanity.length > 0);
    const failedProofs = proofBackends.some((b) => b.sizes.some((s) => s.verifyFailures > 0));
    const errors =
      levels.some((l) => l.errors > 0) || httpLevels.some((h) => h.sanity.length > 0 || h.errors > 0 || h.timeouts > 0);
    if (failedSanity || failedProofs || errors) {
      progress('correctness checks FAILED (see the report): exit code 1');
      process.exitCode = 1;
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The table of issue #17, every row from this run, with its ratio to this run's raw sign rate. */
function issueTable(
  r: Results,
  verdicts: Awaited<ReturnType<typeof runVerdictBench>> | null,
  cold: ColdStartResult | null,
  raw: number,
): string {
  const none = '| not measured in this run |  |  |';
  const ratio = (perSec: number) => (perSec / raw).toFixed(4);
  const sign = r.signing.levels.find((l) => l.backend === 'postgres' && l.callers === SIGN_TARGET_CALLERS);
  const http = r.http?.levels[0];
  const v6 = verdicts?.rows.find((v) => v.stored === 1_000_000) ?? verdicts?.rows.at(-1);
  const h6 = verdicts?.httpRows.at(-1);
  const rss = verdicts?.httpRows.filter((h) => h.serverRssMb !== null) ?? [];
  const row = (figure: string, target: string, cells: string) => `| ${figure} | ${target} ${cells}`;
  return [
    '### Issue #17: every figure of its table, this run',
    '',
    `Ratios are to this run's raw ECDSA P-256 sign rate (${fmtInt(raw)}/s; the verdict rows to the raw rate the ` +
      `verdict section measured, ${verdicts ? fmtInt(verdicts.raw) : 'n/a'}/s).`,
    '',
    '| figure | target | measured | ratio to raw sign rate | met |',
    '| :--- | :--- | ---: | ---: | :---: |',
    row(
      'signed+logged statements/s, 64 callers, PostgreSQL',
      '≥ 3,500',
      sign
        ? `| ${fmtInt(sign.opsPerSec)} | ${ratio(sign.opsPerSec)} | ${sign.opsPerSec >= 3500 ? 'yes' : 'no'} |`
        : none,
    ),
    row(
      '`POST /v1/provenance` over HTTP, 64 connections',
      '≥ 2,000 req/s, p99 < 60 ms',
      http
        ? `| ${fmtInt(http.reqPerSec)} req/s, p99 ${fmtMs(http.latencyMs.p99)} ms | ${ratio(http.reqPerSec)} | ` +
            `${http.reqPerSec >= 2000 && http.latencyMs.p99 < 60 ? 'yes' : 'no'} |`
        : none,
    ),
    row(
      `verdicts/s at ${v6 ? fmtInt(v6.stored) : '10^6'} stored attestations, 16 callers`,
      '≥ 500/s',
      v6
        ? `| ${fmtInt(v6.perSec)}/s, p99 ${fmtMs(v6.p99)} ms | ${v6.ratio.toFixed(4)} | ` +
            `${v6.perSec >= 500 ? 'yes' : 'no'} |`
        : none,
    ),
    row(
      '`POST /v1/verdicts` over HTTP at a fixed 250/s, open loop, 16 connections' +
        (h6 ? `, ${fmtInt(h6.stored)} stored` : ''),
      'p99 < 20 ms',
      h6
        ? `| ${fmtInt(h6.perSec)}/s, p50 ${fmtMs(h6.p50)} ms, p99 ${fmtMs(h6.p99)} ms | ` +
            `${(h6.perSec / verdicts!.raw).toFixed(4)} | ${h6.p99 < 20 && h6.non2xx === 0 ? 'yes' : 'no'} |`
        : none,
    ),
    row(
      'cold `npm start` to `/readyz`, empty data dir, PGlite',
      `< ${fmtInt(COLD_START_TARGET_MS)} ms`,
      cold
        ? `| ${fmtMs(cold.medianMs)} ms (median) | ${fmtInt((cold.medianMs / 1000) * raw)} raw signs | ` +
            `${cold.medianMs < COLD_START_TARGET_MS ? 'yes' : 'no'} |`
        : none,
    ),
    row(
      'server resident memory by attestations stored',
      'measured, flat',
      rss.length > 0
        ? `| ${rss.map((h) => `${fmtInt(h.stored)}: ${h.serverRssMb!.toFixed(0)} MB`).join(', ')} |  | ` +
            `${rss.length > 1 && rss.at(-1)!.serverRssMb! / rss[0]!.serverRssMb! < 1.25 ? 'flat' : 'see above'} |`
        : none,
    ),
  ].join('\n');
}

/** Whole-machine busy share over 1 s while this process sleeps: everyone else's load. */
async function backgroundLoad(): Promise<number | null> {
  const end = cpuWindow();
  await sleep(1000);
  return end().machineBusy;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

try {
  await main();
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
} finally {
  await closeAll();
}
