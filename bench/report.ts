// The benchmark's results: the JSON shape written to bench/results/latest.json and its
// markdown rendering (stdout and bench/results/latest.md).
import type { CryptoResult } from './crypto.ts';
import type { BackendName } from './db.ts';
import type { HttpLevelResult } from './http.ts';
import type { DbClientCost, SequencerProfile, StageCosts } from './profile.ts';
import type { ProofBackendResult } from './proofs.ts';
import type { SignLevelResult } from './signing.ts';
import { fmtInt, fmtMs, fmtPct, fmtRatio } from './stats.ts';

export interface Results {
  schema: 1;
  startedAt: string;
  durationSeconds: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    platform: string;
    postgres: string | null;
    pglite: string;
    /** Machine busy share during 1 s of benchmark idleness before / after the run: other load. */
    backgroundBusyBefore: number | null;
    backgroundBusyAfter: number | null;
  };
  settings: {
    seconds: number;
    warmupSeconds: number;
    concurrency: number[];
    backends: BackendName[];
    proofSizes: number[];
    pgliteProofMax: number;
    proofSamples: number;
    profileSeconds: number;
  };
  crypto: CryptoResult & { signPerSecAtEnd: number | null };
  signing: {
    levels: SignLevelResult[];
    sanity: Partial<Record<BackendName, string[]>>;
    target: Target & { callers: number; backend: BackendName };
  };
  profile: {
    stages: StageCosts | null;
    sequencer: SequencerProfile | null;
    dbClient: DbClientCost[] | null;
    backend: BackendName | null;
  };
  http?: {
    levels: HttpLevelResult[];
    target: Target & { p99ThresholdMs: number; measuredP99Ms: number | null; logLevel: string | null };
  };
  proofs: {
    backends: ProofBackendResult[];
    target: Target & { backend: BackendName; sizes: [number, number] };
  };
  notes: string[];
}

export interface Target {
  description: string;
  threshold: number;
  measured: number | null;
  /** null when it could not be measured (e.g. PostgreSQL unreachable). */
  met: boolean | null;
}

const verdict = (t: Target) => (t.met === null ? '**not measured**' : t.met ? '**met**' : '**missed**');

