// Part of `npm run lint`: every line of TypeScript in src/, test/, bench/ and scripts/ fits in 120
// columns. Biome formats code to that width but leaves long strings, template literals and
// comments alone; this catches those. Exit 1 listing each line that is too long.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const MAX_COLUMNS = 120;
const ROOTS = ['src', 'test', 'bench', 'scripts'];
const repo = path.resolve(import.meta.dirname, '..');

/** The lines of `text` longer than MAX_COLUMNS (in characters), 1-based. */
export function longLines(text: string): Array<{ line: number; columns: number }> {
  return text
    .split('\n')
    .map((l, i) => ({ line: i + 1, columns: [...l].length }))
    .filter((l) => l.columns > MAX_COLUMNS);
}

if (import.meta.main) {
  const problems: string[] = [];
  for (const root of ROOTS) {
    for (const file of readdirSync(path.join(repo, root), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.includes('node_modules')) continue;
      const name = path.join(root, file);
      for (const l of longLines(readFileSync(path.join(repo, name), 'utf8')))
        problems.push(`${name}:${l.line}: ${l.columns} columns (at most ${MAX_COLUMNS})`);
    }
  }
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log(`line width: every line of ${ROOTS.join(', ')} fits in ${MAX_COLUMNS} columns`);
}
