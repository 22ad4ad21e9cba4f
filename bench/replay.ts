// Replay benchmark (issue 16): POST /v1/policies/replay's work (ReplayService.replay) over 10^4
// past verdicts on PostgreSQL, against the raw ECDSA sign rate of the same run. Target: 10^4
// verdicts in under 10 s. Alone: `npx node bench/replay.ts` (BENCH_REPLAY_VERDICTS=10000).
//
// The history is inserted with SQL, not signed (replay reads stored rows and verifies no bundle):
// 5,000 digests, each with provenance, a PASSED dev and staging test result, deployments to dev
// and staging (every tenth also a FAILED staging result), and a staging and a production verdict.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { parseConfig } from '../src/config.ts';
import { wireServices } from '../src/deps.ts';
import { createLogger } from '../src/logger.ts';
import { rawSignRate } from './crypto.ts';
import { closeAll, openBenchDatabase } from './db.ts';

const VERDICTS = Number(process.env.BENCH_REPLAY_VERDICTS ?? 10_000);
const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ISSUER = 'https://waybill.bench';
const TARGET_MS = 10_000;

export interface ReplayBenchResult {
  verdicts: number;
  attestations: number;
  ms: number;
  perSecond: number;
  flips: number;
  rawSignsPerSec: number;
  markdown: string;
}

async function seed(url: string, digests: number, at: { evidence: Date; verdicts: Date }): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const env = (e: string) => `'${ISSUER}/environments/${e}'`;
  try {
    // kind: 0 provenance, 1 dev PASSED, 2 staging PASSED, 3 deploy dev, 4 deploy staging, 5 staging FAILED.
    await sql.unsafe(`
      with d as (select g, md5('d' || g) || md5('e' || g) as hex from generate_series(0, ${digests - 1}) g),
      k as (select d.g, d.hex, k from d cross join generate_series(0, 5) k where k < 5 or d.g % 10 = 0),
      rows as (
        select g, hex, k, md5(g || '/' || k) || md5(k || '/' || g) as id,
          case when k = 0 then 'https://slsa.dev/provenance/v1'
               when k in (1, 2, 5) then 'https://in-toto.io/attestation/test-result/v0.1'
               else 'https://waybill.dev/deployment/v1' end as type,
          case when k in (1, 3) then 'dev' when k in (2, 4, 5) then 'staging' else null end as environment
        from k
      )
      insert into attestations (id, predicate_type, statement, statement_sha256, bundle, signer_subject,
        signer_issuer, environment, origin, log_index, created_at)
      select id, type,
        jsonb_build_object('_type', 'https://in-toto.io/Statement/v1',
          'subject', jsonb_build_array(jsonb_build_object('name', 'app', 'digest', jsonb_build_object('sha256', hex))),
          'predicateType', type,
          'predicate', case
            when k = 0 then jsonb_build_object('buildDefinition', jsonb_build_object('buildType', 'b'),
              'runDetails', jsonb_build_object('builder', jsonb_build_object('id', 'https://ci.example.com/b')))
            when k in (1, 2, 5) then jsonb_build_object('result', case when k = 5 then 'FAILED' else 'PASSED' end,
              'configuration', jsonb_build_array(jsonb_build_object('name', 'environment',
                'uri', case when k = 1 then ${env('dev')} else ${env('staging')} end)))
            else jsonb_build_object('environment', environment, 'deployer', 'https://cd.example.com/d',
              'deployedAt', '${at.evidence.toISOString()}',
              'verdict', jsonb_build_object('digest', jsonb_build_object('sha256', md5(id) || md5(hex))))
          end),
        md5(id) || md5(id || 'x'), '{}'::jsonb,
        case when k in (3, 4) then 'https://cd.example.com/d' else 'https://ci.example.com/pipelines/build' end,
        '${ISSUER}', environment, 'signed', g * 6 + k, '${at.evidence.toISOString()}'::timestamptz
      from rows`);
    await sql.unsafe(`
      insert into attestation_subjects (attestation_id, digest, name)
      select a.id, 'sha256:' || (a.statement->'subject'->0->'digest'->>'sha256'), 'app' from attestations a`);
    await sql.unsafe(`
      insert into verdicts (id, digest, environment, decision, policy_digest, result, created_at, expires_at)
      select 'vd_' || e || '_' || g, 'sha256:' || md5('d' || g) || md5('e' || g), e,
        case when e = 'production' and g % 10 = 0 then 'deny' else 'allow' end, 'bench',
        '{"rules": [], "reasons": [], "policy": null, "requestedBy": "bench", "exception": null}'::jsonb,
        '${at.verdicts.toISOString()}'::timestamptz, null
      from generate_series(0, ${digests - 1}) g cross join (values ('staging'), ('production')) v(e)`);
    const counted = await sql<Array<{ n: string }>>`select count(*)::text as n from attestations`;
    return Number(counted[0]!.n);
  } finally {
    await sql.end();
  }
}

export async function runReplayBench(progress: (s: string) => void = () => {}): Promise<ReplayBenchResult> {
  const digests = Math.ceil(VERDICTS / 2);
  const handle = await openBenchDatabase('postgres', BASE);
  try {
    const now = Date.now();
    const at = { evidence: new Date(now - 2 * 3_600_000), verdicts: new Date(now - 3_600_000) };
    progress(`replay: seeding ${digests} digests, ${digests * 2} verdicts`);
    const attestations = await seed(handle.url!, digests, at);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'waybill-bench-replay-'));
    const config = parseConfig({ WAYBILL_DATA_DIR: dataDir, WAYBILL_ISSUER: ISSUER, LOG_LEVEL: 'silent' });
    const services = await wireServices(config, handle.database, createLogger('silent'));
    // A stricter production: tests must come from a QA pipeline (every production allow flips).
    const production = readFileSync('policies/production.yaml', 'utf8').replace(
      '    where: predicate.result == "PASSED"',
      '    where: predicate.result == "PASSED" && signer.subject.endsWith("/qa")',
    );
    const files = { 'staging.yaml': readFileSync('policies/staging.yaml', 'utf8'), 'production.yaml': production };
    const since = new Date(now - 3 * 3_600_000);
    const until = new Date(now);
    await services.replay.replay(files, since, until); // warm-up (CEL, query plans)
    const raw = rawSignRate();
    const start = performance.now();
    const report = await services.replay.replay(files, since, until);
    const ms = performance.now() - start;
    const verdicts = report.environments.reduce((n, e) => n + e.verdicts, 0);
    const flips = report.environments.reduce((n, e) => n + e.allowToDeny.length + e.denyToAllow.length, 0);
    const perSecond = verdicts / (ms / 1000);
    const met = ms < TARGET_MS ? 'met' : 'MISSED';
    const markdown =
      '## Replay (issue 16)\n\n' +
      `${verdicts} verdicts (${attestations} stored attestations) replayed under candidate staging and ` +
      `production files on PostgreSQL in **${(ms / 1000).toFixed(2)} s** (${Math.round(perSecond)} verdicts/s, ` +
      `${(perSecond / raw).toFixed(2)}× the raw ECDSA sign rate of ${Math.round(raw)}/s); ${flips} flips. ` +
      `Target: 10^4 verdicts under 10 s: ${met}.\n`;
    if (verdicts !== digests * 2) throw new Error(`replay saw ${verdicts} verdicts, expected ${digests * 2}`);
    return { verdicts, attestations, ms, perSecond, flips, rawSignsPerSec: raw, markdown };
  } finally {
    await handle.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runReplayBench((s) => process.stderr.write(`${s}\n`))
    .then((r) => process.stdout.write(r.markdown))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => closeAll());
}
