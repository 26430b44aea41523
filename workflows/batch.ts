// A child of a sweep: one id range of a tier, cut into batches of up to 100 wallets,
// each checked by one activity on the rate-limited RPC task queue.

import { ActivityFailure, ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { MainActivities, RpcActivities } from '../activities';
import { TIER_PRIORITY, type Tier } from '../src/tiers';
import { addTally, type BatchProgress, batchProgressQuery, emptyTally } from './definitions';
import { inWindow } from './window';

export interface BatchWorkflowInput {
  tier: Tier;
  sweepId: string;
  childIndex: number;
  cutoff: string;
  /** The sweep's plan instant; absent in children started before it existed. */
  plannedAt?: string;
  fromId: number;
  toId: number;
  /**
   * Batches in flight at once (BATCH_WINDOW); the task-queue rate limit does the pacing, the
   * window only keeps enough attempts waiting on it. Absent in children started before it existed.
   */
  batchWindow?: number;
  rpcTaskQueue: string;
}

const BATCH_WINDOW_BEFORE_CONFIG = 2;

const { planBatches } = proxyActivities<MainActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchProgress> {
  const { tier, sweepId, childIndex, cutoff, plannedAt, fromId, toId, rpcTaskQueue, batchWindow = BATCH_WINDOW_BEFORE_CONFIG } = input;
  const { checkBatch } = proxyActivities<RpcActivities>({
    taskQueue: rpcTaskQueue,
    // Ahead of lower tiers' batches waiting on the shared rate limit (and their retries too).
    priority: { priorityKey: TIER_PRIORITY[tier] },
    startToCloseTimeout: '1 minute',
    // No attempt limit: an RPC outage is waited out with capped backoff; a request that
    // can never succeed fails fast (RpcRejected is raised as non-retryable).
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  const progress: BatchProgress = {
    tier,
    sweepId,
    fromId,
    toId,
    batchesTotal: 0,
    ...emptyTally(),
    failures: [],
  };
  setHandler(batchProgressQuery, () => progress);

  const batches = await planBatches({ tier, cutoff, fromId, toId });
  progress.batchesTotal = batches.length;
  await inWindow(batches, batchWindow, async (range, index) => {
    try {
      const result = await checkBatch({ tier, cutoff, plannedAt, fromId: range.fromId, toId: range.toId, batchKey: `${sweepId}/${childIndex}/${index}` });
      addTally(progress, {
        batchesDone: 1,
        batchesFailed: 0,
        walletsChecked: result.wallets,
        walletsChanged: result.changed,
        walletsSetAside: result.setAside,
        staleReads: result.stale,
        rpcCalls: result.rpcCalls,
      });
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      progress.batchesFailed++;
      const cause = error.cause instanceof ApplicationFailure ? `${error.cause.type}: ${error.cause.message}` : error.message;
      if (progress.failures.length < 10) progress.failures.push(`ids ${range.fromId}-${range.toId}: ${cause}`);
    }
  });
  return progress;
}
