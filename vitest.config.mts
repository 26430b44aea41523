import { defineConfig } from 'vitest/config';

/**
 * The unit project: tests that need no Temporal server and no Postgres (`npm run test:unit`,
 * the edit-test loop). A new test file belongs here when it starts neither, directly or
 * through a helper (inject(), startEngine, freshDatabase, a dev or test server).
 */
export const UNIT_TESTS = [
  'test/address.test.ts',
  'test/budget.test.ts',
  'test/cli-output.test.ts',
  'test/config.test.ts',
  'test/migrations.test.ts',
  'test/pacer.test.ts',
  'test/redact.test.ts',
  'test/rpc.test.ts',
  'test/simulator.test.ts',
  'test/replay/**/*.test.ts',
];

export default defineConfig({
  test: {
    // The forks pool: the Temporal SDK has memory problems under worker threads.
    pool: 'forks',
    // Stack files run side by side (each has its own Temporal namespace, task queues and databases):
    // most of their time is waiting for schedules, paced RPC and outages, not CPU.
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT_TESTS } },
      {
        extends: true,
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          exclude: UNIT_TESTS,
          // One dev server and one Postgres for the whole run (parallel createLocal() calls race).
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
