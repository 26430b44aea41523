// The RPC budget, strict across all workers: every RPC call takes a turn from one row in
// Postgres (src/db/rpc-budget.ts), turns (1000 + SLACK_MS) / RPC_MAX_RPS ms apart on Postgres's
// clock, so no 1 s window at the provider holds more than RPC_MAX_RPS calls.
//
// The SLACK_MS per second of turns is what a call may arrive late at the provider without
// landing in the same 1 s window as the turn RPC_MAX_RPS later. Where a turn falls on this
// process's clock is known within bounds: Postgres read its clock between our asking and its
// answer, so every round trip bounds the offset between the two clocks, and the tightest of
// the recent ones (about the fastest round trip) are kept. A call is never early: it sleeps
// until the turn's latest local instant. One that finds itself more than MAX_LATE_MS past the
// turn's earliest local instant when it wakes (a stalled event loop) lets the turn go unused
// and takes another. The rest of the slack covers the HTTP request's way to the provider.
//
// In front of the shared row each process keeps its callers in a queue by tier priority, then
// arrival, and hands a turn to the queue's head only when the turn comes: a high tier's call
// waits for the next turn this process holds, never behind a low sweep's queue. A process
// holds at most LOOKAHEAD_MS of turns ahead, and no more than it has callers waiting.
// A caller that cannot get a turn within its wait is refused (it gives its attempt back to
// Temporal); when the budget row cannot be reached the waiting callers get the error: no call
// goes out unpaced.

import { setTimeout as sleep } from 'node:timers/promises';

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep,
};

/**
 * Each second's worth of turns is stretched by this much: the budget's use is at most
 * 1000 / 1020 = 98 %. 10 ms drew a 429 from a strict window of RPC_MAX_RPS while the Temporal
 * server restarted on this 2-core machine (a stalled simulator delays arrivals); 20 ms did not.
 */
export const SLACK_MS = 20;
/** A call woken this far past its turn does not make it (the rest of SLACK_MS is the network's). */
export const MAX_LATE_MS = 5;
const LOOKAHEAD_MS = 250;

/** The spacing of turns for a budget of `maxRps` calls in any 1 s window. */
export function turnGapMs(maxRps: number): number {
  return (1000 + SLACK_MS) / maxRps;
}

/** Calls per second the pacer lets through when saturated. */
export function sustainedRps(maxRps: number): number {
  return 1000 / turnGapMs(maxRps);
}

/**
 * Resolves true when the caller may make its call now, false when no turn came within
 * maxWaitMs; rejects when the budget cannot be reached. A lower `priority` goes first
 * (Temporal's priority keys: a tier's TIER_PRIORITY); callers of one priority go in arrival order.
 */
export type Pacer = (maxWaitMs: number, priority?: number) => Promise<boolean>;

/** Reserves the next shared turn: its instant and the budget's clock when it answered (ms). */
export type ReserveTurn = () => Promise<{ at: number; now: number }>;

/** Round trips kept to bound the offset between the budget's clock and ours. */
const OFFSET_SAMPLES = 64;

interface Waiter {
  priority: number;
  resolve: (mayCall: boolean) => void;
  reject: (error: unknown) => void;
}

export interface PacerStats {
  /** Turns given to callers. */
  granted: number;
  /** Turns reserved and left unused: the caller woke too late, or none was waiting any more. */
  unused: number;
}

export function createPacer(maxRps: number, reserve: ReserveTurn, clock: PacerClock = realClock): Pacer & { stats(): PacerStats } {
  const maxHeld = Math.max(1, Math.floor(LOOKAHEAD_MS / turnGapMs(maxRps)));
  // Sorted by priority, then arrival.
  const waiting: Waiter[] = [];
  let held = 0;
  let reserving = false;
  const stats: PacerStats = { granted: 0, unused: 0 };
  // Each sample: [lowest, highest] possible (budget's clock − ours).
  const offsets: [number, number][] = [];
  const offsetBounds = (low: number, high: number): [number, number] => {
    offsets.push([low, high]);
    if (offsets.length > OFFSET_SAMPLES) offsets.shift();
    let lo = -Infinity;
    let hi = Infinity;
    for (const [l, h] of offsets) {
      lo = Math.max(lo, l);
      hi = Math.min(hi, h);
    }
    if (lo <= hi) return [lo, hi];
    // A clock was set: the older samples no longer hold.
    offsets.splice(0, offsets.length - 1);
    return [low, high];
  };

  const pump = () => {
    if (reserving || held >= waiting.length || held >= maxHeld) return;
    reserving = true;
    void take().finally(() => {
      reserving = false;
      pump();
    });
  };

  async function take(): Promise<void> {
    const asked = clock.now();
    let turn;
    try {
      turn = await reserve();
    } catch (error) {
      // Those the turns already held will serve keep their places; the rest cannot be paced.
      for (const w of waiting.splice(held)) w.reject(error);
      return;
    }
    const [low, high] = offsetBounds(turn.now - clock.now(), turn.now - asked);
    // The turn on our clock lies in [earliest, latest]; the caller goes at latest.
    const earliest = turn.at - high;
    const latest = turn.at - low;
    held++;
    void clock.sleep(Math.max(0, latest - clock.now())).then(() => {
      held--;
      const next = waiting.shift();
      if (next && clock.now() - earliest <= MAX_LATE_MS) {
        stats.granted++;
        next.resolve(true);
      } else {
        stats.unused++;
        if (next) waiting.unshift(next);
      }
      pump();
    });
  }

  const pace = (maxWaitMs: number, priority = 0) =>
    new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = { priority, resolve, reject };
      const behind = waiting.findIndex((w) => w.priority > priority);
      waiting.splice(behind < 0 ? waiting.length : behind, 0, waiter);
      void clock.sleep(maxWaitMs).then(() => {
        const at = waiting.indexOf(waiter);
        if (at < 0) return;
        waiting.splice(at, 1);
        resolve(false);
      });
      pump();
    });
  return Object.assign(pace, { stats: () => ({ ...stats }) });
}
