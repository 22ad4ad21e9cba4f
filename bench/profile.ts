// Where the time goes per signed statement, four ways:
//  1. stage costs: each CPU step of AttestService.sign timed alone, single thread, no database;
//  2. the sequencer: a run observed through the log's stats hook (TransparencyLog.observe),
//     splitting each batch transaction into its parts;
//  3. a V8 CPU profile of that same run (node:inspector), aggregated by package and function;
//  4. on PostgreSQL, what one attestation row costs through Drizzle vs postgres.js, row by row
//     vs multi-row (the batch transaction's biggest part).
import { sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { DSSEBundleBuilder, type Witness } from '@sigstore/sign';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { INTOTO_PAYLOAD_TYPE, StatementV1 } from '../src/intoto/statement.ts';
import { issueLeafSync } from '../src/signing/leaf.ts';
import { caSigner } from '../src/signing/signer.ts';
import { prepareEntry } from '../src/signing/witness.ts';
import { attestations } from '../src/storage/schema.ts';
import { checkpointBody, signCheckpoint } from '../src/tlog/checkpoint.ts';
import { inclusionPromise } from '../src/tlog/entry.ts';
import { leafHash } from '../src/tlog/merkle.ts';
import { jcs, sha256hex } from '../src/util/encoding.ts';
import type { BenchDatabase } from './db.ts';
import { BENCH_ISSUER, type Services, signLoad } from './signing.ts';
import { BENCH_CALLER, provenanceStatement } from './statements.ts';
import { type CpuWindow, rate, summarize } from './stats.ts';

// ---------------------------------------------------------------------------------------------
// 1. Stage costs

export interface StageCost {
  stage: string;
  /** What the stage covers, in code terms. */
  covers: string;
  usPerStatement: number;
  /** usPerStatement ÷ µs per raw ECDSA sign. */
  rawSigns: number;
  /** True for per-batch work, shown amortised over `batchAssumed` statements. */
  perBatch?: boolean;
  /** True for a part of the row above it (not added to the sum). */
  part?: boolean;
}

export interface StageCosts {
  stages: StageCost[];
  /** Sum of the per-statement CPU stages (per-batch ones amortised): the crypto + serialisation floor. */
  floorUs: number;
  /** 1e6 / floorUs: statements/s one core could sign if nothing but these stages ran. */
  floorCeilingPerSec: number;
  batchAssumed: number;
}

export async function stageCosts(
  services: Services,
  opts: { rawSignUs: number; sampleBundle: unknown; batchAssumed: number; ms?: number },
): Promise<StageCosts> {
  const { rawSignUs, sampleBundle, batchAssumed } = opts;
  const ms = opts.ms ?? 250;
  const ca = services.keys.ca;
  const logKey = services.keys.log.privateKey;
  const logId = services.log.identity.logId;
  const statement = provenanceStatement();
  const payload = jcs(StatementV1.parse(statement));
  const pae = dsse.preAuthEncoding(INTOTO_PAYLOAD_TYPE, Buffer.from(payload));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = new Date();

  // One real bundle build, to get the envelope and certificate the witness sees.
  let seen: { content: Parameters<Witness['testify']>[0]; pem: string } | undefined;
  const capture: Witness = {
    testify: async (content, pem) => {
      seen = { content, pem };
      return {};
    },
  };
  const signer = caSigner(ca, { subjectUri: BENCH_CALLER, issuer: BENCH_ISSUER });
  await new DSSEBundleBuilder({ signer, witnesses: [capture] }).create({
    data: Buffer.from(payload),
    type: INTOTO_PAYLOAD_TYPE,
  });
  if (seen?.content.$case !== 'dsseEnvelope') throw new Error('profile: no DSSE envelope captured');
  const seenContent = seen.content;
  const certPem = seen.pem;
  // What the witness does before it appends: entry body, bundle, attestation id.
  const witnessCpu = () => prepareEntry(seenContent, certPem);
  const { body } = witnessCpu();

  const stages: Array<Omit<StageCost, 'rawSigns'>> = [];
  const time = (stage: string, covers: string, fn: () => unknown, perBatch = false, part = false) => {
    const r = rate(ms, fn, 20);
    stages.push({
      stage,
      covers,
      usPerStatement: 1e6 / r.opsPerSec / (perBatch ? batchAssumed : 1),
      ...(perBatch ? { perBatch } : {}),
      ...(part ? { part } : {}),
    });
  };

  time('validate + canonicalize', 'zod StatementV1.safeParse, JCS, SHA-256 of the payload', () =>
    createPayload(statement),
  );
  // The signer as the builder drives it; its three expensive steps follow as "of which" rows.
  const builder = new DSSEBundleBuilder({ signer, witnesses: [{ testify: async () => ({}) }] });
  const b = await rateAsync(ms, () => builder.create({ data: Buffer.from(payload), type: INTOTO_PAYLOAD_TYPE }));
  stages.push({
    stage: 'bundle builder + caSigner',
    covers: 'DSSEBundleBuilder.create: PAE, ephemeral key, leaf, DSSE signature, packaging',
    usPerStatement: 1e6 / b,
  });
  time(
    '↳ of which: ephemeral key',
    "generateKeyPairSync('ec', P-256)",
    () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
    false,
    true,
  );
  time(
    '↳ of which: leaf certificate',
    'issueLeafSync: SPKI (JWK) export, DER build, CA ECDSA sign, PEM',
    () => issueLeafSync(ca, { subjectUri: BENCH_CALLER, issuer: BENCH_ISSUER, publicKey, now }),
    false,
    true,
  );
  time(
    '↳ of which: DSSE signature',
    'ECDSA sign of the PAE with the ephemeral key',
    () => cryptoSign('sha256', pae, privateKey),
    false,
    true,
  );
  time(
    'witness: entry body + ids',
    'prepareEntry: dsseEntryBody, toDSSEBundle, bundleToJSON, attestationId',
    witnessCpu,
  );
  let logIndex = 0;
  time('log entry: leaf hash + SET', 'leafHash + inclusionPromise (ECDSA sign with the log key)', () => {
    leafHash(body);
    return inclusionPromise({ body, integratedTime: 1_700_000_000, logId, logIndex: logIndex++ }, logKey);
  });
  if (sampleBundle !== undefined) {
    // A bundle as stored (with its tlog entry and proof): the JSON the attestation row carries.
    const logged = bundleFromJSON(sampleBundle);
    time(
      'stored row JSON',
      'bundleToJSON of the logged bundle + JSON text of the jsonb values (statement, bundle)',
      () => JSON.stringify(bundleToJSON(logged)).length + JSON.stringify(statement).length,
    );
  }
  let size = 1;
  time(
    `checkpoint signature (per batch, ÷ ${batchAssumed})`,
    'checkpointBody + signCheckpoint (ECDSA sign with the log key), once per batch',
    () =>
      signCheckpoint(checkpointBody({ origin: services.log.identity.origin, size: size++, rootHash: leafHash(body) }), {
        name: services.log.identity.keyName,
        privateKey: logKey,
      }),
    true,
  );
  const floorUs = stages.filter((s) => !s.part).reduce((a, s) => a + s.usPerStatement, 0);
  return {
    stages: stages.map((s) => ({ ...s, rawSigns: s.usPerStatement / rawSignUs })),
    floorUs,
    floorCeilingPerSec: 1e6 / floorUs,
    batchAssumed,
  };
}

function createPayload(statement: unknown): string {
  const parsed = StatementV1.safeParse(statement);
  if (!parsed.success) throw new Error('invalid statement');
  const payload = jcs(parsed.data);
  sha256hex(payload);
  return payload;
}

async function rateAsync(ms: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  let ops = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 20; i++) await fn();
    ops += 20;
    elapsed = performance.now() - t0;
  } while (elapsed < ms);
  return (ops * 1000) / elapsed;
}

