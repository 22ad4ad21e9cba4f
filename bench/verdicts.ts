// Verdict benchmark (promotion issue): latency and throughput of POST-/v1/verdicts' work
// (VerdictService.decide: gather and re-verify evidence, evaluate the policy, sign and log the
// VSA, store the verdict) on PostgreSQL with 10^5 and 10^6 stored attestations spread over 10^5
// digests. Run alone: `npx node bench/verdicts.ts` (BENCH_SECONDS, BENCH_VERDICT_SIZES=100000,1000000).
//
// Filler rows are inserted with SQL (generate_series), not signed: signing 10^6 statements would
// take half an hour here. They are realistic in size and indexing (attestation + subject rows,
// a provenance-sized statement) but are not in the log and never verified; only the digests the
// verdicts ask about carry real, signed, logged chains.
import { sign as ecdsaSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { parseConfig } from '../src/config.ts';
import { wireServices } from '../src/deps.ts';
import { createLogger } from '../src/logger.ts';
import { closeAll, openBenchDatabase } from './db.ts';
import { api, freePort, type Server, startServer } from './http.ts';
import { fmtInt, fmtMs, percentile, sleep, summarize } from './stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SIZES = (process.env.BENCH_VERDICT_SIZES ?? '10000,100000,1000000').split(',').map(Number);
/** The open-loop HTTP run: a fixed request rate over a fixed number of connections. */
const HTTP_RATE = Number(process.env.BENCH_VERDICT_RATE ?? 250);
const HTTP_CONNECTIONS = 16;
const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CALLERS = 16;
const TARGET_DIGESTS = 200;

const hex = (n = 32) => randomBytes(n).toString('hex');

export function rawSignRate(): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const data = randomBytes(64);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 1000) {
    for (let i = 0; i < 50; i++) ecdsaSign('sha256', data, privateKey);
    n += 50;
  }
  return n / ((performance.now() - start) / 1000);
}

/** Fill `attestations` + `attestation_subjects` up to `total` rows over 10^5 digests. */
export async function fill(url: string, from: number, to: number): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let start = from; start < to; start += 100_000) {
      const end = Math.min(to, start + 100_000);
      await sql.unsafe(`
        with s as (
          select g, md5(g::text) || md5((g % 100000)::text) as digest
          from generate_series(${start}, ${end - 1}) g
        )
        insert into attestations (id, predicate_type, statement, statement_sha256, bundle, signer_subject,
          signer_issuer, environment, origin, log_index)
        select md5('a' || g::text) || md5('b' || g::text),
               case when g % 3 = 0 then 'https://in-toto.io/attestation/test-result/v0.1'
                    else 'https://slsa.dev/provenance/v1' end,
               jsonb_build_object(
                 '_type', 'https://in-toto.io/Statement/v1',
                 'subject', jsonb_build_array(
                   jsonb_build_object('name', 'app-' || (g % 100000), 'digest', jsonb_build_object('sha256', digest))),
                 'predicateType', 'https://slsa.dev/provenance/v1',
                 'predicate', jsonb_build_object(
                   'buildDefinition', jsonb_build_object(
                     'buildType', 'https://example.com/b',
                     'externalParameters', jsonb_build_object('ref', 'refs/heads/main')),
                   'runDetails', jsonb_build_object(
                     'builder', jsonb_build_object('id', 'https://ci.example.com/b')))),
               md5('s' || g::text) || md5('t' || g::text),
               jsonb_build_object('mediaType', 'filler', 'pad', repeat('x', 3000)),
               'https://ci.example.com/filler', 'https://waybill.bench',
               case when g % 3 = 0 then 'staging' else null end, 'signed', 1000000000 + g
        from s`);
      await sql.unsafe(`
        insert into attestation_subjects (attestation_id, digest, name)
        select md5('a' || g::text) || md5('b' || g::text),
               'sha256:' || md5(g::text) || md5((g % 100000)::text),
               'app-' || (g % 100000)
        from generate_series(${start}, ${end - 1}) g`);
    }
    await sql.unsafe('analyze attestations; analyze attestation_subjects');
  } finally {
    await sql.end();
  }
}

