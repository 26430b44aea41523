// The shared RPC budget on real Postgres: several "processes" (each its own connection and
// pacer, as each worker has) reserve turns at once, as fast as their callers ask. The product's
// guarantee: no 1 s window holds more than R turns, by Postgres's timestamps of the turns
// nor by the instants the callers were let go (a provider's strict sliding window). The
// throughput against R and the statement's cost are printed, not asserted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { reserveTurn } from '../src/db/rpc-budget';
import { createPacer, turnGapMs } from '../src/rpc/pacer';
import { peakInWindow } from '../tools/simulator/stats';
import { freshDatabase } from './helpers/database';

/** The most instants within any window of windowMs closed at both ends (stricter than the provider's). */
function peakClosed(sorted: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! > windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

const wallClock = () => performance.timeOrigin + performance.now();

describe('the shared RPC budget (Postgres)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let admin: Sql;
  const pools: Sql[] = [];
  beforeAll(async () => {
    db = await freshDatabase('rpc_budget');
    admin = connect(db.url, { max: 1 });
    await migrate(admin);
  });
  afterAll(async () => {
    await Promise.all([admin, ...pools].map((p) => p.end()));
    await db.drop();
  });

  it.each([
    { rps: 50, processes: 2, callsEach: 100 },
    { rps: 300, processes: 4, callsEach: 300 },
  ])('$processes processes at $rps/s: never more than $rps turns in any 1 s window, by the database or at the callers', async ({ rps, processes, callsEach }) => {
    await admin`UPDATE rpc_budget SET next_at = '-infinity'`;
    const gap = turnGapMs(rps);
    const turns: number[] = [];
    const released: number[] = [];
    const pacers = Array.from({ length: processes }, () => {
      const sql = connect(db.url, { max: 1, asyncCommit: true });
      pools.push(sql);
      return createPacer(rps, async () => {
        const turn = await reserveTurn(sql, gap);
        turns.push(turn.at);
        return turn;
      });
    });
    const started = wallClock();
    // Every caller asks at once, as a burst of attempts started by Temporal does.
    const outcomes = await Promise.all(
      pacers.flatMap((pace) =>
        Array.from({ length: callsEach }, (_, i) =>
          pace(60_000, i % 2 === 0 ? 1 : 5).then((ok) => {
            if (ok) released.push(wallClock());
            return ok;
          }),
        ),
      ),
    );
    const seconds = (wallClock() - started) / 1000;
    expect(outcomes.every((ok) => ok)).toBe(true);
    turns.sort((a, b) => a - b);
    released.sort((a, b) => a - b);
    expect(released).toHaveLength(processes * callsEach);
    expect(peakClosed(turns, 1_000)).toBeLessThanOrEqual(rps);
    expect(peakInWindow(released, 1_000)).toBeLessThanOrEqual(rps);
    const unused = pacers.reduce((n, p) => n + p.stats().unused, 0);
    expect(turns).toHaveLength(released.length + unused);
    const steady = (released.length - 1) / ((released.at(-1)! - released[0]!) / 1000);
    console.log(
      `rpc budget: ${processes} processes at ${rps}/s: ${released.length} calls in ${seconds.toFixed(2)} s, ` +
        `${steady.toFixed(1)} calls/s (${((100 * steady) / rps).toFixed(1)} % of the ceiling), ` +
        `peak 1 s window ${peakInWindow(released, 1_000)} at the callers and ${peakClosed(turns, 1_000)} in the database, ${unused} turns unused`,
    );
  }, 60_000);

  it('the statement is cheap: reservations per second from 8 connections with no wait', async () => {
    const conns = Array.from({ length: 8 }, () => connect(db.url, { max: 1, asyncCommit: true }));
    pools.push(...conns);
    const until = wallClock() + 2_000;
    let n = 0;
    const rtts: number[] = [];
    await Promise.all(
      conns.map(async (sql) => {
        while (wallClock() < until) {
          const t = performance.now();
          // A gap of a microsecond: no turn is ever far, only the statement's own cost is left.
          await reserveTurn(sql, 0.001);
          rtts.push(performance.now() - t);
          n++;
        }
      }),
    );
    rtts.sort((a, b) => a - b);
    expect(n).toBeGreaterThan(0);
    console.log(`rpc budget statement: ${Math.round(n / 2)} reservations/s from 8 connections, round trip p50 ${rtts[Math.floor(rtts.length / 2)]!.toFixed(2)} ms, p99 ${rtts[Math.floor(rtts.length * 0.99)]!.toFixed(2)} ms`);
  }, 30_000);
});