// ---------------------------------------------------------------------------------------------
// 2 + 3. Instrumented run with a CPU profile

export interface Timer {
  calls: number;
  totalMs: number;
}

export interface SequencerProfile {
  callers: number;
  seconds: number;
  statements: number;
  opsPerSec: number;
  cpu: CpuWindow;
  /** Batches committed: by the one-round-trip path (`LogRepo.appendAt`) and the long way (`LogRepo.batch`). */
  batches: number;
  fastBatches: number;
  slowBatches: number;
  meanBatchSize: number;
  /** Mean milliseconds per batch. */
  perBatchMs: {
    /** CPU: tree, checkpoint signature, SETs, proofs, the rows (TransparencyLog #build, from the CPU profile). */
    build: number;
    /** Making the items' attestation rows from their pending records (`loggedRecord`, part of build). */
    itemCallbacks: number;
    /** The batch statement's JSON (part of the round trip's time, from the CPU profile). */
    writeJson: number;
    /** One-round-trip path: BEGIN + lock + guarded write + COMMIT, pipelined (mean over the batches that took it). */
    flight: number;
    /** The long way, when taken: BEGIN; lock + size + duplicates; nodes; write; COMMIT (mean over those batches). */
    slow: number;
    /** Wall time between batch starts: elapsed ÷ batches. */
    cycle: number;
  };
  /** Sequencer ceiling at this batch size: meanBatchSize / (build + database time). */
  sequencerCeilingPerSec: number;
  /** Mean milliseconds per statement of the caller-visible phases. */
  perStatementMs: {
    signLatency: number;
    /** From append() to its entry: waiting for the running batch, then its own batch transaction. */
    logAppend: number;
    /** sign() before append(): validation, dedupe query, key, leaf, DSSE signature, builder. */
    beforeAppend: number;
    /** One statement's item callback inside the batch transaction. */
    itemCallback: number;
  };
  /** The AppendItem callback that was timed (`write` or `record`), null if none was seen. */
  itemCallback: string | null;
  cpuProfile: CpuProfileSummary;
}

