// What a tier's Schedule starts on every tick: it asks the tier workflow to sweep (starting
// it if needed) and ends. The tier workflow decides what to do with the request.
//
// The request is a local activity: one signal-with-start, done in the worker that runs the
// tick, recorded as one marker instead of an activity task's three events and a second
// workflow task, without a trip through the task queue. Ticks started before that change
// scheduled an activity task; patched() makes them replay as they ran (README, "Changing
// workflow code").

import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { MainActivities } from '../activities';
import type { Tier } from '../src/tiers';

const options = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
} as const;
const asActivityTask = proxyActivities<MainActivities>(options);
const asLocalActivity = proxyLocalActivities<MainActivities>(options);

/** Remove with asActivityTask once no tick from before it can still run (then deprecatePatch). */
export const TICK_LOCAL_ACTIVITY_PATCH = 'tick-requests-sweep-as-local-activity';

export async function sweepTickWorkflow({ tier }: { tier: Tier }): Promise<void> {
  const { requestSweep } = patched(TICK_LOCAL_ACTIVITY_PATCH) ? asLocalActivity : asActivityTask;
  await requestSweep({ tier, reason: 'schedule' });
}
