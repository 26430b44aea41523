// Tier bookkeeping the tier workflow delegates: moving wallets, reading its schedule,
// and (for schedule ticks) waking the tier workflow.

import { checkAddress } from '../src/address';
import { moveWallets, type TierMove } from '../src/db/wallets';
import { readScheduleState, type ScheduleState } from '../src/schedules';
import { requestTierSweep } from '../src/tier-control';
import type { Tier } from '../src/tiers';
import type { ActivityDeps } from './deps';

export function tierActivities({ sql, client, config }: ActivityDeps) {
  return {
    /** Addresses were validated by the workflow; they are checked again here because this is the write. */
    async moveWallets({ addresses, tier }: { addresses: string[]; tier: Tier }): Promise<TierMove> {
      const valid = addresses.flatMap((a) => {
        const check = checkAddress(a);
        return check.ok ? [check.address] : [];
      });
      // A manual promotion: pinned, so re-tiering does not undo it at once.
      return moveWallets(sql, valid, tier, { pinMs: config.segmentation.pinMs });
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
