// The tests that run inside workerd (`npm run test:workers`, after the Node suite in .ci/run):
// the Worker of wrangler.toml, its Hyperdrive binding pointed at a fresh PostgreSQL database and
// its vars from test/helpers/workerd-setup.ts, which also runs a Node waybill on that database.
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        hyperdrives: { HYPERDRIVE: inject('databaseUrl') },
        bindings: inject('workerVars'),
      },
    })),
  ],
  test: {
    include: ['test/**/*.workerd.test.ts'],
    globalSetup: ['test/helpers/workerd-setup.ts'],
    // One workerd at a time: each takes ~700 MB, and the files share the database and its log.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
