// A child of a sweep: one id range of a tier, cut into batches of up to 100 wallets,
// each checked by one activity on the rate-limited RPC task queue.

import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, proxyActivities, setHandler, TimeoutFailure } from '@temporalio/workflow';
import type { MainActivities, RpcActivities } from '../activities';
import { TIER_PRIORITY } from '../src/tiers';
import { addTally, type BatchProgress, batchProgressQuery, emptyTally, type SweepRange } from './definitions';
import { inWindow } from './window';

export interface BatchWorkflowInput extends SweepRange {
  /** The child's place in its sweep: its batches' keys start with it. */
  childIndex: number;
}

const { planBatches } = proxyActivities<MainActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Why a batch failed, in one line: the last attempt's error, and whether BATCH_TIMEOUT ended its retries. */
function batchFailure(error: ActivityFailure): string {
  const { cause } = error;
  const last =
    cause instanceof ApplicationFailure ? `${cause.type}: ${cause.message}` : cause instanceof TimeoutFailure ? `timed out (${cause.message})` : error.message;
  return error.retryState === RetryState.TIMEOUT ? `gave up after retrying for BATCH_TIMEOUT; last error ${last}` : last;
}

export async function batchWorkflow({ sweep, childIndex, fromId, toId }: BatchWorkflowInput): Promise<BatchProgress> {
  const { checkBatch } = proxyActivities<RpcActivities>({
    taskQueue: sweep.rpcTaskQueue,
    // Ahead of lower tiers' batches waiting on the shared rate limit (and their retries too).
    priority: { priorityKey: TIER_PRIORITY[sweep.tier] },
    startToCloseTimeout: sweep.attemptTimeoutMs ?? '1 minute',
    // An RPC outage is waited out with capped backoff for up to BATCH_TIMEOUT; past it the batch
    // counts failed, its wallets stay due and the next sweep tries them again, so no batch holds
    // its sweep open for good. A request that can never succeed fails fast (RpcRejected is
    // raised as non-retryable).
    scheduleToCloseTimeout: sweep.batchTimeoutMs,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  const progress: BatchProgress = {
    tier: sweep.tier,
    sweepId: sweep.sweepId,
    fromId,
    toId,
    batchesTotal: 0,
    ...emptyTally(),
    failures: [],
  };
  setHandler(batchProgressQuery, () => progress);

  const batches = await planBatches({ sweep, fromId, toId });
  progress.batchesTotal = batches.length;
  await inWindow(batches, sweep.batchWindow, async (range, index) => {
    try {
      const result = await checkBatch({ sweep, fromId: range.fromId, toId: range.toId, batchKey: `${sweep.sweepId}/${childIndex}/${index}` });
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
      if (progress.failures.length < 10) progress.failures.push(`ids ${range.fromId}-${range.toId}: ${batchFailure(error)}`);
    }
  });
  return progress;
}
