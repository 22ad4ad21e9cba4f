// Inclusion-proof time against a log of 10^4, 10^5, 10^6 entries (one database per size). The
// trees are populated without signing: leaf i is leafHash(i as 8 bytes big-endian), appendNodes builds the complete
// nodes in big chunks, and they go into log_nodes in bulk (COPY on PostgreSQL, multi-row
// INSERT ... SELECT FROM unnest on PGlite), with one signed log_checkpoints row per measured
// size. Only log_nodes and log_checkpoints are filled: inclusion proofs read nothing else.
// The timed call is TransparencyLog.inclusionHashes(index, size), which is LogRepo.nodes (one
// indexed query) + hashRanges, i.e. what GET /v1/log/entries/{index} does for its proof.
import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { LogRepo } from '../src/storage/log-repo.ts';
import { logCheckpoints } from '../src/storage/schema.ts';
import { checkpointBody, signCheckpoint, verifyCheckpoint } from '../src/tlog/checkpoint.ts';
import { TransparencyLog } from '../src/tlog/log.ts';
import { appendNodes, frontierIds, type HashedNode, leafHash, nodeKey, verifyInclusion } from '../src/tlog/merkle.ts';
import type { BackendName, BenchDatabase } from './db.ts';
import { BENCH_ISSUER } from './signing.ts';
import { cpuWindow, type LatencySummary, summarize } from './stats.ts';

export interface ProofSizeResult {
  backend: BackendName;
  size: number;
  /** Seconds from the previous size being ready to this one (hash, insert into every tree this big, vacuum analyze). */
  populateSeconds: number;
  nodesInserted: number;
  latencyMs: LatencySummary;
  /** p50 ÷ the time of one raw ECDSA sign. */
  p50RawSigns: number;
  proofHashes: number;
  /** Proofs checked with verifyInclusion against the checkpoint root (all must pass). */
  verified: number;
  verifyFailures: number;
}

export interface ProofBackendResult {
  backend: BackendName;
  sizes: ProofSizeResult[];
  /** p50 at the largest size ÷ p50 at the smallest. */
  p50Ratio: number;
  ratioSizes: [number, number];
  /** Whole-machine busy share while sampling (this process included). */
  machineBusy: number | null;
}

// Reproducible sample indices across runs.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const leafData = (i: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(i));
  return b;
};

type NodeWriter = { write(nodes: HashedNode[]): Promise<void>; close(): Promise<void> };

const hex = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');

