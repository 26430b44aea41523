// The run's shared dev server (started by test/global-setup.ts), as tests use it.

import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { type Client, isGrpcServiceError } from '@temporalio/client';
import { inject } from 'vitest';
import { registerNamespace } from '../../tools/stack/cluster';

let namespace: Promise<string> | undefined;

/**
 * This test file's namespace on the run's shared server, registered (with the search attributes)
 * on first use. Test files run in parallel and resetNamespace() clears a whole namespace, so each
 * file has one of its own (vitest isolates files: this module, and so the name, is per file).
 */
export const testNamespace = (): Promise<string> =>
  (namespace ??= (async () => {
    const name = `bt-test-${randomUUID().slice(0, 8)}`;
    await registerNamespace(inject('temporalAddress'), name);
    return name;
  })());

const GRPC_NOT_FOUND = 5;
const RESET_TIMEOUT_MS = 30_000;

/**
 * Leaves the namespace as a test expects to find it: no schedules, no running workflows.
 * Tests of a file run one after another and share its namespace. One call at a time: the dev
 * server's SQLite store takes one connection.
 */
export async function resetNamespace(client: Client): Promise<void> {
  const deadline = Date.now() + RESET_TIMEOUT_MS;
  for (;;) {
    let found = 0;
    for await (const schedule of client.schedule.list()) {
      found++;
      await ignoreNotFound(client.schedule.getHandle(schedule.scheduleId).delete());
    }
    for await (const execution of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
      found++;
      await ignoreNotFound(
        client.workflow.getHandle(execution.workflowId, execution.runId).terminate('reset between tests'),
      );
    }
    // Visibility lags a little, and closing a parent terminates its children a moment later.
    if (found === 0) return;
    if (Date.now() > deadline) throw new Error(`namespace still has schedules or running workflows after ${RESET_TIMEOUT_MS} ms`);
    await sleep(200);
  }
}

async function ignoreNotFound(operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  if (error instanceof Error && error.name === 'WorkflowNotFoundError') return true;
  if (error instanceof Error && error.name === 'ScheduleNotFoundError') return true;
  const cause = error instanceof Error ? error.cause : undefined;
  return [error, cause].some((e) => isGrpcServiceError(e) && e.code === GRPC_NOT_FOUND);
}
