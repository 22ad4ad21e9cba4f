// The embedded database's files hold every attestation and token hash: only the service's user
// may read them. PGlite's file system layer creates its files 0666 whatever the process umask,
// so the tree is tightened after PGlite opens it and again when it closes (files created in
// between sit in a 0700 directory, which nobody else can enter).
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Create `dir` (and parents) owner-only, or tighten it if it exists. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Every directory below `root` (itself included) 0700, every file 0600; links are left alone. */
export function tightenTree(root: string): void {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile() && (lstatSync(full).mode & 0o777) !== 0o600) chmodSync(full, 0o600);
    }
  }
}
