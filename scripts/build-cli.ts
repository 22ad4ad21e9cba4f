// Builds the installable CLI: src/cli/bin.ts and everything it imports, bundled by esbuild into
// one plain-JavaScript ES module (dist/waybill.js) for Node 20.19 and later, with no dependency
// left to install. Runs at `npm pack` (prepack). The server is not in it: `waybill serve` runs
// from a checkout (`npm start`), so src/runtime/start.ts (PGlite, the HTTP server) is replaced by
// src/cli/serve-stub.ts, which says so.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/waybill.js`;

const withoutServer: Plugin = {
  name: 'without-server',
  setup(b) {
    b.onResolve({ filter: /\/runtime\/start\.ts$/ }, () => ({ path: `${root}src/cli/serve-stub.ts` }));
  },
};

rmSync(`${root}dist`, { recursive: true, force: true });
mkdirSync(`${root}dist`);
const result = await build({
  entryPoints: [`${root}src/cli/bin.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  minify: false,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  plugins: [withoutServer],
  // CommonJS dependencies call require() for Node's built-ins; an ES module has none of its own.
  banner: {
    js:
      "import { createRequire as __waybillCreateRequire } from 'node:module';\n" +
      'const require = __waybillCreateRequire(import.meta.url);',
  },
});
const inputs = Object.keys(result.metafile.inputs);
const server = inputs.filter((i) => /pglite|@hono\/node-server|src\/runtime\//.test(i));
if (server.length > 0) throw new Error(`the CLI bundle must not hold the server, but it has ${server.join(', ')}`);
console.log(`dist/waybill.js: ${(statSync(outfile).size / 1024).toFixed(0)} KiB from ${inputs.length} modules`);
