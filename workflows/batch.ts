// A child of a sweep: one id range of a tier, cut into batches of up to 100 wallets,
// each checked by one activity on the rate-limited RPC task queue.

import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, patched, proxyActivities, setHandler, TimeoutFailure } from '@temporalio/workflow';
import type { MainActivities, RpcActivities } from '../activities';
import type { BatchSpan, CheckBatchResult } from '../activities/check-batch';
import type { IdRange } from '../src/db/checks';
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

/**
 * Children from before it scheduled one checkBatch per batch; patched() makes them replay as
 * they ran (README, "Changing workflow code"). Remove the old path with deprecatePatch once none
 * can still run.
 */
export const BATCHES_PER_ACTIVITY_PATCH = 'several-batches-per-activity';

/** Why a batch failed, in one line: the last attempt's error, and whether BATCH_TIMEOUT ended its retries. */
function batchFailure(error: ActivityFailure): string {
  const { cause } = error;
  const last =
    cause instanceof ApplicationFailure ? `${cause.type}: ${cause.message}` : cause instanceof TimeoutFailure ? `timed out (${cause.message})` : error.message;
  return error.retryState === RetryState.TIMEOUT ? `gave up after retrying for BATCH_TIMEOUT; last error ${last}` : last;
}

export async function batchWorkflow({ sweep, childIndex, fromId, toId }: BatchWorkflowInput): Promise<BatchProgress> {
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' };
  const rpcOptions = {
    taskQueue: sweep.rpcTaskQueue,
    // Ahead of lower tiers' batches waiting on the shared rate limit (and their retries too).
    priority: { priorityKey: TIER_PRIORITY[sweep.tier] },
    // An RPC outage is waited out with capped backoff for up to BATCH_TIMEOUT; past it the batch
    // counts failed, its wallets stay due and the next sweep tries them again, so no batch holds
    // its sweep open for good. A request that can never succeed fails fast (RpcRejected is
    // raised as non-retryable).
    scheduleToCloseTimeout: sweep.batchTimeoutMs,
    retry,
  };
  const { checkBatch } = proxyActivities<RpcActivities>({ ...rpcOptions, startToCloseTimeout: '1 minute' });
  // Room for each call of the group's batches to wait for its turn and time out (src/rpc/attempt.ts;
  // absent in sweeps planned before it existed): the heartbeat timeout, not this, is what notices
  // a dead worker.
  const groupOptions = { ...rpcOptions, startToCloseTimeout: sweep.attemptTimeoutMs ?? '5 minutes', heartbeatTimeout: '30s' };
  const { recordedBatches } = proxyActivities<MainActivities>({ startToCloseTimeout: '1 minute', retry });
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

  const done = (result: CheckBatchResult): void =>
    addTally(progress, {
      batchesDone: 1,
      batchesFailed: 0,
      walletsChecked: result.wallets,
      walletsChanged: result.changed,
      walletsSetAside: result.setAside,
      staleReads: result.stale,
      rpcCalls: result.rpcCalls,
    });
  const failed = (range: { fromId: number; toId: number }, why: string): void => {
    progress.batchesFailed++;
    if (progress.failures.length < 10) progress.failures.push(`ids ${range.fromId}-${range.toId}: ${why}`);
  };

  const batches = await planBatches({ sweep, fromId, toId });
  progress.batchesTotal = batches.length;
  const spans = batches.map(({ fromId: from, toId: to }: IdRange, index): BatchSpan => ({ fromId: from, toId: to, batchKey: `${sweep.sweepId}/${childIndex}/${index}` }));
  if (!patched(BATCHES_PER_ACTIVITY_PATCH)) {
    await inWindow(spans, sweep.batchWindow, async (span) => {
      try {
        done(await checkBatch({ sweep, ...span }));
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        failed(span, batchFailure(error));
      }
    });
    return progress;
  }
  const perActivity = sweep.batchesPerActivity ?? 1;
  const groups = Array.from({ length: Math.ceil(spans.length / perActivity) }, (_, i) => spans.slice(i * perActivity, (i + 1) * perActivity));
  await inWindow(groups, sweep.batchWindow, async (group) => {
    // A group's BATCH_TIMEOUT runs from its first activity: the activities that take over its
    // rest (checkGroup stops an attempt early once it got somewhere) get what is left of it.
    const deadline = Date.now() + sweep.batchTimeoutMs;
    for (let rest = group; rest.length > 0; ) {
      const { checkBatches } = proxyActivities<RpcActivities>({ ...groupOptions, scheduleToCloseTimeout: Math.max(1_000, deadline - Date.now()) });
      try {
        const outcomes = await checkBatches({ sweep, batches: rest });
        outcomes.forEach((outcome, i) => ('failed' in outcome ? failed(rest[i]!, outcome.failed) : done(outcome)));
        rest = rest.slice(outcomes.length);
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        // The attempts may have written some of the group's batches before giving up: those count done.
        const written = await recordedBatches(rest.map((b) => b.batchKey));
        rest.forEach((span, i) => {
          const result = written[i];
          if (result) done(result);
          else failed(span, batchFailure(error));
        });
        return;
      }
    }
  });
  return progress;
}
