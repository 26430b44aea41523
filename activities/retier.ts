// Re-tiering: wallets follow their activity, then the budget is checked against the new sizes.

import { Context } from '@temporalio/activity';
import { rpcBudget, type BudgetFit } from '../src/budget';
import { retier, type RetierResult } from '../src/db/segmentation';
import { readScheduleState, tierIntervalMs } from '../src/schedules';
import { TIERS, type Tier } from '../src/tiers';
import type { ActivityDeps } from './deps';

export function retierActivities({ sql, client, config }: ActivityDeps) {
  return {
    async retierWallets(): Promise<RetierResult & { budget: BudgetFit }> {
      const result = await retier(sql, config.segmentation);
      const intervals = {} as Record<Tier, number>;
      for (const tier of TIERS) {
        intervals[tier] = tierIntervalMs(tier, await readScheduleState(client, tier), config.tierIntervalsMs);
      }
      const budget = rpcBudget(result.tiers, intervals, config.rpcMaxRps, config.trackedMints.length);
      if (!budget.fits) {
        // Through the activity logger, so the line carries the workflow and activity ids.
        Context.current().log.warn('tier sizes and intervals need more RPC than RPC_MAX_RPS allows: sweeps will fall behind', {
          requiredRps: Number(budget.requiredRps.toFixed(2)),
          maxRps: budget.maxRps,
        });
      }
      return { ...result, budget };
    },
  };
}
