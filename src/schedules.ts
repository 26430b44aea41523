// Temporal Schedules set each tier's cadence. Operators own them after creation:
// start-up creates a missing schedule and never overwrites an existing one.

import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleOptions, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Config } from './config';
import { KIND_KEY, TIER_KEY } from './search-attributes';
import { TIERS, type Tier, tierScheduleId } from './tiers';

export interface ScheduleState {
  paused: boolean;
  /** The interval the schedule runs at now (an operator may have changed it). */
  intervalMs: number;
  note: string;
}

export const RETIER_SCHEDULE_ID = 'balance-retier';

/** The interval a tier sweeps at: its schedule's (the source of truth: an operator may have changed it), else the configured one. */
export function tierIntervalMs(tier: Tier, schedule: { intervalMs: number } | null | undefined, configured: Record<Tier, number>): number {
  return schedule?.intervalMs ?? configured[tier];
}

/** Creates a schedule unless one with its id exists: operators own it after creation. */
async function createIfMissing(client: Client, options: ScheduleOptions): Promise<boolean> {
  try {
    await client.schedule.create(options);
    return true;
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return false;
    throw error;
  }
}

/** Creates each tier's schedule, and re-tiering's when segmentation is on, if missing; returns the ids created. */
export async function ensureSchedules(client: Client, config: Config): Promise<string[]> {
  const wanted: ScheduleOptions[] = TIERS.map((tier) => ({
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
      // The Web UI's list shows it in place of a bare workflow id.
      staticSummary: `${tier} tier: schedule tick, asks balance-tier-${tier} to sweep`,
    },
    policies: {
      // Ticks only ask the tier workflow to sweep; it coalesces them. After downtime one
      // catch-up tick is enough.
      overlap: ScheduleOverlapPolicy.BUFFER_ONE,
      catchupWindow: '1 minute',
    },
    memo: { tier },
  }));
  if (config.segmentation.enabled) {
    wanted.push({
      scheduleId: RETIER_SCHEDULE_ID,
      spec: { intervals: [{ every: config.segmentation.intervalMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'retierWorkflow',
        workflowId: RETIER_SCHEDULE_ID,
        taskQueue: config.temporal.taskQueue,
        typedSearchAttributes: [{ key: KIND_KEY, value: 'retier' }],
        memo: { purpose: 'moves wallets between tiers by how often their balance changes' },
        staticSummary: 're-tiering: moves wallets between tiers by how often their balance changes',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
  }
  const created: string[] = [];
  for (const options of wanted) if (await createIfMissing(client, options)) created.push(options.scheduleId);
  return created;
}

export interface ScheduleView extends ScheduleState {
  /** When the schedule next starts a sweep (Temporal's next action time); null when paused or none. */
  nextActionAt: string | null;
}

/** Temporal refuses shorter intervals; a sweep more often than each second is not useful either. */
export const MIN_TIER_INTERVAL_MS = 1_000;

/**
 * Changes a tier's schedule interval through the SDK's read-modify-write: the action (memo,
 * search attributes, input, static summary), the policies (catch-up window, overlap), the
 * state (paused, note) and the schedule's memo stay as they are. Returns the previous interval.
 */
export async function setTierInterval(client: Client, tier: Tier, intervalMs: number): Promise<number> {
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_TIER_INTERVAL_MS) throw new RangeError(`interval must be at least ${MIN_TIER_INTERVAL_MS} ms`);
  let previousMs = 0;
  await client.schedule.getHandle(tierScheduleId(tier)).update((previous) => {
    const [first, ...rest] = previous.spec.intervals ?? [];
    previousMs = first?.every ?? 0;
    return { ...previous, spec: { ...previous.spec, intervals: [{ ...first, every: intervalMs }, ...rest] } };
  });
  return previousMs;
}

/** The schedule as operators left it, with its next action time, or null when there is none. */
export async function describeTierSchedule(client: Client, tier: Tier): Promise<ScheduleView | null> {
  try {
    const description = await client.schedule.getHandle(tierScheduleId(tier)).describe();
    const interval = description.spec.intervals?.[0];
    if (!interval) return null;
    const next = description.state.paused ? undefined : description.info.nextActionTimes[0];
    return { paused: description.state.paused, intervalMs: interval.every, note: description.state.note ?? '', nextActionAt: next?.toISOString() ?? null };
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
}

/** The schedule as operators left it, or null when there is none. */
export async function readScheduleState(client: Client, tier: Tier): Promise<ScheduleState | null> {
  const view = await describeTierSchedule(client, tier);
  return view && { paused: view.paused, intervalMs: view.intervalMs, note: view.note };
}
