// Admission benchmark (issue 15): latency of POST /v1/admission/kubernetes's work
// (AdmissionService.review: read the AdmissionReview, map the namespace to its environment, the
// two indexed reads of allow verdicts and deployments, record the decision) for a Pod with 5
// images, on PostgreSQL with 10^5 stored attestations, 10^5 verdicts and 3·10^4 deployments.
// Run alone: `npx node bench/admission.ts` (BENCH_SECONDS).
//
// Rows are SQL-generated (bench/verdicts.ts's filler for attestations): admission reads the
// verdict and deployment rows, not bundles, so no row needs to be signed.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { parseConfig } from '../src/config.ts';
import { wireServices } from '../src/deps.ts';
import { createLogger } from '../src/logger.ts';
import { closeAll, openBenchDatabase } from './db.ts';
import { fmtInt, fmtMs, percentile } from './stats.ts';
import { fill, rawSignRate } from './verdicts.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const STORED = 100_000;
const IMAGES = 5;
const TARGET_P99_MS = 10;

/** 10^5 verdicts (a third each dev, staging, production; allow, unexpired) and 3·10^4 deployments. */
async function seedPromotion(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`
      insert into verdicts (id, digest, environment, decision, policy_digest, result, vsa_attestation_id,
        created_at, expires_at)
      select 'vd_b' || g, 'sha256:' || md5(g::text) || md5((g % 100000)::text),
             (array['dev','staging','production'])[1 + g % 3], 'allow', md5('p'), '{}'::jsonb,
             md5('a' || g::text) || md5('b' || g::text), now(), now() + interval '7 days'
      from generate_series(0, ${STORED - 1}) g`);
    await sql.unsafe(`
      insert into deployments (id, digest, environment, verdict_id, attestation_id, deployer, created_at)
      select 'dp_b' || g, 'sha256:' || md5(g::text) || md5((g % 100000)::text),
             (array['dev','staging','production'])[1 + g % 3], 'vd_b' || g,
             md5('a' || g::text) || md5('b' || g::text), 'https://cd.example.com/bench', now()
      from generate_series(0, ${STORED - 1}, 10) g`);
    await sql.unsafe('analyze verdicts; analyze deployments');
  } finally {
    await sql.end();
  }
}

/** A Pod create review in namespace prod running `images`. */
function review(images: string[]) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'prod',
      name: 'app-1',
      operation: 'CREATE',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'app-1', namespace: 'prod' },
        spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
      },
    },
  };
}

export async function runAdmissionBench(log: (s: string) => void = console.log) {
  const raw = rawSignRate();
  const db = await openBenchDatabase('postgres', BASE);
  try {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-ba-'));
    writeFileSync(path.join(dir, 'admission.yaml'), 'environments:\n  production: { namespaces: [prod, prod-*] }\n');
    const config = parseConfig({
      WAYBILL_DATA_DIR: dir,
      WAYBILL_ISSUER: 'https://waybill.bench',
      WAYBILL_ADMISSION_CONFIG: path.join(dir, 'admission.yaml'),
      LOG_LEVEL: 'silent',
    });
    const s = await wireServices(config, db.database, createLogger('silent'));
    await fill(db.url!, 0, STORED);
    await seedPromotion(db.url!);
    // Production digests of the filler: g % 3 == 2 has an unexpired allow for production; of those,
    // g % 10 == 0 (g = 20, 50, ...) were also deployed there. Pick 5 allowed, 2 of them deployed.
    const digest = (g: number) => `ghcr.io/example/app-${g}@sha256:${md5(String(g))}${md5(String(g % 100_000))}`;
    const pods: string[][] = [];
    for (let i = 0; i < 64; i++) {
      const base = 2 + 3 * ((i * 997) % 30_000);
      pods.push([digest(base), digest(base + 3), digest(base + 6), digest(20 + 30 * i), digest(50 + 30 * i)]);
    }
    for (let i = 0; i < 200; i++) await s.admission.review(review(pods[i % pods.length]!), 'bench');
    const first = await s.admission.review(review(pods[0]!), 'bench');
    if (!first.response.allowed) throw new Error(`admission bench: expected an allow, got ${JSON.stringify(first)}`);
    const latencies: number[] = [];
    const until = performance.now() + SECONDS * 1000;
    const started = performance.now();
    let i = 0;
    while (performance.now() < until) {
      const body = review(pods[i++ % pods.length]!);
      const t0 = performance.now();
      await s.admission.review(body, 'bench');
      latencies.push(performance.now() - t0);
    }
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const row = {
      stored: STORED,
      images: IMAGES,
      reviews: latencies.length,
      perSec: latencies.length / elapsed,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      ratio: latencies.length / elapsed / raw,
    };
    log(
      `admission at ${fmtInt(STORED)} stored attestations: ${fmtInt(row.perSec)} reviews/s, p50 ` +
        `${fmtMs(row.p50)} ms, p99 ${fmtMs(row.p99)} ms`,
    );
    const lines = [
      '### Admission (`AdmissionService.review`: a 5-image Pod review, two indexed reads, the decision recorded), ' +
        'PostgreSQL',
      '',
      `One caller, ${SECONDS} s, ${fmtInt(STORED)} stored attestations, ${fmtInt(STORED)} verdicts and ` +
        `${fmtInt(STORED / 10)} deployments (SQL-generated, see bench/admission.ts); every review is allowed ` +
        '(3 images by an unexpired allow verdict, 2 also deployed). ' +
        `Raw ECDSA P-256 signs/s in this run: ${fmtInt(raw)}.`,
      '',
      '| stored attestations | images | reviews | reviews/s | ÷ raw signs/s | p50 ms | p99 ms |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${fmtInt(row.stored)} | ${row.images} | ${fmtInt(row.reviews)} | ${fmtInt(row.perSec)} | ` +
        `${row.ratio.toFixed(4)} | ${fmtMs(row.p50)} | ${fmtMs(row.p99)} |`,
      '',
      `Target: p99 under ${TARGET_P99_MS} ms for 5 images at 10^5: **${row.p99 < TARGET_P99_MS ? 'met' : 'missed'}** ` +
        `(p99 ${fmtMs(row.p99)} ms).`,
    ];
    return { row, raw, markdown: lines.join('\n') };
  } finally {
    await db.close();
  }
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

if (import.meta.main) {
  try {
    const r = await runAdmissionBench();
    console.log(`\n${r.markdown}`);
  } finally {
    await closeAll();
  }
}
