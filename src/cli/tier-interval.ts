// `tiers interval <tier> <duration>`: changes a tier's sweep interval through the SDK, keeping
// the rest of its schedule (see setTierInterval). The Temporal CLI's and tctl's
// `schedule update` replace the whole schedule instead (README, "Schedules").

import { ScheduleNotFoundError } from '@temporalio/client';
import { formatDuration, parseDuration } from '../duration';
import { MIN_TIER_INTERVAL_MS, setTierInterval } from '../schedules';
import { isTier, TIERS, tierScheduleId } from '../tiers';
import type { CommandSpec } from './args';
import { CliError, EXIT, oneLine, UsageError } from './errors';
import { toJson } from './output';

export const tiersInterval: CommandSpec = {
  path: ['tiers', 'interval'],
  summary: "change a tier's sweep interval (keeps the rest of its schedule)",
  args: '<tier> <duration>',
  description: `
Sets the interval of the tier's Temporal Schedule (balance-sweep-<tier>) to <duration>
(250ms, 30s, 5m, 1h, 1d; at least ${formatDuration(MIN_TIER_INTERVAL_MS)}). Only the interval changes: the schedule's
action (workflow, input, memo, search attributes), catch-up window, overlap policy, paused
state and note stay as they are. The tier workflow reads the schedule at every sweep, so the
new interval sets both the cadence and what counts as due from the next sweep on; \`status\`
shows it at once. The change lasts: a worker never overwrites an existing schedule.

Exit status: 0 when changed, 2 for an unknown tier or an invalid duration, 1 when Temporal
cannot be reached or the schedule does not exist (a worker creates it at start-up).`,
  options: {},
  async run(ctx, args) {
    const [tier, text] = args.positionals as [string, string];
    if (!isTier(tier)) throw new UsageError(`${args.command}: tier must be one of ${TIERS.join(', ')}, got ${JSON.stringify(tier)}`, args.command);
    const intervalMs = parseDuration(text);
    if (intervalMs === null || intervalMs < MIN_TIER_INTERVAL_MS) {
      throw new UsageError(`${args.command}: duration must be like 30s, 5m or 1h and at least ${formatDuration(MIN_TIER_INTERVAL_MS)}, got ${JSON.stringify(text)}`, args.command);
    }
    const id = tierScheduleId(tier);
    let previousMs: number;
    try {
      previousMs = await ctx.withDeadline((client) => setTierInterval(client, tier, intervalMs));
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) throw new CliError(`no schedule ${id}: a worker creates it at start-up`, EXIT.failure, error);
      throw new CliError(`cannot update schedule ${id}: ${oneLine(error, ctx.secrets())}`, EXIT.failure, error);
    }
    if (ctx.json) ctx.io.out(toJson({ tier, scheduleId: id, previousIntervalMs: previousMs, intervalMs }));
    else ctx.io.out(`${id}: interval ${formatDuration(previousMs)} -> ${formatDuration(intervalMs)}; the rest of the schedule is unchanged`);
    return EXIT.ok;
  },
};
