// The RPC pacer on a simulated clock, with the shared budget row played by an in-memory
// "next free instant" (the real one, in Postgres, is tested in test/rpc-budget.test.ts): calls
// leave at their turns, in order of priority and arrival at each turn; a turn that does not come
// in time is refused; a turn woken too late goes unused; an unreachable budget is an error.

import { describe, expect, it } from 'vitest';
import { createPacer, MAX_LATE_MS, type PacerClock, type ReserveTurn, turnGapMs } from '../src/rpc/pacer';

/** A clock whose sleeps resolve in time order as the test advances it. */
function fakeClock(): PacerClock & { run(): Promise<void>; stall: { after: number; ms: number } | null } {
  let now = 0;
  const sleepers: { at: number; wake: () => void }[] = [];
  const clock = {
    /** A stalled event loop: the first wake-up due after `after` comes `ms` late. */
    stall: null as { after: number; ms: number } | null,
    now: () => now,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ at: now + ms, wake })),
    async run() {
      for (;;) {
        for (let i = 0; i < 20; i++) await Promise.resolve();
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers.shift();
        if (!next) return;
        now = Math.max(now, next.at);
        if (clock.stall && next.at > clock.stall.after) {
          now += clock.stall.ms;
          clock.stall = null;
        }
        next.wake();
      }
    },
  };
  return clock;
}

/** The budget row in memory: turns gapMs apart on the same clock; records every turn reserved. */
function sharedBudget(clock: PacerClock, maxRps: number): ReserveTurn & { turns: number[] } {
  let nextAt = -Infinity;
  const turns: number[] = [];
  return Object.assign(async () => {
    const at = Math.max(nextAt, clock.now());
    nextAt = at + turnGapMs(maxRps);
    turns.push(at);
    return { at, now: clock.now() };
  }, { turns });
}

/** The most instants within any window of windowMs closed at both ends (the strictest count). */
function peak(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! > windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('pacer', () => {
  it('several processes on one budget: a burst leaves at the turns, never more than maxRps in any 1 s window, in arrival order', async () => {
    const clock = fakeClock();
    const budget = sharedBudget(clock, 50);
    const processes = [createPacer(50, budget, clock), createPacer(50, budget, clock), createPacer(50, budget, clock)];
    const released: { p: number; i: number; at: number }[] = [];
    const calls = processes.flatMap((pace, p) => Array.from({ length: 60 }, (_, i) => pace(10_000).then((ok) => ok && released.push({ p, i, at: clock.now() }))));
    await clock.run();
    await Promise.all(calls);
    expect(released).toHaveLength(180);
    for (let p = 0; p < 3; p++) {
      const mine = released.filter((r) => r.p === p).map((r) => r.i);
      expect(mine).toEqual(Array.from({ length: 60 }, (_, i) => i));
    }
    expect(peak(released.map((r) => r.at), 1_000)).toBe(50);
    // Every turn reserved was used, and the burst took as long as 180 turns take.
    expect(budget.turns).toHaveLength(180);
    expect(released.at(-1)!.at).toBeCloseTo(179 * turnGapMs(50), 6);
    expect(processes.map((p) => p.stats())).toEqual([0, 1, 2].map(() => ({ granted: 60, unused: 0 })));
  });

  it('gives each turn to the highest priority waiting when it comes, and refuses one whose turn did not come in time', async () => {
    const clock = fakeClock();
    const budget = sharedBudget(clock, 10);
    const pace = createPacer(10, budget, clock);
    const order: string[] = [];
    const call = (name: string, maxWaitMs: number, priority: number) =>
      pace(maxWaitMs, priority).then((ok) => {
        order.push(ok ? name : `${name} refused`);
      });
    const calls = [
      call('low 1', 5_000, 5),
      call('low 2', 5_000, 5),
      call('low 3', 5_000, 5),
      // Pushed back by the high and medium ones (turns 101 ms apart), its turn is past 350 ms.
      call('low 4', 350, 5),
      call('high 1', 5_000, 1),
      call('high 2', 5_000, 1),
      call('medium', 5_000, 3),
      call('high 3', 5_000, 1),
    ];
    await clock.run();
    await Promise.all(calls);
    // The first turn came after all had asked: it went to the first high one.
    expect(order).toEqual(['high 1', 'high 2', 'high 3', 'medium', 'low 4 refused', 'low 1', 'low 2', 'low 3']);
  });

  it('lets a turn go unused when its caller wakes too late, and takes the next one', async () => {
    const clock = fakeClock();
    const budget = sharedBudget(clock, 10);
    const pace = createPacer(10, budget, clock);
    const calls = [pace(1_000), pace(1_000)];
    // The event loop stalls past the second turn (at 101 ms): that turn is spent, the call takes the third.
    clock.stall = { after: 50, ms: MAX_LATE_MS + 1 };
    await clock.run();
    expect(await Promise.all(calls)).toEqual([true, true]);
    expect(budget.turns).toHaveLength(3);
    expect(pace.stats()).toEqual({ granted: 2, unused: 1 });
  });

  it('an unreachable budget is an error for the callers waiting, not a call without a turn', async () => {
    const clock = fakeClock();
    const pace = createPacer(10, () => Promise.reject(new Error('connect ECONNREFUSED')), clock);
    const calls = [pace(1_000), pace(1_000)];
    await clock.run();
    for (const call of calls) await expect(call).rejects.toThrow('ECONNREFUSED');
    expect(pace.stats()).toEqual({ granted: 0, unused: 0 });
  });
});
