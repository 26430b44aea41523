import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

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
  'test/simulator-tokens.test.ts',
  'test/webhook-send.test.ts',
  'test/replay/**/*.test.ts',
];

/**
 * Stack files that take minutes, mostly waiting (outages, start-to-close timeouts, paced sweeps,
 * thousands of children): started first, so the shorter files fill the other workers around
 * them. Vitest would order by the durations of the last run, and a fresh clone has none.
 */
const LONG_TESTS = [
  'test/reliability/worker-kill.test.ts',
  'test/reliability/rpc-faults.test.ts',
  'test/reliability/postgres-outage.test.ts',
  'test/workflows/sweep-scale.test.ts',
  'test/cluster/workers.test.ts',
  'test/cli.test.ts',
];

/**
 * Stack files whose assertions a starved CPU can break, whatever the code does: exactly one
 * successful read per batch (engine-faults), a 429 provoked by the request rate (secrets), a
 * requested sweep not overtaken by a scheduled one (hostile-input). They run one at a time,
 * after the parallel files.
 */
const SERIAL_TESTS = ['test/engine-faults.test.ts', 'test/reliability/hostile-input.test.ts', 'test/reliability/secrets.test.ts'];

/**
 * dist/ built first (the CLI the tests run); one dev server and one Postgres for the whole run
 * (parallel createLocal() calls race). Each stack project runs it: a second build finds nothing to do.
 */
const STACK_SETUP = ['test/build.ts', 'test/global-setup.ts'];

class LongTestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const i = LONG_TESTS.indexOf(relative(file.project.config.root, file.moduleId));
      return i < 0 ? LONG_TESTS.length : i;
    };
    // A stable sort: the rest keep vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    // The forks pool: the Temporal SDK has memory problems under worker threads.
    pool: 'forks',
    // Stack files run side by side (each has its own Temporal namespace, task queues and databases):
    // most of their time is waiting for schedules, paced RPC and outages, not CPU.
    maxWorkers: 3,
    sequence: { sequencer: LongTestsFirst },
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT_TESTS } },
      {
        extends: true,
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT_TESTS, ...SERIAL_TESTS],
          globalSetup: STACK_SETUP,
        },
      },
      {
        extends: true,
        test: { name: 'stack-serial', include: SERIAL_TESTS, globalSetup: STACK_SETUP, fileParallelism: false },
      },
    ],
  },
});
