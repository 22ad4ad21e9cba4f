// Small measurement helpers shared by the benchmark sections: percentiles, CPU accounting,
// number formatting. No dependencies beyond node:*.
import { readdirSync, readFileSync } from 'node:fs';

export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentile of an ascending-sorted array (q in 0..1). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    samples: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

/** Whole-machine CPU counters from /proc/stat (Linux); undefined elsewhere. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

export interface CpuWindow {
  /** This process's CPU time over the window as a share of one core (1 = one core fully busy). */
  processCores: number;
  /** Busy share of the whole machine over the window (1 = all cores busy), or null off Linux. */
  machineBusy: number | null;
  /** This process's CPU milliseconds over the window. */
  processCpuMs: number;
  /** The main thread's CPU milliseconds over the window (the event loop; without worker threads and GC helpers). */
  mainThreadCpuMs: number;
}

/** Start a CPU accounting window; call the returned function to close it. */
export function cpuWindow(): () => CpuWindow {
  const t0 = performance.now();
  const u0 = process.cpuUsage();
  const t0u = process.threadCpuUsage();
  const m0 = machineTicks();
  return () => {
    const wall = performance.now() - t0;
    const u = process.cpuUsage(u0);
    const tu = process.threadCpuUsage(t0u);
    const cpuMs = (u.user + u.system) / 1000;
    const m1 = machineTicks();
    const machineBusy = m0 && m1 && m1.total > m0.total ? (m1.busy - m0.busy) / (m1.total - m0.total) : null;
    return {
      processCores: wall > 0 ? cpuMs / wall : 0,
      machineBusy,
      processCpuMs: cpuMs,
      mainThreadCpuMs: (tu.user + tu.system) / 1000,
    };
  };
}

/** Run `fn` repeatedly for about `ms` milliseconds; returns calls per second. */
export function rate(ms: number, fn: () => unknown, inner = 50): { opsPerSec: number; ops: number; elapsedMs: number } {
  // A short untimed warm-up lets V8 and OpenSSL settle.
  for (let i = 0; i < inner; i++) fn();
  let ops = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < inner; i++) fn();
    ops += inner;
    elapsed = performance.now() - t0;
  } while (elapsed < ms);
  return { opsPerSec: (ops * 1000) / elapsed, ops, elapsedMs: elapsed };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  if (n >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** A ratio shown with 3 significant digits (0.0123, 1.23, 123). */
export function fmtRatio(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n === 0) return '0';
  return n >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

export function fmtPct(n: number | null): string {
  return n === null || !Number.isFinite(n) ? 'n/a' : `${(n * 100).toFixed(0)}%`;
}

/** Linux clock ticks per second (/proc/<pid>/stat units). */
export const CLK_TCK = 100;

/**
 * CPU milliseconds used so far by every process named `postgres` (the server and its
 * backends), from /proc; null off Linux. Backends that exit inside a window take their CPU
 * with them, so measure windows in which the connections stay open.
 */
export function postgresCpuMs(): number | null {
  let dirs: string[];
  try {
    dirs = readdirSync('/proc');
  } catch {
    return null;
  }
  let ticks = 0;
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (stat.slice(open + 1, close) !== 'postgres') continue;
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the process exited
    }
  }
  return (ticks * 1000) / CLK_TCK;
}
