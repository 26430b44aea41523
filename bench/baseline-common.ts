// What V1 and the V2 plan share: the in-memory per-wallet schedule (`userSchedule`), the
// plan's hand-written backoff, a client-side pacer (V1 "already has good rate limiting"),
// and the counters the benchmark reads.

import { setTimeout as sleep } from 'node:timers/promises';
import { isSolanaError, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR } from '@solana/kit';
import type { Sql } from '../src/db/client';
import type { Tier } from '../src/tiers';

export interface WalletSchedule {
  tier: Tier;
  nextCheck: number;
  failedAttempts: number;
  /** Checked successfully at least once (the full sweep is over when every wallet is). */
  checked: boolean;
}

export interface BaselineOptions {
  databaseUrl: string;
  rpcUrl: string;
  /** Requests per second the client allows itself; 0: no pacing. */
  rps: number;
  /** Requests in flight at once (V1); the V2 plan's loop is sequential. */
  maxInFlight: number;
  intervalsMs: Record<Tier, number>;
  backoffBaseMs: number;
  backoffCapMs: number;
}

export interface BaselineCounters {
  /** Wallets checked at least once. */
  walletsChecked: number;
  /** Checks done (a wallet checked twice counts twice). */
  checks: number;
  rpcRequests: number;
  rpcFailures: { rateLimited: number; serverError: number; other: number };
  /** Wallets the V2 plan's code drops as 'Account not found' (a null account). */
  accountNotFound: number;
  backoffs: number;
  rowsInserted: number;
  rowsUpdated: number;
  /** Sum over checks of the time from the RPC request to the rows written, ms. */
  checkMs: number;
}

export const emptyCounters = (): BaselineCounters => ({
  walletsChecked: 0,
  checks: 0,
  rpcRequests: 0,
  rpcFailures: { rateLimited: 0, serverError: 0, other: 0 },
  accountNotFound: 0,
  backoffs: 0,
  rowsInserted: 0,
  rowsUpdated: 0,
  checkMs: 0,
});

export interface BaselineService {
  readonly counters: BaselineCounters;
  readonly total: number;
  load(): Promise<void>;
  start(): void;
  /** Stops taking new work and waits for the work in flight. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** Spaces request starts 1/rps apart (a client-side limiter); rps 0 lets everything through. */
export class Pacer {
  private next = 0;
  constructor(private readonly rps: number) {}

  async acquire(): Promise<void> {
    if (this.rps <= 0) return;
    const now = performance.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.rps;
    if (at > now) await sleep(at - now);
  }
}

/** The plan's backoff: 30 s doubling per failed attempt, capped. */
export function backoffDelay(failedAttempts: number, baseMs: number, capMs: number): number {
  return Math.min(baseMs * Math.pow(2, failedAttempts - 1), capMs);
}

export function countFailure(counters: BaselineCounters, error: unknown): void {
  if (isSolanaError(error, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)) {
    const status = error.context.statusCode;
    if (status === 429) counters.rpcFailures.rateLimited++;
    else if (status >= 500) counters.rpcFailures.serverError++;
    else counters.rpcFailures.other++;
  } else counters.rpcFailures.other++;
}

/** Loads the wallets into a baseline's users table (v1_users or v2plan_users), 10,000 a statement. */
export async function loadBaselineWallets(sql: Sql, usersTable: 'v1_users' | 'v2plan_users', wallets: { address: string; tier: Tier }[]): Promise<void> {
  for (let i = 0; i < wallets.length; i += 10_000) {
    const chunk = wallets.slice(i, i + 10_000);
    await sql`
      INSERT INTO ${sql(usersTable)} (wallet_address, tier)
      SELECT * FROM unnest(${chunk.map((w) => w.address)}::text[], ${chunk.map((w) => w.tier)}::text[])`;
  }
}
