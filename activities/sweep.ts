// Sweep planning: which of a tier's wallets are due, cut into child-sized and batch-sized id ranges.

import { Context } from '@temporalio/activity';
import { dueRanges, type IdRange, MAX_BATCH, pruneChecks, sweepClock } from '../src/db/checks';
import { readScheduleState } from '../src/schedules';
import type { Tier } from '../src/tiers';
import type { ActivityDeps } from './deps';

export interface ChildRange {
  tier: Tier;
  cutoff: string;
  /** The sweep's plan instant; absent in children started before it existed (their reads stand in). */
  plannedAt?: string;
  fromId: number;
  toId: number;
}

export interface SweepPlan {
  /** Batches of sweeps planned before this instant no longer count; every batch of the sweep uses the same one. */
  cutoff: string;
  /** When this sweep was planned: its batches record it. */
  plannedAt: string;
  intervalMs: number;
  paused: boolean | null;
  due: number;
  batches: number;
  children: IdRange[];
  /** Worker settings, read at each sweep so a redeploy with new values takes effect. */
  sweepConcurrency: number;
  batchWindow: number;
  rpcTaskQueue: string;
}

export function sweepActivities({ sql, client, config }: ActivityDeps) {
  return {
    async planSweep({ tier }: { tier: Tier }): Promise<SweepPlan> {
      const schedule = await readScheduleState(client, tier);
      // The schedule is the source of truth for the cadence: an operator may have changed it.
      const intervalMs = schedule?.intervalMs ?? config.tierIntervalsMs[tier];
      const { plannedAt, cutoff } = await sweepClock(sql, intervalMs);
      const pruned = await pruneChecks(sql, tier, intervalMs);
      if (pruned > 0) Context.current().log.debug('pruned old batch checks', { tier, pruned });
      const children = await dueRanges(sql, { tier, cutoff, size: MAX_BATCH * config.batchesPerChild });
      const due = children.reduce((sum, c) => sum + c.wallets, 0);
      return {
        cutoff,
        plannedAt,
        intervalMs,
        paused: schedule?.paused ?? null,
        due,
        batches: Math.ceil(due / MAX_BATCH),
        children,
        sweepConcurrency: config.sweepConcurrency,
        batchWindow: config.batchWindow,
        rpcTaskQueue: config.temporal.rpcTaskQueue,
      };
    },

    /** Cuts one child's range into batches of up to 100 due wallets. */
    async planBatches({ tier, cutoff, fromId, toId }: ChildRange): Promise<IdRange[]> {
      return dueRanges(sql, { tier, cutoff, size: MAX_BATCH, within: { fromId, toId } });
    },
  };
}
