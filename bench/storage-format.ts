// How to store the bundle (issue #17, "write less"): the same realistic attestation bundles
// inserted into a jsonb column and into a text column on PostgreSQL, in multi-row statements of
// the log's batch size, one connection. Reports µs per row (client wall time), PostgreSQL CPU per
// row and bytes on disk per row (heap + TOAST). Standalone: `npx node bench/storage-format.ts`
// (BENCH_STORAGE_ROWS, default 20,000). Not part of `npm run bench`; docs/decisions.md has the figures.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { rawSignRate } from './crypto.ts';
import { closeAll, openBenchDatabase } from './db.ts';
import { benchServices } from './signing.ts';
import { BENCH_CALLER, provenanceStatement } from './statements.ts';
import { fmtMs, postgresCpuMs } from './stats.ts';

const ROWS = Number(process.env.BENCH_STORAGE_ROWS ?? 20_000);
const BATCH = 17;
const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const raw = rawSignRate(1);
const bench = await openBenchDatabase('postgres', BASE);
const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-sf-'));
try {
  process.env.BENCH_SIGNING_POOL = '0';
  const services = await benchServices(bench, dir);
  const bundles: string[] = [];
  for (let i = 0; i < 20; i++)
    bundles.push(JSON.stringify((await services.attest.sign(provenanceStatement(), BENCH_CALLER)).record.bundle));
  const sql = postgres(bench.url!, { max: 1, onnotice: () => {} });
  try {
    const rows: string[] = [];
    for (const kind of ['jsonb', 'text', 'jsonb', 'text'] as const) {
      const table = `sf_${kind}`;
      await sql.unsafe(
        `drop table if exists ${table}; create table ${table} (id serial primary key, bundle ${kind} not null)`,
      );
      const cpu0 = postgresCpuMs();
      const t0 = performance.now();
      for (let i = 0; i < ROWS; i += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, ROWS - i) }, (_, k) => bundles[(i + k) % bundles.length]!);
        // One statement per batch, the values as one JSON array parameter (as the log writes rows).
        await sql.unsafe(
          kind === 'jsonb'
            ? `insert into ${table} (bundle) select value from jsonb_array_elements(($1::text)::jsonb)`
            : `insert into ${table} (bundle) select value::text from json_array_elements(($1::text)::json)`,
          [JSON.stringify(batch.map((b) => JSON.parse(b)))],
        );
      }
      const ms = performance.now() - t0;
      const cpu1 = postgresCpuMs();
      const [size] = await sql.unsafe<{ bytes: string }[]>(`select pg_total_relation_size('${table}') as bytes`);
      const t1 = performance.now();
      await sql.unsafe(`select bundle from ${table} order by id limit 2000`);
      const readMs = performance.now() - t1;
      const pgUs = cpu0 !== null && cpu1 !== null ? fmtMs(((cpu1 - cpu0) * 1000) / ROWS) : 'n/a';
      rows.push(
        `| ${kind} | ${fmtMs((ms * 1000) / ROWS)} | ${pgUs} | ` +
          `${Math.round(Number(size!.bytes) / ROWS)} | ${fmtMs((readMs * 1000) / 2000)} |`,
      );
    }
    console.log(
      [
        `Bundle storage, PostgreSQL, ${ROWS} rows per run in ${BATCH}-row statements (runs alternate); bundle JSON ` +
          `${bundles[0]!.length} bytes; raw sign ${Math.round(raw)}/s.`,
        '',
        '| column | µs/row (insert, wall) | PostgreSQL CPU µs/row | bytes/row on disk | µs/row (read 2,000) |',
        '| :--- | ---: | ---: | ---: | ---: |',
        ...rows,
      ].join('\n'),
    );
  } finally {
    await sql.end();
  }
} finally {
  await bench.close();
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
}