/** Resident set size of a process in MB (/proc/<pid>/status VmRSS), null off Linux. */
function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export interface HttpVerdictRow {
  stored: number;
  rate: number;
  connections: number;
  ok: number;
  perSec: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  /** The server's resident memory after the run (MB). */
  serverRssMb: number | null;
}

/** POST /v1/verdicts at a fixed rate (open loop) over `connections`, for `seconds`. */
async function openLoop(server: Server, token: string, targets: string[], seconds: number) {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const instance = autocannon({
    url: server.url,
    connections: HTTP_CONNECTIONS,
    overallRate: HTTP_RATE,
    duration: seconds,
    timeout: 30,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        path: '/v1/verdicts',
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ digest: targets[next++ % targets.length], environment: 'staging' }),
        }),
      },
    ],
  });
  instance.on('response', (_c: unknown, _s: number, _b: number, ms: number) => latencies.push(ms));
  const result = await instance;
  return { result, latencies, elapsedMs: performance.now() - t0 };
}

export async function runVerdictBench(log: (s: string) => void = console.log) {
  const raw = rawSignRate();
  const db = await openBenchDatabase('postgres', BASE);
  const rows: Array<{
    stored: number;
    verdicts: number;
    perSec: number;
    p50: number;
    p99: number;
    ratio: number;
    allow: number;
    /** The VSA's log append alone (queue + its batch), from the log's stats hook: p50 and p99, ms. */
    appendP50: number;
    appendP99: number;
  }> = [];
  const httpRows: HttpVerdictRow[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wb-bv-'));
  let server: Server | undefined;
  try {
    const config = parseConfig({
      WAYBILL_DATA_DIR: dataDir,
      WAYBILL_ISSUER: 'https://waybill.bench',
      LOG_LEVEL: 'silent',
    });
    const s = await wireServices(config, db.database, createLogger('silent'));
    const caller = {
      tokenId: 'bench',
      subject: 'https://cd.example.com/bench',
      roles: ['deployer' as const],
      environments: null,
      builderIds: null,
      issuer: null,
    };

    // Real chains for the digests the verdicts ask about: provenance + a deployment to dev +
    // a passing dev test, so staging verdicts evaluate every rule (and allow).
    const targets: string[] = [];
    for (let i = 0; i < TARGET_DIGESTS; i++) {
      const d = hex();
      const digest = `sha256:${d}`;
      await s.attest.sign(
        {
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'app', digest: { sha256: d } }],
          predicateType: 'https://slsa.dev/provenance/v1',
          predicate: {
            buildDefinition: { buildType: 'https://example.com/b', externalParameters: {} },
            runDetails: { builder: { id: 'https://ci.example.com/b' } },
          },
        },
        'https://ci.example.com/build',
      );
      const v = await s.verdicts.decide(digest, 'dev', caller);
      await s.deployments.deploy({ digest, environment: 'dev', verdictId: v.id }, caller);
      await s.attest.sign(
        {
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'app', digest: { sha256: d } }],
          predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
          predicate: {
            result: 'PASSED',
            configuration: [{ name: 'environment', uri: 'https://waybill.bench/environments/dev' }],
          },
        },
        'https://ci.example.com/test',
        { environment: 'dev' },
      );
      targets.push(digest);
    }

    // The real server on the same database and keys, for the open-loop HTTP run and its memory.
    const adminToken = `wb_bench_${randomBytes(32).toString('base64url')}`;
    server = await startServer(
      {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? os.homedir(),
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        DATABASE_URL: db.url!,
        WAYBILL_DATA_DIR: dataDir,
        WAYBILL_ISSUER: 'https://waybill.bench',
        LOG_LEVEL: 'warn',
        WAYBILL_ADMIN_TOKEN: adminToken,
      },
      path.join(dataDir, 'server.log'),
    );
    const { token } = await api<{ token: string }>(`${server.url}/v1/tokens`, adminToken, 'POST', {
      subject: caller.subject,
      roles: ['deployer'],
    });

    let filled = 0;
    for (const size of SIZES) {
      await fill(db.url!, filled, size);
      filled = size;
      // Warm-up: every target once, 16 at a time, so the verification cache holds their evidence as a
      // running server's would (up to 2026-12 only 50 of the 200 were warmed, and the measured run
      // verified the other 150 digests' evidence for the first time).
      for (let i = 0; i < targets.length; i += CALLERS)
        await Promise.all(targets.slice(i, i + CALLERS).map((d) => s.verdicts.decide(d, 'staging', caller)));
      const latencies: number[] = [];
      const appends: number[] = [];
      // The log's stats hook (src/tlog/stats.ts): each VSA append's latency, queue included.
      const stopObserving = s.log.observe({ batch: () => {}, append: (ms) => appends.push(ms) });
      let allow = 0;
      let next = 0;
      const until = performance.now() + SECONDS * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CALLERS }, async () => {
          while (performance.now() < until) {
            const digest = targets[next++ % targets.length]!;
            const t0 = performance.now();
            const v = await s.verdicts.decide(digest, 'staging', caller);
            latencies.push(performance.now() - t0);
            if (v.decision === 'allow') allow++;
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      stopObserving();
      latencies.sort((a, b) => a - b);
      appends.sort((a, b) => a - b);
      const perSec = latencies.length / elapsed;
      rows.push({
        stored: size,
        verdicts: latencies.length,
        perSec,
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99),
        ratio: perSec / raw,
        allow,
        appendP50: percentile(appends, 0.5),
        appendP99: percentile(appends, 0.99),
      });
      log(
        `verdicts at ${fmtInt(size)} stored attestations: ${fmtInt(perSec)}/s, p50 ` +
          `${fmtMs(percentile(latencies, 0.5))} ms, p99 ${fmtMs(percentile(latencies, 0.99))} ms ` +
          `(${allow}/${latencies.length} allow)`,
      );

      // Open loop over HTTP: warm-up (every target once, closed loop, as a running server would have its
      // verification cache), then the measured run.
      let w = 0;
      await Promise.all(
        Array.from({ length: HTTP_CONNECTIONS }, async () => {
          while (w < targets.length) {
            const digest = targets[w++]!;
            await api(`${server!.url}/v1/verdicts`, token, 'POST', { digest, environment: 'staging' });
          }
        }),
      );
      await openLoop(server, token, targets, 1);
      await sleep(300);
      const h = await openLoop(server, token, targets, SECONDS);
      await sleep(300);
      const sum = summarize(h.latencies);
      const row: HttpVerdictRow = {
        stored: size,
        rate: HTTP_RATE,
        connections: HTTP_CONNECTIONS,
        ok: h.result['2xx'],
        perSec: (h.result['2xx'] * 1000) / h.elapsedMs,
        p50: sum.p50,
        p99: sum.p99,
        max: sum.max,
        non2xx: h.result.non2xx,
        errors: h.result.errors + h.result.timeouts,
        serverRssMb: rssMb(server.child.pid),
      };
      httpRows.push(row);
      log(
        `POST /v1/verdicts at ${HTTP_RATE}/s (open loop), ${fmtInt(size)} stored: ${fmtInt(row.perSec)}/s, p50 ` +
          `${fmtMs(row.p50)} ms, p99 ${fmtMs(row.p99)} ms, non-2xx ${row.non2xx}, server RSS ` +
          `${row.serverRssMb?.toFixed(0)} MB`,
      );
    }
  } finally {
    await server?.stop();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const at1m = rows.find((r) => r.stored === 1_000_000);
  const lines = [
    '### Verdicts (`VerdictService.decide`: evidence, re-verification, policy, signed+logged VSA, stored ' +
      'verdict), PostgreSQL',
    '',
    `${CALLERS} concurrent callers, ${SECONDS} s per size, staging verdicts over ${TARGET_DIGESTS} digests with real ` +
      `chains; the other rows are SQL-generated filler (see bench/verdicts.ts). Raw ECDSA P-256 signs/s in this run: ` +
      `${fmtInt(raw)}.`,
    '',
    '| stored attestations | verdicts | verdicts/s | ÷ raw signs/s | p50 ms | p99 ms | allow | ' +
      'VSA log append p50 ms | VSA log append p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${fmtInt(r.stored)} | ${fmtInt(r.verdicts)} | ${fmtInt(r.perSec)} | ${r.ratio.toFixed(4)} | ` +
        `${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.allow} | ${fmtMs(r.appendP50)} | ${fmtMs(r.appendP99)} |`,
    ),
    '',
    at1m
      ? `Target: p99 under 20 ms and at least 500 verdicts/s at 10^6: ` +
        `**${at1m.p99 < 20 && at1m.perSec >= 500 ? 'met' : 'missed'}** (${fmtInt(at1m.perSec)}/s, p99 ` +
        `${fmtMs(at1m.p99)} ms).`
      : 'Target at 10^6: not measured in this run.',
    '',
    `#### \`POST /v1/verdicts\` over HTTP at a fixed ${HTTP_RATE}/s (open loop, ${HTTP_CONNECTIONS} connections), ` +
      "and the server's resident memory",
    '',
    `The real server (\`node src/cli/bin.ts serve\`, \`LOG_LEVEL=warn\`) on the same database and keys, one process ` +
      `for all sizes; autocannon sends ${HTTP_RATE} requests/s whatever the latency (open loop) for ${SECONDS} s ` +
      "after a 1 s warm-up; `RSS` is the server's resident memory (VmRSS) after each size's run.",
    '',
    '| stored attestations | requests/s | ÷ raw signs/s | p50 ms | p99 ms | max ms | non-2xx | errors | ' +
      'server RSS MB |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...httpRows.map(
      (r) =>
        `| ${fmtInt(r.stored)} | ${fmtInt(r.perSec)} | ${(r.perSec / raw).toFixed(4)} | ${fmtMs(r.p50)} | ` +
        `${fmtMs(r.p99)} | ${fmtMs(r.max)} | ${r.non2xx} | ${r.errors} | ${r.serverRssMb?.toFixed(0) ?? ''} |`,
    ),
    '',
    ...httpTargetLines(httpRows),
  ];
  return { rows, httpRows, raw, markdown: lines.join('\n') };
}

