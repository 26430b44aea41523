// What a tier's Schedule starts on every tick: it asks the tier workflow to sweep (starting
// it if needed) and ends. The tier workflow decides what to do with the request.

import { proxyActivities } from '@temporalio/workflow';
import type { MainActivities } from '../activities';
import type { Tier } from '../src/tiers';

const { requestSweep } = proxyActivities<MainActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

export async function sweepTickWorkflow({ tier }: { tier: Tier }): Promise<void> {
  await requestSweep({ tier, reason: 'schedule' });
}
