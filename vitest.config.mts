import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One dev server and one Postgres for the whole run (parallel createLocal() calls race),
    // and the forks pool: the Temporal SDK has memory problems under worker threads.
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Files share one Temporal namespace and a 2-core machine: run them one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
