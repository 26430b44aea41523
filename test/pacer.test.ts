// The per-process RPC pacer, on a simulated clock: calls leave evenly, in order of priority and
// arrival, and a turn too far away is refused without taking a place in the queue.

import { describe, expect, it } from 'vitest';
import { createPacer, type PacerClock } from '../src/rpc/pacer';

/** A clock whose sleeps resolve in time order as the test advances it. */
function fakeClock(): PacerClock & { run(): Promise<void> } {
  let now = 0;
  const sleepers: { at: number; wake: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms) => new Promise((wake) => sleepers.push({ at: now + ms, wake })),
    async run() {
      for (;;) {
        for (let i = 0; i < 10; i++) await Promise.resolve();
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers.shift();
        if (!next) return;
        now = Math.max(now, next.at);
        next.wake();
      }
    },
  };
}

describe('pacer', () => {
  it('lets a burst through one call every 1.01 / rps seconds, in arrival order', async () => {
    const clock = fakeClock();
    const pace = createPacer(50, clock);
    const released: [number, number][] = [];
    const calls = Array.from({ length: 60 }, (_, i) => pace(5_000).then((ok) => ok && released.push([i, clock.now()])));
    await clock.run();
    await Promise.all(calls);
    expect(released.map(([i]) => i)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const gaps = released.slice(1).map(([, at], i) => at - released[i]![1]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(20.2 - 1e-9);
    // So no one-second window (a strict provider's) ever holds more than 50.
    const times = released.map(([, at]) => at);
    for (let i = 50; i < times.length; i++) expect(times[i]! - times[i - 50]!).toBeGreaterThan(1_000);
  });

  it('refuses a turn further away than the caller can wait, and keeps serving the queue', async () => {
    const clock = fakeClock();
    const pace = createPacer(10, clock);
    const first = Array.from({ length: 5 }, () => pace(1_000));
    // Five are queued 101 ms apart: a sixth would wait about 505 ms, more than 400.
    const refused = await pace(400);
    expect(refused).toBe(false);
    const later = pace(1_000);
    await clock.run();
    expect(await Promise.all([...first, later])).toEqual([true, true, true, true, true, true]);
    expect(clock.now()).toBeCloseTo(5 * 101, 6);
  });

  it('lets a call after a quiet spell go at once', async () => {
    const clock = fakeClock();
    const pace = createPacer(1, clock);
    expect(await pace(0)).toBe(true);
    // The next turn is 1.01 s away: a caller that cannot wait is refused.
    expect(await pace(0)).toBe(false);
    const quiet = clock.sleep(2_000);
    await clock.run();
    await quiet;
    expect(await pace(0)).toBe(true);
    expect(clock.now()).toBe(2_000);
  });

  it('lets a higher priority go ahead of those queued, and refuses one pushed back past its wait', async () => {
    const clock = fakeClock();
    const pace = createPacer(10, clock);
    const order: string[] = [];
    const call = (name: string, maxWaitMs: number, priority: number) =>
      pace(maxWaitMs, priority).then((ok) => {
        order.push(ok ? name : `${name} refused`);
      });
    const calls = [
      call('low 1', 5_000, 5),
      call('low 2', 5_000, 5),
      call('low 3', 5_000, 5),
      // Its turn is 3 gaps (303 ms) away when it asks: it can wait 350 ms, not a gap more.
      call('low 4', 350, 5),
      call('high 1', 5_000, 1),
      call('high 2', 5_000, 1),
      call('medium', 5_000, 3),
      call('high 3', 5_000, 1),
    ];
    await clock.run();
    await Promise.all(calls);
    // low 1 left at once, before anyone else asked; low 4 gave up its place as soon as high 1 took one ahead of it.
    expect(order).toEqual(['low 1', 'low 4 refused', 'high 1', 'high 2', 'high 3', 'medium', 'low 2', 'low 3']);
    expect(clock.now()).toBeCloseTo(6 * 101, 6);
  });
});