export interface CpuBucket {
  name: string;
  ms: number;
  share: number;
  /** Milliseconds of this process's CPU per statement. */
  msPerStatement: number;
  /** msPerStatement ÷ ms per raw ECDSA sign. */
  rawSigns: number;
}

export interface CpuProfileSummary {
  sampledMs: number;
  /** Samples in which the main thread was idle (waiting on I/O), as a share of the profile. */
  idleShare: number;
  byCategory: CpuBucket[];
  topFunctions: CpuBucket[];
  /** CPU with these waybill functions on the (synchronous) stack. */
  inclusive: CpuBucket[];
  file?: string;
}

export async function profileSequencer(
  services: Services,
  opts: { callers: number; seconds: number; rawSignUs: number; profileFile?: string },
): Promise<SequencerProfile> {
  const timers = new Map<string, Timer>();
  const add = (k: string, ms: number, calls = 1) => {
    const t = timers.get(k) ?? { calls: 0, totalMs: 0 };
    t.calls += calls;
    t.totalMs += ms;
    timers.set(k, t);
  };
  let fastWritten = 0;
  const stop = services.log.observe({
    append: (ms) => add('logAppend', ms),
    batch(b) {
      if (b.records > 0) add('itemCallback', b.recordMs, b.records);
      if (b.flight) {
        add('appendAt', b.flight.ms);
        if (b.flight.outcome === 'written') fastWritten++;
      }
      if (b.locked) {
        add('transaction', b.locked.ms);
        add('open', b.locked.openMs);
        add('nodeReads', b.locked.nodeReadMs);
        add('writeBatch', b.locked.writeMs);
        add('commit', b.locked.commitMs);
      }
    },
  });

  const session = new Session();
  session.connect();
  let profile: Profiler.Profile;
  let run: Awaited<ReturnType<typeof signLoad>>;
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    run = await signLoad(services, opts.callers, opts.seconds);
    ({ profile } = await session.post('Profiler.stop'));
  } finally {
    stop();
    session.disconnect();
  }

  const n = run.latencies.length;
  const get = (k: string) => timers.get(k) ?? { calls: 0, totalMs: 0 };
  // A fast flight that found the head moved (or a duplicate) is followed by the long way for the
  // same batch; count such a batch once, as a slow one.
  const slowBatches = get('transaction').calls;
  const flights = get('appendAt').calls;
  const fastBatches = fastWritten;
  const batches = fastBatches + slowBatches;
  const meanBatchSize = batches ? n / batches : Number.NaN;
  const cpuProfile = summarizeProfile(profile, n, opts.rawSignUs / 1000, opts.profileFile);
  const inclMs = (name: string) => cpuProfile.inclusive.find((b) => b.name === name)?.ms ?? Number.NaN;
  const perBatchMs = {
    build: batches ? inclMs(BUILD) / batches : Number.NaN,
    itemCallbacks: batches ? get('itemCallback').totalMs / batches : Number.NaN,
    writeJson: batches ? inclMs(WRITE_JSON) / batches : Number.NaN,
    flight: flights ? get('appendAt').totalMs / flights : Number.NaN,
    slow: slowBatches ? get('transaction').totalMs / slowBatches : Number.NaN,
    cycle: batches ? run.elapsedMs / batches : Number.NaN,
  };
  const dbMs = (get('appendAt').totalMs + get('transaction').totalMs) / (batches || Number.NaN);
  const signMean = summarize(run.latencies).mean;
  const appendMean = get('logAppend').calls ? get('logAppend').totalMs / get('logAppend').calls : Number.NaN;
  if (opts.profileFile) writeFileSync(opts.profileFile, JSON.stringify(profile));
  return {
    callers: opts.callers,
    seconds: opts.seconds,
    statements: n,
    opsPerSec: (n * 1000) / run.elapsedMs,
    cpu: run.cpu,
    batches,
    fastBatches,
    slowBatches,
    meanBatchSize,
    perBatchMs,
    sequencerCeilingPerSec: (meanBatchSize * 1000) / (perBatchMs.build + dbMs),
    itemCallback: get('itemCallback').calls > 0 ? 'record' : null,
    perStatementMs: {
      signLatency: signMean,
      logAppend: appendMean,
      beforeAppend: signMean - appendMean,
      itemCallback: get('itemCallback').calls ? get('itemCallback').totalMs / get('itemCallback').calls : Number.NaN,
    },
    cpuProfile,
  };
}

