// Temporal Schedules set each tier's cadence. Operators own them after creation:
// start-up creates a missing schedule and never overwrites an existing one.

import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Config } from './config';
import { KIND_KEY, TIER_KEY } from './search-attributes';
import { TIERS, type Tier, tierScheduleId } from './tiers';

export interface ScheduleState {
  paused: boolean;
  /** The interval the schedule runs at now (an operator may have changed it). */
  intervalMs: number;
  note: string;
}

/** Creates each tier's schedule if it is missing; returns the tiers it created. */
export async function ensureSchedules(client: Client, config: Config): Promise<Tier[]> {
  const created: Tier[] = [];
  for (const tier of TIERS) {
    try {
      await client.schedule.create({
        scheduleId: tierScheduleId(tier),
        spec: { intervals: [{ every: config.tierIntervalsMs[tier] }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'sweepTickWorkflow',
          workflowId: tierScheduleId(tier),
          taskQueue: config.temporal.taskQueue,
          args: [{ tier }],
          typedSearchAttributes: [
            { key: TIER_KEY, value: tier },
            { key: KIND_KEY, value: 'sweep' },
          ],
          memo: { tier, purpose: `asks balance-tier-${tier} to sweep` },
        },
        policies: {
          // Ticks only ask the tier workflow to sweep; it coalesces them. After downtime one
          // catch-up tick is enough.
          overlap: ScheduleOverlapPolicy.BUFFER_ONE,
          catchupWindow: '1 minute',
        },
        memo: { tier },
      });
      created.push(tier);
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    }
  }
  return created;
}

/** The schedule as operators left it, or null when there is none. */
export async function readScheduleState(client: Client, tier: Tier): Promise<ScheduleState | null> {
  try {
    const description = await client.schedule.getHandle(tierScheduleId(tier)).describe();
    const interval = description.spec.intervals?.[0];
    if (!interval) return null;
    return { paused: description.state.paused, intervalMs: interval.every, note: description.state.note ?? '' };
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
}
