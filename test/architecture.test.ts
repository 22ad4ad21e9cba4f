// The dependency rule of docs/architecture.md, read off the import graph of src/:
// runtime -> deps -> {http, ui, cli} -> services -> {intoto, signing, tlog, policy, rebuild, audit, storage}.
// Type-only imports count too: a layer that names another's types depends on it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;
const IMPORT = /(?:import|export)\s[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|import\s*'([^']+)'/g;

/** Every module of src/ (path relative to src/) with what it imports: modules of src/ or packages. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const text = readFileSync(path.join(SRC, file), 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      return spec.startsWith('.') ? path.relative(SRC, path.resolve(SRC, path.dirname(file), spec)) : spec;
    });
    graph.set(file, targets);
  }
  return graph;
}

const graph = importGraph();
/** The folder (or root file, without .ts) a module of src/ belongs to. */
const areaOf = (module: string) => (module.includes('/') ? module.split('/')[0]! : module.replace(/\.ts$/, ''));
const TREE_MATHS = ['tlog/merkle.ts', 'tlog/checkpoint.ts', 'tlog/entry.ts', 'tlog/batch.ts'];

/** `from -> to` for every import of a module in `areas` (or listed) reaching a forbidden area or package. */
function violations(from: (module: string) => boolean, forbidden: readonly string[]): string[] {
  const out: string[] = [];
  for (const [module, targets] of graph) {
    if (!from(module)) continue;
    for (const t of targets) {
      const inSrc = graph.has(t);
      const hit = inSrc ? forbidden.includes(areaOf(t)) : forbidden.some((p) => t === p || t.startsWith(`${p}/`));
      if (hit) out.push(`${module} -> ${t}`);
    }
  }
  return out;
}
const inAreas =
  (...areas: string[]) =>
  (module: string) =>
    areas.includes(areaOf(module));

describe('the dependency rule (docs/architecture.md)', () => {
  it('reads a graph of the whole of src/', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get('deps.ts')).toContain('storage/attestation-repo.ts');
  });

  it('keeps the pure cores free of storage, HTTP and services: intoto, policy, rebuild, the tree maths in tlog', () => {
    const pure = (m: string) => inAreas('intoto', 'policy', 'rebuild')(m) || TREE_MATHS.includes(m);
    const outer = ['storage', 'http', 'services', 'cli', 'runtime', 'deps', 'app'];
    expect(violations(pure, [...outer, 'hono', 'drizzle-orm', 'postgres', '@electric-sql/pglite', 'pino'])).toEqual([]);
  });

  it('has tlog declare the storage it needs instead of importing it', () => {
    expect(violations(inAreas('tlog'), ['storage', 'services', 'http'])).toEqual([]);
  });

  it('keeps storage below the log and the services', () => {
    expect(violations(inAreas('storage'), ['tlog', 'services', 'http', 'cli', 'runtime'])).toEqual([]);
  });

  it('keeps services free of HTTP and of the wiring', () => {
    expect(violations(inAreas('services'), ['http', 'ui', 'cli', 'runtime', 'deps', 'app', 'hono'])).toEqual([]);
  });

  it('has HTTP, the web UI and the CLI reach storage only through services', () => {
    expect(violations(inAreas('http', 'ui', 'cli'), ['storage', 'drizzle-orm'])).toEqual([]);
  });

  it('keeps the web UI and the HTTP API apart: neither imports the other (app.ts mounts both)', () => {
    expect(violations(inAreas('ui'), ['http', 'cli', 'runtime'])).toEqual([]);
    expect(violations(inAreas('http', 'cli'), ['ui'])).toEqual([]);
  });

  it('keeps every lower layer from importing upwards', () => {
    const lower = inAreas('intoto', 'signing', 'tlog', 'policy', 'rebuild', 'audit', 'storage', 'util', 'errors');
    expect(violations(lower, ['services', 'http', 'ui', 'cli', 'runtime', 'deps', 'app'])).toEqual([]);
  });

  it("keeps PGlite, Node's start-up and the CLI out of the Workers entry (runtime/worker.ts)", () => {
    const reached = new Set<string>();
    const visit = (m: string) => {
      if (reached.has(m)) return;
      reached.add(m);
      for (const t of graph.get(m) ?? []) visit(t);
    };
    visit('runtime/worker.ts');
    const forbidden = ['storage/database.ts', 'runtime/node.ts', '@electric-sql/pglite', 'drizzle-orm/pglite'];
    expect([...reached].filter((m) => forbidden.some((f) => m.startsWith(f)) || areaOf(m) === 'cli')).toEqual([]);
    expect(reached.has('storage/postgres.ts')).toBe(true);
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (m: string) => {
      state.set(m, 'open');
      stack.push(m);
      for (const t of graph.get(m) ?? []) {
        if (!graph.has(t)) continue;
        if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].join(' -> '));
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(m, 'done');
    };
    for (const m of graph.keys()) if (!state.has(m)) visit(m);
    expect(cycles).toEqual([]);
  });
});