// ---------------------------------------------------------------------------------------------
// CPU profile aggregation

// Self time by where the code lives. Order matters: the first match wins.
const CATEGORIES: Array<[name: string, test: (fn: string, url: string) => boolean]> = [
  ['idle (waiting for I/O)', (fn) => fn === '(idle)'],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['ECDSA sign/verify (node:crypto)', (_fn, url) => url.endsWith('crypto/sig')],
  ['EC key generation (node:crypto)', (_fn, url) => url.endsWith('crypto/keygen')],
  ['key export/inspection (node:crypto)', (_fn, url) => url.endsWith('crypto/keys')],
  ['hashing (node:crypto)', (_fn, url) => url.endsWith('crypto/hash') || url.endsWith('crypto/random')],
  [
    'socket writes/reads (libuv, kernel loopback)',
    (fn, url) =>
      /^(writeBuffer|writev|writeUtf8String|writeLatin1String)$/.test(fn) ||
      url.includes('stream_base_commons') ||
      url.includes('net.js') ||
      url === 'node:net',
  ],
  ['drizzle-orm (query building, row mapping)', (_fn, url) => url.includes('/drizzle-orm/')],
  ['postgres.js driver', (_fn, url) => url.includes('/node_modules/postgres/')],
  ['PGlite (WASM PostgreSQL)', (_fn, url) => url.includes('@electric-sql/pglite') || url.startsWith('wasm://')],
  ['@sigstore/* (bundle, protobuf JSON)', (_fn, url) => url.includes('/@sigstore/')],
  ['zod (statement validation)', (_fn, url) => url.includes('/zod/')],
  ['canonicalize (JCS)', (_fn, url) => url.includes('/canonicalize/')],
  [
    '@peculiar/asn1 (x509)',
    (_fn, url) => url.includes('/@peculiar/') || url.includes('/asn1js/') || url.includes('/pvtsutils/'),
  ],
  ['waybill src/', (_fn, url) => url.includes('/src/') && !url.includes('/node_modules/')],
  ['bench/ harness', (_fn, url) => url.includes('/bench/') && !url.includes('/node_modules/')],
  [
    'node buffers/strings (Buffer, base64, utf8)',
    (fn, url) =>
      url === 'node:buffer' ||
      url.includes('internal/buffer') ||
      /Slice$|^(toString|from|byteLengthUtf8|compare)$/.test(fn),
  ],
  [
    'promises, timers, microtasks',
    (fn, url) => fn === 'runMicrotasks' || url.includes('task_queues') || url.includes('timers'),
  ],
  ['V8/native (program)', (fn) => fn === '(program)'],
];