function httpTargetLines(rows: HttpVerdictRow[]): string[] {
  const top = rows.at(-1);
  if (!top) return ['Open-loop target: not measured in this run.'];
  const rss = rows.filter((r) => r.serverRssMb !== null);
  const first = rss[0]?.serverRssMb ?? null;
  const last = rss.at(-1)?.serverRssMb ?? null;
  const flat = first !== null && last !== null ? last / first : null;
  return [
    `Target: p99 under 20 ms at ${HTTP_RATE}/s open loop at ${fmtInt(top.stored)} stored: ` +
      `**${top.p99 < 20 && top.non2xx === 0 ? 'met' : 'missed'}** (p99 ${fmtMs(top.p99)} ms).`,
    flat === null
      ? 'Server RSS: not measured (no /proc).'
      : `Server RSS from ${fmtInt(rss[0]!.stored)} to ${fmtInt(rss.at(-1)!.stored)} stored attestations: ` +
        `${first!.toFixed(0)} → ${last!.toFixed(0)} MB (×${flat.toFixed(2)}): ` +
        `**${flat < 1.25 ? 'flat' : 'not flat'}** in the number stored.`,
  ];
}

if (import.meta.main) {
  try {
    const r = await runVerdictBench();
    console.log(`\n${r.markdown}`);
  } finally {
    await closeAll();
  }
}
