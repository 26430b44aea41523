// Tier bookkeeping the tier workflow delegates: moving wallets, reading its schedule,
// and (for schedule ticks) waking the tier workflow.

import type { Address } from '../src/address';
import { moveWallets } from '../src/db/wallets';
import { readScheduleState, type ScheduleState } from '../src/schedules';
import { requestTierSweep } from '../src/tier-control';
import type { Tier } from '../src/tiers';
import { PROMOTION_EXAMPLES } from '../workflows/definitions';
import type { ActivityDeps } from './deps';

/** What a move did, in counts: whole address lists would grow the tier workflow's history by megabytes per signal. */
export interface TierMoveSummary {
  moved: number;
  unchanged: number;
  unknown: number;
  unknownExamples: string[];
}

export function tierActivities({ sql, client, config }: ActivityDeps) {
  return {
    /** The tier workflow checked the addresses (workflows/promotion.ts). */
    async moveWallets({ addresses, tier }: { addresses: Address[]; tier: Tier }): Promise<TierMoveSummary> {
      // A manual promotion: pinned, so re-tiering does not undo it at once.
      const move = await moveWallets(sql, addresses, tier, { pinMs: config.segmentation.pinMs });
      return { moved: move.moved.length, unchanged: move.unchanged.length, unknown: move.unknown.length, unknownExamples: move.unknown.slice(0, PROMOTION_EXAMPLES) };
    },

    async readSchedule({ tier }: { tier: Tier }): Promise<ScheduleState | null> {
      return readScheduleState(client, tier);
    },

    /** Signals the tier workflow to sweep, starting it first if it is not running. */
    async requestSweep({ tier, reason }: { tier: Tier; reason: string }): Promise<void> {
      await requestTierSweep(client, config, tier, reason);
    },
  };
}
