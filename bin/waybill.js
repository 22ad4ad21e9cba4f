#!/usr/bin/env node
// The `waybill` command. An installed package runs the bundle built at `npm pack` (dist/, plain
// JavaScript for Node 20.19 and later); a checkout runs the TypeScript source, on the Node 24
// that `npm install` brought (npx and npm scripts put it first on PATH).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/bin.ts', import.meta.url);
if (existsSync(source) && process.features.typescript) {
  await import(source.href);
} else if (existsSync(new URL('../dist/waybill.js', import.meta.url))) {
  await import('../dist/waybill.js');
} else {
  process.stderr.write(
    'waybill: this checkout runs on the Node that `npm install` brought: use `npx --no waybill ...` or `npm start`\n',
  );
  process.exitCode = 2;
}
