// The shared RPC budget's one row (migration 010): a turn is reserved by one atomic statement
// on Postgres's clock, so the workers' clocks never enter into it.
//
// Its connection commits asynchronously (connect's asyncCommit): a turn is a round trip of a
// fraction of a millisecond instead of a WAL flush's, and every turn's round trip counts against
// how late a call may be (src/rpc/pacer.ts). A crash can lose the last updates of next_at
// (wal_writer_delay, 200 ms by default, a few times over), so turns given just before it may be
// given again after it: only if Postgres is back within the second, which a crash recovery is not.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from './client';

export interface Turn {
  /** The turn's instant, ms since the epoch on Postgres's clock. */
  at: number;
  /** Postgres's clock when it answered, ms since the epoch. */
  now: number;
}

/**
 * Reserves the next turn: `gapMs` after the previous one, or now if that has passed. Concurrent
 * callers queue on the row's lock and each sees the row as the previous one left it. The turn
 * is spent from then on, whether or not the caller makes its call.
 */
export async function reserveTurn(sql: Sql, gapMs: number): Promise<Turn> {
  const gap = `${gapMs / 1000} seconds`;
  const [row] = await sql<Turn[]>`
    UPDATE rpc_budget SET next_at = greatest(next_at, clock_timestamp()) + ${gap}::interval
    RETURNING (extract(epoch FROM next_at - ${gap}::interval) * 1000)::float8 AS at,
              (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`;
  if (!row) throw new Error('rpc_budget has no row: run the migrations (migration 010)');
  return row;
}

/** For a single call outside the pacer (a worker's start): reserves a turn and sleeps until it. */
export async function waitForTurn(sql: Sql, gapMs: number): Promise<void> {
  const turn = await reserveTurn(sql, gapMs);
  await sleep(Math.max(0, turn.at - turn.now));
}
