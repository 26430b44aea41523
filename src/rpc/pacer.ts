// Spaces one process's RPC calls at least 1.01 / RPC_MAX_RPS seconds apart.
//
// The budget itself is Temporal's task-queue rate limit, which holds across all workers. It is
// a token bucket: after an idle spell it lets a whole second's worth of attempts start at once,
// and a provider that counts requests in strict one-second windows answers that burst with
// 429s. Queued here instead, by tier priority and then in the order they arrived, those
// attempts reach the provider evenly; a high tier's attempt does not wait behind a low sweep's.
// The 1 % margin absorbs a little jitter between our clock and the provider's (more would cost
// throughput); arrivals jittered by tens of ms can still draw a stray 429. Temporal
// already bounds what arrives, so a turn normally comes within about a second; one that would
// come later than the caller can wait is refused, and the caller gives its attempt back.

import { setTimeout as sleep } from 'node:timers/promises';

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep,
};

const MARGIN = 1.01;

/**
 * Resolves true when the caller may call now, false when its turn is more than maxWaitMs away.
 * A lower `priority` goes first (Temporal's priority keys: a tier's TIER_PRIORITY); callers of
 * one priority go in arrival order.
 */
export type Pacer = (maxWaitMs: number, priority?: number) => Promise<boolean>;

interface Waiter {
  priority: number;
  deadline: number;
  resolve: (mayCall: boolean) => void;
}

export function createPacer(maxRps: number, clock: PacerClock = realClock): Pacer {
  const gapMs = (1000 * MARGIN) / maxRps;
  let lastRelease = -Infinity;
  // Sorted by priority, then arrival.
  const waiting: Waiter[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    draining = true;
    while (waiting.length > 0) {
      // Measured from the previous call's actual release, so a late timer never bunches two calls.
      const wait = lastRelease + gapMs - clock.now();
      if (wait > 0) await clock.sleep(wait);
      lastRelease = clock.now();
      waiting.shift()!.resolve(true);
    }
    draining = false;
  }

  return (maxWaitMs, priority = 0) => {
    const now = clock.now();
    const firstTurn = Math.max(now, lastRelease + gapMs);
    const behind = waiting.findIndex((w) => w.priority > priority);
    const place = behind < 0 ? waiting.length : behind;
    if (firstTurn + place * gapMs - now > maxWaitMs) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      waiting.splice(place, 0, { priority, deadline: now + maxWaitMs, resolve });
      // Those it went ahead of now wait one turn longer: one that cannot gives its place up.
      for (let i = place + 1; i < waiting.length; ) {
        if (firstTurn + i * gapMs > waiting[i]!.deadline) waiting.splice(i, 1)[0]!.resolve(false);
        else i++;
      }
      if (!draining) void drain();
    });
  };
}