const BUILD = 'buildBatch (tree, checkpoint + SETs, proofs, rows)';
const WRITE_JSON = 'writeStatement (the batch as JSON)';
const INCLUSIVE: Array<[name: string, fn: string, file: string]> = [
  ['AttestService.sign (synchronous parts)', 'sign', 'src/services/attest.ts'],
  ['signWithEphemeralKey (key + leaf + DSSE sig)', 'signWithEphemeralKey', 'src/signing/signer.ts'],
  ['issueLeafSync (leaf certificate)', 'issueLeafSync', 'src/signing/leaf.ts'],
  ['witness testify (entry body, bundle JSON)', 'testify', 'src/signing/witness.ts'],
  ['loggedRecord (row building)', 'loggedRecord', 'src/tlog/batch.ts'],
  ['TransparencyLog #commit (sync parts)', '#commit', 'src/tlog/log.ts'],
  [BUILD, 'buildBatch', 'src/tlog/batch.ts'],
  ['inclusionPromise (SET signatures)', 'inclusionPromise', 'src/tlog/entry.ts'],
  ['signCheckpoint', 'signCheckpoint', 'src/tlog/checkpoint.ts'],
  [WRITE_JSON, 'writeStatement', 'src/storage/log-repo.ts'],
];

function shortUrl(url: string): string {
  const u = url.replace(/^file:\/\//, '');
  return u.includes('/node_modules/') ? u.replace(/.*\/node_modules\//, '') : u.replace(/.*\/(src|bench)\//, '$1/');
}

export function summarizeProfile(
  profile: Profiler.Profile,
  statements: number,
  rawSignMs: number,
  file?: string,
  /** Only samples taken in this window (profile clock, µs). */
  windowUs?: [number, number],
): CpuProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; attribute the gap after it (the next delta).
    t += deltas[i] ?? 0;
    if (windowUs && (t < windowUs[0] || t > windowUs[1])) continue;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + dt);
  }
  let total = 0;
  for (const v of selfUs.values()) total += v;

  const cat = new Map<string, number>();
  const fnSelf = new Map<string, number>();
  const incl = new Map<string, number>();
  // Native frames (no URL, e.g. the `run` of a crypto job) count where their JS caller lives.
  const effectiveUrl = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = nodes.get(cur)!.callFrame.url;
      if (url) return url;
    }
    return '';
  };
  for (const [id, us] of selfUs) {
    const node = nodes.get(id)!;
    const fn = node.callFrame.functionName || '(anonymous)';
    const url = node.callFrame.url;
    const special = fn.startsWith('(');
    const category = CATEGORIES.find(([, t]) => t(fn, special ? url : effectiveUrl(id)))?.[0] ?? 'other';
    cat.set(category, (cat.get(category) ?? 0) + us);
    if (fn !== '(idle)') {
      const caller = special ? '' : effectiveUrl(id);
      const where = url
        ? `${shortUrl(url)}:${node.callFrame.lineNumber + 1}`
        : caller
          ? `native, from ${shortUrl(caller)}`
          : 'native';
      const key = `${fn} (${where})`;
      fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    }
    // Inclusive: count each sample once per listed function found on its stack.
    const found = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = nodes.get(cur)!.callFrame;
      for (const [name, want, path] of INCLUSIVE) {
        if (f.functionName === want && f.url.endsWith(path)) found.add(name);
      }
    }
    for (const name of found) incl.set(name, (incl.get(name) ?? 0) + us);
  }
  const bucket = (name: string, us: number): CpuBucket => {
    const msPer = statements ? us / 1000 / statements : Number.NaN;
    return { name, ms: us / 1000, share: total ? us / total : 0, msPerStatement: msPer, rawSigns: msPer / rawSignMs };
  };
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => bucket(k, v));
  return {
    sampledMs: total / 1000,
    idleShare: total ? (cat.get(CATEGORIES[0]![0]) ?? 0) / total : 0,
    byCategory: sorted(cat),
    topFunctions: sorted(fnSelf).slice(0, 15),
    inclusive: INCLUSIVE.map(([name]) => bucket(name, incl.get(name) ?? 0)),
    ...(file ? { file } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Database client costs (PostgreSQL): what one row costs through Drizzle vs postgres.js,
//    one statement per row vs one multi-row statement. One connection, sequential, each
//    measured inside transactions of `perTx` rows (the size of a batch under load).

export interface DbClientCost {
  operation: string;
  /** Microseconds of wall time per row (or per round trip). */
  usPerRow: number;
  rawSigns: number;
}

export async function dbClientCosts(
  bench: BenchDatabase,
  opts: { sampleBundle: unknown; rawSignUs: number; perTx: number; ms?: number },
): Promise<DbClientCost[]> {
  if (!bench.url) return [];
  const ms = opts.ms ?? 400;
  const raw = postgres(bench.url, { max: 1, onnotice: () => {} });
  const db = bench.database.db;
  const statement = StatementV1.parse(provenanceStatement());
  const bundle = opts.sampleBundle ?? { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' };
  // Rows far beyond any real log index, deleted at the end.
  const BASE = 1e12;
  let n = 0;
  const row = () => {
    const i = n++;
    const id = sha256hex(`bench-db-${i}`);
    return {
      id,
      predicateType: statement.predicateType,
      statement,
      statementSha256: id,
      bundle,
      signerSubject: BENCH_CALLER,
      signerIssuer: BENCH_ISSUER,
      environment: null,
      origin: 'signed' as const,
      logIndex: BASE + i,
      createdAt: new Date(),
    };
  };
  const rawRow = (r: ReturnType<typeof row>) => ({
    id: r.id,
    predicate_type: r.predicateType,
    statement: raw.json(r.statement as never),
    statement_sha256: r.statementSha256,
    bundle: raw.json(r.bundle as never),
    signer_subject: r.signerSubject,
    signer_issuer: r.signerIssuer,
    environment: r.environment,
    origin: r.origin,
    log_index: r.logIndex,
    created_at: r.createdAt,
  });
  const measure = async (rowsPerCall: number, call: () => Promise<unknown>): Promise<number> => {
    for (let k = 0; k < 3; k++) await call();
    let rows = 0;
    const t0 = performance.now();
    do {
      await call();
      rows += rowsPerCall;
    } while (performance.now() - t0 < ms);
    return ((performance.now() - t0) * 1000) / rows;
  };
  const out: DbClientCost[] = [];
  const push = (operation: string, us: number) => out.push({ operation, usPerRow: us, rawSigns: us / opts.rawSignUs });
  const k = opts.perTx;
  try {
    push('round trip: postgres.js `select 1`', await measure(1, () => raw`select 1`));
    push('round trip: Drizzle `db.execute(sql`select 1`)`', await measure(1, () => db.execute(sql`select 1`)));
    push(
      `attestation INSERT … RETURNING, Drizzle, one statement per row, ${k} per transaction`,
      await measure(k, () =>
        db.transaction(async (tx) => {
          for (let i = 0; i < k; i++) await tx.insert(attestations).values(row()).returning();
        }),
      ),
    );
    push(
      `attestation INSERT, postgres.js, one statement per row, ${k} per transaction`,
      await measure(k, () =>
        raw.begin(async (t) => {
          for (let i = 0; i < k; i++) await t`insert into attestations ${raw(rawRow(row()))}`;
        }),
      ),
    );
    push(
      `attestation INSERT, Drizzle, one ${k}-row statement per transaction`,
      await measure(k, () =>
        db.transaction(async (tx) => tx.insert(attestations).values(Array.from({ length: k }, row))),
      ),
    );
    push(
      `attestation INSERT, postgres.js, one ${k}-row statement per transaction`,
      await measure(k, () =>
        raw.begin(async (t) => t`insert into attestations ${raw(Array.from({ length: k }, () => rawRow(row())))}`),
      ),
    );
  } finally {
    await raw`delete from attestations where log_index >= ${BASE}`.catch(() => {});
    await raw.end({ timeout: 5 });
  }
  return out;
}
