import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Those run inside workerd: vitest.workers.config.ts.
    exclude: ['**/node_modules/**', 'test/**/*.workerd.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on CI's 2 cores (vitest's default is cores - 1 = 1): most test time waits on
    // PostgreSQL, child processes and the browser, so the second worker fills the idle core.
    maxWorkers: 2,
  },
});