/** COPY into log_nodes over a direct postgres.js connection to the benchmark database. */
function copyWriter(url: string): NodeWriter {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  return {
    async write(nodes) {
      // COPY text format: bytea as \x<hex>, the backslash itself escaped.
      let text = '';
      for (const n of nodes) text += `${n.level}\t${n.index}\t\\\\x${hex(n.hash)}\n`;
      const stream = await client`copy log_nodes (level, idx, hash) from stdin`.writable();
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('finish', () => resolve());
        stream.end(text);
      });
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** Multi-row INSERT ... SELECT FROM unnest(...) through the service's own database handle. */
function unnestWriter(bench: BenchDatabase, rowsPerStatement = 20_000): NodeWriter {
  return {
    async write(nodes) {
      for (let i = 0; i < nodes.length; i += rowsPerStatement) {
        const c = nodes.slice(i, i + rowsPerStatement);
        await bench.database.execute(sql`
          insert into log_nodes (level, idx, hash)
          select l, i, decode(h, 'hex') from unnest(
            ${`{${c.map((n) => n.level).join(',')}}`}::smallint[],
            ${`{${c.map((n) => n.index).join(',')}}`}::bigint[],
            ${`{${c.map((n) => hex(n.hash)).join(',')}}`}::text[]) as u(l, i, h)`);
      }
    },
    close: async () => {},
  };
}

interface Target {
  size: number;
  bench: BenchDatabase;
  writer: NodeWriter;
  log: TransparencyLog;
  root?: Uint8Array;
  populateSeconds?: number;
  nodesInserted: number;
}

/**
 * One database per size, all grown in a single pass over the leaves (a node goes to every
 * database whose size covers it), then sampled round-robin in blocks so that background noise
 * lands on every size alike: the p50 ratio between sizes is what the target is about.
 */
export async function proofBench(
  open: () => Promise<BenchDatabase>,
  opts: {
    sizes: number[];
    samples: number;
    rawSignUs: number;
    chunk?: number;
    block?: number;
    onProgress?: (msg: string) => void;
  },
): Promise<ProofBackendResult> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const chunk = opts.chunk ?? 1 << 16;
  const block = opts.block ?? 50;
  const sizes = [...new Set(opts.sizes)].sort((a, b) => a - b);
  const targets: Target[] = [];
  try {
    for (const size of sizes) {
      const bench = await open();
      targets.push({
        size,
        bench,
        writer: bench.backend === 'postgres' && bench.url ? copyWriter(bench.url) : unnestWriter(bench),
        log: new TransparencyLog({ store: new LogRepo(bench.database), privateKey, publicKey, issuer: BENCH_ISSUER }),
        nodesInserted: 0,
      });
    }
    const backend = targets[0]!.bench.backend;

    // Population: one pass, chunks cut at every target size.
    let size = 0;
    let frontier = new Map<string, Uint8Array>();
    let t0 = performance.now();
    for (const t of targets) {
      while (size < t.size) {
        const count = Math.min(chunk, t.size - size);
        const leaves: Uint8Array[] = new Array(count);
        for (let k = 0; k < count; k++) leaves[k] = leafHash(leafData(size + k));
        const grown = appendNodes(size, frontier, leaves);
        // Every node completed so far belongs to every tree at least this big.
        for (const other of targets) {
          if (other.size >= grown.size) {
            await other.writer.write(grown.nodes);
            other.nodesInserted += grown.nodes.length;
          }
        }
        // Keep only the new frontier: the next chunk builds on it.
        const known = new Map(frontier);
        for (const n of grown.nodes) known.set(nodeKey(n), n.hash);
        size = grown.size;
        frontier = new Map(frontierIds(size).map((id) => [nodeKey(id), known.get(nodeKey(id))!]));
        t.root = grown.root;
      }
      const note = signCheckpoint(checkpointBody({ origin: t.log.identity.origin, size, rootHash: t.root! }), {
        name: t.log.identity.keyName,
        privateKey,
      });
      await t.bench.database.db.insert(logCheckpoints).values({ treeSize: size, rootHash: t.root!, note });
      // Fresh statistics and a vacuumed table, as on a long-lived log; it also keeps autovacuum
      // from starting on the freshly loaded table in the middle of the measurement.
      await t.bench.database.execute(sql`vacuum analyze log_nodes`);
      t.populateSeconds = (performance.now() - t0) / 1000;
      t0 = performance.now();
      opts.onProgress?.(
        `${backend}: ${size.toLocaleString('en-US')} entries ready (${t.populateSeconds.toFixed(1)} s)`,
      );

      // The log itself must see this tree: its latest checkpoint is ours and verifies.
      const cp = await t.log.checkpoint();
      if (cp.treeSize !== size || hex(cp.rootHash) !== hex(t.root!))
        throw new Error(`proofs: stored checkpoint does not match size ${size}`);
      verifyCheckpoint(cp.note, { name: t.log.identity.keyName, publicKey });
    }

    // Warm-up (JIT, connections, plan and buffer caches), untimed, on other indices.
    for (const t of targets) {
      const warm = mulberry32(t.size + 1);
      for (let k = 0; k < 200; k++) await t.log.inclusionHashes(Math.floor(warm() * t.size), t.size);
    }
    // Round-robin blocks of `block` samples per size.
    const state = targets.map((t) => ({
      t,
      rand: mulberry32(t.size),
      latencies: [] as number[],
      verified: 0,
      failures: 0,
      hashes: 0,
    }));
    const endCpu = cpuWindow();
    for (let done = 0; done < opts.samples; done += block) {
      const n = Math.min(block, opts.samples - done);
      for (const st of state) {
        for (let k = 0; k < n; k++) {
          const index = Math.floor(st.rand() * st.t.size);
          const t = performance.now();
          const proof = await st.t.log.inclusionHashes(index, st.t.size);
          st.latencies.push(performance.now() - t);
          st.hashes += proof.length;
          if (done + k < 10) {
            st.verified++;
            if (!verifyInclusion(leafHash(leafData(index)), index, st.t.size, proof, st.t.root!)) st.failures++;
          }
        }
      }
    }
    const cpu = endCpu();
    const results: ProofSizeResult[] = [];
    for (const st of state) {
      const { t } = st;
      // The edges too: the first and the last leaf.
      for (const index of [0, t.size - 1]) {
        st.verified++;
        if (
          !verifyInclusion(
            leafHash(leafData(index)),
            index,
            t.size,
            await t.log.inclusionHashes(index, t.size),
            t.root!,
          )
        )
          st.failures++;
      }
      const latencyMs = summarize(st.latencies);
      results.push({
        backend,
        size: t.size,
        populateSeconds: t.populateSeconds ?? Number.NaN,
        nodesInserted: t.nodesInserted,
        latencyMs,
        p50RawSigns: latencyMs.p50 / (opts.rawSignUs / 1000),
        proofHashes: st.hashes / st.latencies.length,
        verified: st.verified,
        verifyFailures: st.failures,
      });
    }
    const first = results[0];
    const last = results[results.length - 1];
    return {
      backend,
      sizes: results,
      p50Ratio: first && last ? last.latencyMs.p50 / first.latencyMs.p50 : Number.NaN,
      ratioSizes: [first?.size ?? 0, last?.size ?? 0],
      machineBusy: cpu.machineBusy,
    };
  } finally {
    for (const t of targets) {
      await t.writer.close().catch(() => {});
      await t.bench.close().catch(() => {});
    }
  }
}