function table(head: string[], rows: string[][], align?: Array<'l' | 'r'>): string {
  const a = align ?? head.map((_, i) => (i === 0 ? 'l' : 'r'));
  const sep = a.map((x) => (x === 'r' ? '---:' : ':---'));
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function renderMarkdown(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`## waybill benchmark, ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  out.push('');
  out.push(
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB RAM, ${m.platform}; Node ${m.node}; ` +
      `PostgreSQL ${m.postgres ?? 'not reachable'}; PGlite ${m.pglite}. ` +
      `Each concurrency level ran ${r.settings.seconds} s after a ${r.settings.warmupSeconds} s warm-up; whole run ` +
      `${r.durationSeconds.toFixed(0)} s. ` +
      `Background load (machine busy while the benchmark slept 1 s): ${fmtPct(m.backgroundBusyBefore)} before, ` +
      `${fmtPct(m.backgroundBusyAfter)} after. ` +
      'Numbers on a shared 2-core VM are noisy: compare the ratios.',
  );
  const bg = Math.max(m.backgroundBusyBefore ?? 0, m.backgroundBusyAfter ?? 0);
  if (bg > 0.15) {
    out.push('');
    out.push(
      `**Warning:** other processes kept the machine ${fmtPct(bg)} busy around this run; its absolute figures are ` +
        `low by an unknown amount.`,
    );
  }
  out.push('');

  // Reference figures.
  const c = r.crypto;
  out.push('### Reference: raw ECDSA P-256 (node:crypto, one thread)');
  out.push('');
  out.push(
    table(
      ['operation', 'ops/s', 'µs/op'],
      [
        ['sign', fmtInt(c.signPerSec), fmtMs(c.signUs)],
        ['verify', fmtInt(c.verifyPerSec), fmtMs(c.verifyUs)],
      ],
    ),
  );
  if (c.signPerSecAtEnd !== null) {
    out.push('');
    out.push(
      `Raw sign rate re-measured at the end: ${fmtInt(c.signPerSecAtEnd)}/s ` +
        `(${fmtPct(c.signPerSecAtEnd / c.signPerSec - 1).replace(/^(\d)/, '+$1')} vs the start; the start figure is ` +
        `the one ratios use).`,
    );
  }
  out.push('');

  // Signing throughput.
  out.push('### Signed + logged statements per second (`AttestService.sign`)');
  out.push('');
  out.push(
    table(
      [
        'backend',
        'callers',
        'statements/s',
        '÷ raw signs/s',
        'p50 ms',
        'p99 ms',
        'node CPU ms/stmt',
        'main thread CPU ms/stmt',
        'PostgreSQL CPU ms/stmt',
        'other CPU ms/stmt',
        'node CPU (cores)',
        'machine busy',
        'errors',
      ],
      r.signing.levels.map((l) => [
        l.backend,
        String(l.callers),
        fmtInt(l.opsPerSec),
        fmtRatio(l.ratioToRawSign),
        fmtMs(l.latencyMs.p50),
        fmtMs(l.latencyMs.p99),
        fmtMs(l.processCpuMsPerOp),
        fmtMs(l.mainThreadCpuMsPerOp),
        l.postgresCpuMsPerOp == null ? '' : fmtMs(l.postgresCpuMsPerOp),
        l.otherCpuMsPerOp === null ? 'n/a' : fmtMs(l.otherCpuMsPerOp),
        l.cpu.processCores.toFixed(2),
        fmtPct(l.cpu.machineBusy),
        String(l.errors),
      ]),
    ),
  );
  out.push('');
  out.push(
    "`÷ raw signs/s` = statements/s ÷ raw ECDSA signs/s; `main thread CPU ms/stmt` = the event loop's thread " +
      "alone (the signing pool's threads are in `node CPU`); `node CPU ms/stmt` = this process per statement (PGlite " +
      'runs inside it); ' +
      '`PostgreSQL CPU ms/stmt` = the PostgreSQL server processes per statement (from /proc); ' +
      '`other CPU ms/stmt` = the rest of the machine per statement: other work on the shared machine (with PGlite, ' +
      'also PostgreSQL serving others); ' +
      '`machine busy` = all cores.',
  );
  out.push('');
  const st = r.signing.target;
  out.push(
    `Target: ${st.description}: ${verdict(st)}` +
      (st.measured !== null
        ? ` (${fmtInt(st.measured)}/s = ${fmtPct(st.measured / st.threshold)} of the target; ` +
          `the target is ${fmtRatio(st.threshold / c.signPerSec)} × the raw sign rate here, measured ` +
          `${fmtRatio(st.measured / c.signPerSec)}).`
        : '.'),
  );
  for (const [backend, problems] of Object.entries(r.signing.sanity)) {
    out.push(
      problems.length
        ? `Sanity check on ${backend} FAILED: ${problems.join('; ')}`
        : `Sanity check on ${backend}: log size = statements signed, a sampled bundle verifies offline.`,
    );
  }
  out.push('');

  // Profile.
  const p = r.profile;
  if (p.sequencer || p.stages) out.push(`### Where the time goes (${p.backend ?? ''})`);
  if (p.sequencer) {
    const s = p.sequencer;
    out.push('');
    out.push(
      `Instrumented run, ${s.callers} callers, ${s.seconds} s, with the CPU profiler on: ${fmtInt(s.opsPerSec)} ` +
        `statements/s, ` +
        `${s.batches} batches of ${s.meanBatchSize.toFixed(1)} statements on average, ${s.fastBatches} of them in ` +
        `one round trip ` +
        `(\`LogRepo.appendAt\`), ${s.slowBatches} the long way (\`LogRepo.batch\`). Per batch (one at a time):`,
    );
    out.push('');
    const b = s.perBatchMs;
    const per = (ms: number) => fmtMs(ms / s.meanBatchSize);
    const share = (ms: number) => fmtPct(ms / b.cycle);
    out.push(
      table(
        ['batch part', 'ms per batch', 'ms per statement', 'share of the cycle'],
        [
          ['build (CPU): tree, checkpoint signature, SETs, proofs, rows', fmtMs(b.build), per(b.build), share(b.build)],
          [
            "↳ of which the items' rows (`loggedRecord`)",
            fmtMs(b.itemCallbacks),
            per(b.itemCallbacks),
            share(b.itemCallbacks),
          ],
          [
            'one round trip (`appendAt`): BEGIN + lock + guarded write + COMMIT, pipelined',
            fmtMs(b.flight),
            per(b.flight),
            share(b.flight),
          ],
          ["↳ of which the batch statement's JSON (CPU)", fmtMs(b.writeJson), per(b.writeJson), share(b.writeJson)],
          ...(s.slowBatches > 0
            ? [
                [
                  'the long way (`batch`), when taken: BEGIN; lock + size + duplicates; build; write; COMMIT',
                  fmtMs(b.slow),
                  per(b.slow),
                  '',
                ],
              ]
            : []),
          ['**cycle**: wall time between batch starts', fmtMs(b.cycle), per(b.cycle), '100%'],
        ],
      ),
    );
    out.push('');
    const ps = s.perStatementMs;
    out.push(
      `Sequencer ceiling at this batch size: ${fmtInt(s.sequencerCeilingPerSec)} statements/s (batch size ÷ (build + ` +
        `round trip)); ` +
        'the rest of the cycle the sequencer waits for the event loop or for items. ' +
        `Mean latency ${fmtMs(ps.signLatency)} ms = ${fmtMs(ps.beforeAppend)} ms before the log (validation, key, ` +
        `leaf, DSSE; ` +
        `includes waiting for the event loop) + ${fmtMs(ps.logAppend)} ms in the log (queue for the running batch + ` +
        `own batch). ` +
        `Node used ${s.cpu.processCores.toFixed(2)} cores, the machine was ${fmtPct(s.cpu.machineBusy)} busy.`,
    );
    out.push('');
  }
  if (p.stages) {
    const sc = p.stages;
    out.push(
      `CPU cost of each step alone (one thread, no database; per-batch work amortised over ${sc.batchAssumed} ` +
        `statements):`,
    );
    out.push('');
    out.push(
      table(
        ['step', 'covers', 'µs/stmt', '× raw sign'],
        [
          ...sc.stages.map((s) => [s.stage, s.covers, fmtMs(s.usPerStatement), fmtRatio(s.rawSigns)]),
          [
            '**sum** (without the ↳ rows)',
            'crypto + serialisation floor',
            fmtMs(sc.floorUs),
            fmtRatio(sc.floorUs / r.crypto.signUs),
          ],
        ],
        ['l', 'l', 'r', 'r'],
      ),
    );
    out.push('');
    out.push(
      `These steps alone would allow about ${fmtInt(sc.floorCeilingPerSec)} statements/s on one core` +
        (p.sequencer
          ? `; the instrumented run spent ${fmtMs((p.sequencer.cpu.processCpuMs / p.sequencer.statements) * 1000)} ` +
            `µs of node CPU per statement, ` +
            `so about ${fmtPct(1 - sc.floorUs / ((p.sequencer.cpu.processCpuMs / p.sequencer.statements) * 1000))} ` +
            `of it is elsewhere (database client, GC, I/O).`
          : '.'),
    );
    out.push('');
  }
  if (p.dbClient && p.dbClient.length > 0) {
    out.push('Database client cost per row (PostgreSQL, one connection, sequential, realistic attestation rows):');
    out.push('');
    out.push(
      table(
        ['operation', 'µs/row', '× raw sign'],
        p.dbClient.map((d) => [d.operation, fmtMs(d.usPerRow), fmtRatio(d.rawSigns)]),
        ['l', 'r', 'r'],
      ),
    );
    out.push('');
  }
  if (p.sequencer) {
    const cp = p.sequencer.cpuProfile;
    out.push(
      `V8 CPU profile of the instrumented run (main thread, ${fmtInt(cp.sampledMs)} ms sampled, ` +
        `${fmtPct(cp.idleShare)} idle)` +
        (cp.file ? `; open \`${cp.file}\` in Chrome DevTools for the call tree` : '') +
        ':',
    );
    out.push('');
    out.push(
      table(
        ['self time by component', 'share', 'ms/stmt', '× raw sign'],
        cp.byCategory
          .filter((b) => b.share >= 0.005)
          .map((b) =>
            b.name.startsWith('idle')
              ? [b.name, fmtPct(b.share), '', '']
              : [b.name, fmtPct(b.share), fmtMs(b.msPerStatement), fmtRatio(b.rawSigns)],
          ),
      ),
    );
    out.push('');
    out.push(
      table(
        ['top functions (self time)', 'share', 'ms/stmt'],
        cp.topFunctions.slice(0, 10).map((b) => [`\`${b.name}\``, fmtPct(b.share), fmtMs(b.msPerStatement)]),
      ),
    );
    out.push('');
    out.push(
      table(
        ['waybill function on the stack (inclusive, synchronous part)', 'share', 'ms/stmt', '× raw sign'],
        cp.inclusive
          .filter((b) => b.ms > 0)
          .map((b) => [b.name, fmtPct(b.share), fmtMs(b.msPerStatement), fmtRatio(b.rawSigns)]),
      ),
    );
    out.push('');
  }

  // HTTP.
  if (r.http && r.http.levels.length > 0) {
    const h = r.http;
    out.push('### HTTP: `POST /v1/provenance` requests per second (PostgreSQL)');
    out.push('');
    out.push(
      `The server (\`node src/cli/bin.ts serve\`, PostgreSQL pool of 10) runs as a child process on a fresh ` +
        `database; autocannon in this process ` +
        `keeps ${h.levels[0]!.connections} connections busy over loopback for ${r.settings.seconds} s after a ` +
        `${r.settings.warmupSeconds} s warm-up, ` +
        'every request distinct build facts (a new subject digest) with a builder token minted through the API, so ' +
        'every request signs, logs and stores. ' +
        'Server, load tool and PostgreSQL share the cores.',
    );
    out.push('');
    const attest = r.signing.levels.find((l) => l.backend === 'postgres' && l.callers === h.levels[0]!.connections);
    out.push(
      table(
        [
          'server LOG_LEVEL',
          'connections',
          'requests/s',
          '÷ raw signs/s',
          '÷ AttestService',
          'p50 ms',
          'p99 ms',
          'non-2xx',
          'errors',
          'server CPU ms/req',
          'server main thread CPU ms/req',
          'load tool CPU ms/req',
          'PostgreSQL CPU ms/req',
          'other CPU ms/req',
          'server CPU (cores)',
          'machine busy',
          'log bytes/req',
        ],
        [
          ...(attest
            ? [
                [
                  '(in-process `AttestService.sign`, same run)',
                  String(attest.callers),
                  fmtInt(attest.opsPerSec),
                  fmtRatio(attest.ratioToRawSign),
                  '1',
                  fmtMs(attest.latencyMs.p50),
                  fmtMs(attest.latencyMs.p99),
                  '',
                  String(attest.errors),
                  fmtMs(attest.processCpuMsPerOp),
                  fmtMs(attest.mainThreadCpuMsPerOp),
                  '',
                  attest.postgresCpuMsPerOp == null ? 'n/a' : fmtMs(attest.postgresCpuMsPerOp),
                  attest.otherCpuMsPerOp === null ? 'n/a' : fmtMs(attest.otherCpuMsPerOp),
                  attest.cpu.processCores.toFixed(2),
                  fmtPct(attest.cpu.machineBusy),
                  '',
                ],
              ]
            : []),
          ...h.levels.map((l) => [
            l.logLevel,
            String(l.connections),
            fmtInt(l.reqPerSec),
            fmtRatio(l.ratioToRawSign),
            l.ratioToAttest === null ? 'n/a' : fmtRatio(l.ratioToAttest),
            fmtMs(l.latencyMs.p50),
            fmtMs(l.latencyMs.p99),
            String(l.non2xx),
            String(l.errors + l.timeouts),
            l.serverCpuMsPerReq === null ? 'n/a' : fmtMs(l.serverCpuMsPerReq),
            l.serverMainThreadCpuMsPerReq === null ? 'n/a' : fmtMs(l.serverMainThreadCpuMsPerReq),
            fmtMs(l.loadToolCpuMsPerReq),
            l.postgresCpuMsPerReq === null ? 'n/a' : fmtMs(l.postgresCpuMsPerReq),
            l.restCpuMsPerReq === null ? 'n/a' : fmtMs(l.restCpuMsPerReq),
            l.serverCores === null ? 'n/a' : l.serverCores.toFixed(2),
            fmtPct(l.machineBusy),
            fmtInt(l.logBytesPerReq),
          ]),
        ],
      ),
    );
    out.push('');
    out.push(
      '`÷ AttestService` = requests/s ÷ the in-process `AttestService.sign` statements/s at the same number of ' +
        'callers on PostgreSQL in this run (the row above); ' +
        '`server CPU` = the server process (all its threads); `load tool CPU` = this process (autocannon); ' +
        '`PostgreSQL CPU` = the PostgreSQL processes; `other CPU` = everything else on the machine (background ' +
        'work); ' +
        '`log bytes/req` = what the server wrote to stdout per request (its JSON log).',
    );
    out.push('');
    const t = h.target;
    out.push(
      `Target: ${t.description}: ${verdict(t)}` +
        (t.measured !== null
          ? ` (LOG_LEVEL=${t.logLevel}: ${fmtInt(t.measured)} requests/s = ${fmtPct(t.measured / t.threshold)} of ` +
            `the target, p99 ${fmtMs(t.measuredP99Ms ?? Number.NaN)} ms).`
          : '.'),
    );
    for (const l of h.levels) {
      out.push(
        l.sanity.length
          ? `Sanity check at LOG_LEVEL=${l.logLevel} FAILED: ${l.sanity.join('; ')}`
          : `Sanity check at LOG_LEVEL=${l.logLevel}: every 2xx response names its own log index, below the final ` +
              `log size; attestations stored = log size; a returned bundle verifies offline.`,
      );
    }
    out.push('');
  }

  // Proofs.
  if (r.proofs.backends.length === 0) {
    for (const n of r.notes) out.push(`Note: ${n}`);
    out.push('');
    return out.join('\n');
  }
  out.push('### Inclusion proofs (`TransparencyLog.inclusionHashes`)');
  out.push('');
  out.push(
    table(
      [
        'backend',
        'entries',
        'p50 ms',
        'p99 ms',
        'mean ms',
        'p50 × raw sign',
        'hashes/proof',
        'proofs verified',
        'populate s',
      ],
      r.proofs.backends.flatMap((b) =>
        b.sizes.map((s) => [
          s.backend,
          fmtInt(s.size),
          fmtMs(s.latencyMs.p50),
          fmtMs(s.latencyMs.p99),
          fmtMs(s.latencyMs.mean),
          fmtRatio(s.p50RawSigns),
          s.proofHashes.toFixed(1),
          `${s.verified - s.verifyFailures}/${s.verified}`,
          s.populateSeconds.toFixed(1),
        ]),
      ),
    ),
  );
  out.push('');
  out.push(
    'One log (database) per size, sampled round-robin in blocks of 50 so that background noise hits every size alike.',
  );
  out.push('');
  for (const b of r.proofs.backends) {
    out.push(
      `- p50(${fmtInt(b.ratioSizes[1])}) ÷ p50(${fmtInt(b.ratioSizes[0])}) on ${b.backend}: ${fmtRatio(b.p50Ratio)}× ` +
        `(machine ${fmtPct(b.machineBusy)} busy while sampling)`,
    );
  }
  const pt = r.proofs.target;
  out.push('');
  out.push(`Target: ${pt.description}: ${verdict(pt)}${pt.measured !== null ? ` (${fmtRatio(pt.measured)}×).` : '.'}`);
  if (r.notes.length) {
    out.push('');
    for (const n of r.notes) out.push(`Note: ${n}`);
  }
  out.push('');
  return out.join('\n');
}
