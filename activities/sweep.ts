// Sweep planning: which of a tier's wallets are due, cut into child-sized and batch-sized id
// ranges, a page of child ranges at a time so no activity result or workflow run grows with
// the tier; and the one log line and metric of a finished sweep.

import { Context } from '@temporalio/activity';
import { analyzeChecksWhenGrown, dueRanges, type IdRange, MAX_BATCH, pruneChecks, recordedBatches, sweepClock } from '../src/db/checks';
import type { WalletId } from '../src/db/types';
import { BATCH_TIMEOUT_MIN_MS } from '../src/config';
import { log } from '../src/log';
import { recordSweep } from '../src/metrics';
import { readScheduleState, tierIntervalMs } from '../src/schedules';
import type { Tier } from '../src/tiers';
import { attemptTimeoutMs } from '../src/rpc/attempt';
import type { SweepContext, SweepRange } from '../workflows/definitions';
import { asChecked, type CheckBatchResult } from './check-batch';
import type { ActivityDeps } from './deps';

/** Up to `pageSize` child ranges after a cursor id, and what is still due from the cursor on. */
export interface SweepPage {
  children: IdRange[];
  /** Due wallets after the cursor, these children's included. */
  due: number;
  /** Child ranges after the cursor, these included. */
  childrenLeft: number;
}

export interface PageRequest {
  sweep: SweepContext;
  /** Ranges start after this wallet id (0: from the first). */
  afterId: WalletId;
  pageSize: number;
}

export interface SweepPlan {
  /** What the sweep's children and batches are given. */
  sweep: SweepContext;
  /** The tier's interval (its schedule's, else the configured one): what made the cutoff. */
  intervalMs: number;
  /** Children in flight at once (SWEEP_CONCURRENCY), read at each plan so a redeploy with a new value takes effect. */
  sweepConcurrency: number;
  paused: boolean | null;
  firstPage: SweepPage;
}

/** What the tier workflow reports of a finished sweep. */
export interface SweepSummary {
  tier: Tier;
  sweepId: string;
  reason: string;
  wallets: number;
  changed: number;
  rpcCalls: number;
  batchesFailed: number;
  durationMs: number;
  error: string | null;
}

export function sweepActivities({ sql, client, config, mints }: ActivityDeps) {
  const childSize = MAX_BATCH * config.batchesPerChild;

  async function page({ sweep, afterId, pageSize }: PageRequest): Promise<SweepPage> {
    const ranges = await dueRanges(sql, { tier: sweep.tier, cutoff: sweep.cutoff, size: childSize, within: { fromId: afterId + 1, toId: Number.MAX_SAFE_INTEGER } });
    return { children: ranges.slice(0, pageSize), due: ranges.reduce((sum, c) => sum + c.wallets, 0), childrenLeft: ranges.length };
  }

  return {
    /** Fixes a sweep's clock and settings (its context) and plans its first page. */
    async planSweep({ tier, sweepId, pageSize }: { tier: Tier; sweepId: string; pageSize: number }): Promise<SweepPlan> {
      const schedule = await readScheduleState(client, tier);
      // The schedule is the source of truth for the cadence: an operator may have changed it.
      const intervalMs = tierIntervalMs(tier, schedule, config.tierIntervalsMs);
      const { plannedAt, cutoff } = await sweepClock(sql, intervalMs);
      const pruned = await pruneChecks(sql, tier, intervalMs);
      if (pruned > 0) Context.current().log.debug('pruned old batch checks', { tier, pruned });
      const sweep: SweepContext = {
        tier,
        sweepId,
        cutoff,
        plannedAt,
        batchWindow: config.batchWindow,
        batchesPerActivity: config.batchesPerActivity,
        batchTimeoutMs: config.batchTimeoutMs ?? Math.max(intervalMs, BATCH_TIMEOUT_MIN_MS),
        attemptTimeoutMs: attemptTimeoutMs(config.rpcTimeoutMs, config.trackedMints.length, config.batchesPerActivity),
        rpcTaskQueue: config.temporal.rpcTaskQueue,
      };
      return { sweep, intervalMs, sweepConcurrency: config.sweepConcurrency, paused: schedule?.paused ?? null, firstPage: await page({ sweep, afterId: 0, pageSize }) };
    },

    /** The next page of a sweep's child ranges. */
    planSweepPage: page,

    /** Cuts one child's range into batches of up to 100 due wallets. */
    async planBatches({ sweep, fromId, toId }: SweepRange): Promise<IdRange[]> {
      // The sweep so far has added a row per batch: its next batches' queries are planned for them.
      await analyzeChecksWhenGrown(sql);
      return dueRanges(sql, { tier: sweep.tier, cutoff: sweep.cutoff, size: MAX_BATCH, within: { fromId, toId } });
    },

    /** What these batches wrote, when recorded (after a checkBatches activity gave up: the batches it did write count done). */
    async recordedBatches(batchKeys: string[]): Promise<(CheckBatchResult | null)[]> {
      return (await recordedBatches(sql, batchKeys)).map((r) => r && asChecked(r, mints.length));
    },

    /** One info line per finished sweep, and its failed batches counted in the metrics. */
    async sweepFinished(summary: SweepSummary): Promise<void> {
      recordSweep(summary.tier, { batchesFailed: summary.batchesFailed });
      const { error, ...fields } = summary;
      if (error === null) log.info('sweep finished', { ...fields });
      else log.warn('sweep ended early', { ...summary });
    },
  };
}
