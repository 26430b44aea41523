// Talking to the tier workflows: describing them, querying `progress` with a deadline, and
// saying in words why a tier does not answer.

import { isGrpcServiceError, type Client, WorkflowNotFoundError } from '@temporalio/client';
import { type Tier, tierWorkflowId } from '../tiers';
import { progressQuery, type TierProgress } from '../../workflows/definitions';
import { CliError, EXIT, oneLine } from './errors';
import type { Context } from './context';

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_NOT_FOUND = 5;

/** The gRPC status code of an error or of one of its causes. */
function hasGrpcCode(error: unknown, code: number): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((isGrpcServiceError(e) || e instanceof Error) && (e as { code?: unknown }).code === code) return true;
  }
  return false;
}

export const isDeadline = (error: unknown): boolean => hasGrpcCode(error, GRPC_DEADLINE_EXCEEDED);
const isNotFound = (error: unknown): boolean => error instanceof WorkflowNotFoundError || hasGrpcCode(error, GRPC_NOT_FOUND);

export type WorkflowState =
  | { kind: 'running'; progress: TierProgress }
  | { kind: 'not-running'; detail: string }
  | { kind: 'no-answer'; detail: string };

/**
 * The tier workflow's state and, when it runs, its `progress`. Never throws for a workflow
 * that is missing, closed or not answering; throws CliError when Temporal itself fails.
 */
export async function tierState(ctx: Context, tier: Tier): Promise<WorkflowState> {
  const id = tierWorkflowId(tier);
  const taskQueue = ctx.config().temporal.taskQueue;
  let status: string;
  try {
    const description = await ctx.withDeadline((client: Client) => client.workflow.getHandle(id).describe());
    status = description.status.name;
  } catch (error) {
    if (isNotFound(error)) return { kind: 'not-running', detail: `no workflow ${id}: start a worker (balance-tracker worker)` };
    if (isDeadline(error)) throw new CliError(`Temporal at ${ctx.config().temporal.address} did not answer in time`, EXIT.failure, error);
    throw new CliError(`cannot describe ${id}: ${oneLine(error, ctx.secrets())}`, EXIT.failure, error);
  }
  if (status !== 'RUNNING') {
    return { kind: 'not-running', detail: `${id} is ${status.toLowerCase().replace(/_/g, ' ')}: start a worker (balance-tracker worker)` };
  }
  try {
    const progress = await ctx.withDeadline((client: Client) => client.workflow.getHandle(id).query(progressQuery));
    return { kind: 'running', progress };
  } catch (error) {
    if (isDeadline(error)) {
      return { kind: 'no-answer', detail: `${id} does not answer queries: is a worker polling task queue ${taskQueue}?` };
    }
    if (isNotFound(error)) return { kind: 'not-running', detail: `no workflow ${id}: start a worker (balance-tracker worker)` };
    return { kind: 'no-answer', detail: `${id} did not answer: ${oneLine(error, ctx.secrets())}` };
  }
}
