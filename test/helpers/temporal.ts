// The run's shared dev server (started by test/global-setup.ts), as tests use it.

import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { inject } from 'vitest';

export interface TestConnection {
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

export async function testConnection(namespace = 'default'): Promise<TestConnection> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection, namespace });
  return { client, connection, close: () => connection.close() };
}

const GRPC_NOT_FOUND = 5;
const RESET_TIMEOUT_MS = 30_000;

/**
 * Leaves the namespace as a test expects to find it: no schedules, no running workflows.
 * Test files run one after another and share the namespace. One call at a time: the dev
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
    await new Promise((r) => setTimeout(r, 200));
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
