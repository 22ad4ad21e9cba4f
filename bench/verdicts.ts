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
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { parseConfig } from '../src/config.ts';
import { wireServices } from '../src/deps.ts';
import { createLogger } from '../src/logger.ts';
import { closeAll, openBenchDatabase } from './db.ts';
import { fmtInt, fmtMs, percentile } from './stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SIZES = (process.env.BENCH_VERDICT_SIZES ?? '100000,1000000').split(',').map(Number);
const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CALLERS = 16;
const TARGET_DIGESTS = 200;

const hex = (n = 32) => randomBytes(n).toString('hex');

function rawSignRate(): number {
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
  }> = [];
  try {
    const config = parseConfig({
      WAYBILL_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'wb-bv-')),
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

    let filled = 0;
    for (const size of SIZES) {
      await fill(db.url!, filled, size);
      filled = size;
      // warm-up (fills the verification cache as a running server would have it)
      await Promise.all(targets.slice(0, 50).map((d) => s.verdicts.decide(d, 'staging', caller)));
      const latencies: number[] = [];
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
      latencies.sort((a, b) => a - b);
      const perSec = latencies.length / elapsed;
      rows.push({
        stored: size,
        verdicts: latencies.length,
        perSec,
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99),
        ratio: perSec / raw,
        allow,
      });
      log(
        `verdicts at ${fmtInt(size)} stored attestations: ${fmtInt(perSec)}/s, p50 ` +
          `${fmtMs(percentile(latencies, 0.5))} ms, p99 ${fmtMs(percentile(latencies, 0.99))} ms ` +
          `(${allow}/${latencies.length} allow)`,
      );
    }
  } finally {
    await db.close();
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
    '| stored attestations | verdicts | verdicts/s | ÷ raw signs/s | p50 ms | p99 ms | allow |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${fmtInt(r.stored)} | ${fmtInt(r.verdicts)} | ${fmtInt(r.perSec)} | ${r.ratio.toFixed(4)} | ` +
        `${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.allow} |`,
    ),
    '',
    at1m
      ? `Target: p99 under 20 ms and at least 500 verdicts/s at 10^6: ` +
        `**${at1m.p99 < 20 && at1m.perSec >= 500 ? 'met' : 'missed'}** (${fmtInt(at1m.perSec)}/s, p99 ` +
        `${fmtMs(at1m.p99)} ms).`
      : 'Target at 10^6: not measured in this run.',
  ];
  return { rows, raw, markdown: lines.join('\n') };
}

if (import.meta.main) {
  try {
    const r = await runVerdictBench();
    console.log(`\n${r.markdown}`);
  } finally {
    await closeAll();
  }
}
