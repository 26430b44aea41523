// Tier bookkeeping the tier workflow delegates: moving wallets, reading its schedule,
// and (for schedule ticks) waking the tier workflow.

import { checkAddress } from '../src/address';
import { moveWallets } from '../src/db/wallets';
import { readScheduleState, type ScheduleState } from '../src/schedules';
import { requestTierSweep } from '../src/tier-control';
import type { Tier } from '../src/tiers';
import type { ActivityDeps } from './deps';

/** How many examples of untracked addresses a move reports; the counts are exact. */
export const MOVE_EXAMPLES = 20;

/** What a move did, in counts: whole address lists would grow the tier workflow's history by megabytes per signal. */
export interface TierMoveSummary {
  moved: number;
  unchanged: number;
  unknown: number;
  unknownExamples: string[];
}

export function tierActivities({ sql, client, config }: ActivityDeps) {
  return {
    /** Addresses were validated by the workflow; they are checked again here because this is the write. */
    async moveWallets({ addresses, tier }: { addresses: string[]; tier: Tier }): Promise<TierMoveSummary> {
      const valid = addresses.flatMap((a) => {
        const check = checkAddress(a);
        return check.ok ? [check.address] : [];
      });
      // A manual promotion: pinned, so re-tiering does not undo it at once.
      const move = await moveWallets(sql, valid, tier, { pinMs: config.segmentation.pinMs });
      return { moved: move.moved.length, unchanged: move.unchanged.length, unknown: move.unknown.length, unknownExamples: move.unknown.slice(0, MOVE_EXAMPLES) };
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
