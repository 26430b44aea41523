// The RPC budget, strict across all workers: every RPC call takes a turn from one row in
// Postgres (src/db/rpc-budget.ts), turns (1000 + SLACK_MS) / RPC_MAX_RPS ms apart on Postgres's
// clock, so no 1 s window at the provider holds more than RPC_MAX_RPS calls.
//
// The SLACK_MS per second of turns is what a call may arrive late at the provider without
// landing in the same 1 s window as the turn RPC_MAX_RPS later: a call is never early (it
// sleeps until after its turn whatever the round trip), and one that finds itself more than
// MAX_LATE_MS past its turn when it wakes (a stalled event loop) lets the turn go unused and
// takes another. The rest of the slack covers the HTTP request's way to the provider.
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

/** Each second's worth of turns is stretched by this much: the budget's use is 1000 / 1010 = 99 %. */
export const SLACK_MS = 10;
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

/** Reserves the next shared turn; resolves with how many ms away it is. */
export type ReserveTurn = () => Promise<number>;

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
    let waitMs;
    try {
      waitMs = await reserve();
    } catch (error) {
      // Those the turns already held will serve keep their places; the rest cannot be paced.
      for (const w of waiting.splice(held)) w.reject(error);
      return;
    }
    // Postgres took the turn after `asked`: the turn is no earlier than asked + waitMs here,
    // and no later than now + waitMs, when the caller is let go.
    const earliest = asked + waitMs;
    held++;
    void clock.sleep(waitMs).then(() => {
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
