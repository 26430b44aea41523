// Spaces one process's RPC calls at least 1.01 / RPC_MAX_RPS seconds apart.
//
// The budget itself is Temporal's task-queue rate limit, which holds across all workers. It is
// a token bucket: after an idle spell it lets a whole second's worth of attempts start at once,
// and a provider that counts requests in strict one-second windows answers that burst with
// 429s. Queued here instead, in the order they arrived, those attempts reach the provider
// evenly. The 1 % margin absorbs a little jitter between our clock and the provider's (more
// would cost throughput); arrivals jittered by tens of ms can still draw a stray 429. Temporal
// already bounds what arrives, so a turn normally comes within about a second; one that would
// come later than the caller can wait is refused, and the caller gives its attempt back.

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const MARGIN = 1.01;

/** Resolves true when the caller may call now, false when its turn is more than maxWaitMs away. */
export type Pacer = (maxWaitMs: number) => Promise<boolean>;

export function createPacer(maxRps: number, clock: PacerClock = realClock): Pacer {
  const gapMs = (1000 * MARGIN) / maxRps;
  let lastRelease = -Infinity;
  let queued = 0;
  let tail: Promise<void> = Promise.resolve();
  return async (maxWaitMs) => {
    const now = clock.now();
    const turnAt = Math.max(now, lastRelease + gapMs) + queued * gapMs;
    if (turnAt - now > maxWaitMs) return false;
    queued++;
    const turn = tail.then(async () => {
      // Measured from the previous call's actual release, so a late timer never bunches two calls.
      const wait = lastRelease + gapMs - clock.now();
      if (wait > 0) await clock.sleep(wait);
      lastRelease = clock.now();
      queued--;
    });
    tail = turn;
    await turn;
    return true;
  };
}
