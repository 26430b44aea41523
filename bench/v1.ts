// V1, re-created as the baseline: one getBalance per wallet through @solana/kit, a history
// row INSERT and a wallet-row UPDATE on every check, the plan's hand-written exponential
// backoff on failure (30 s doubling, capped), a per-wallet in-memory schedule, a client-side
// pacer at the provider's rate limit and a few requests in flight.

import { address, createSolanaRpc } from '@solana/kit';
import { connect } from '../src/db/client';
import { NUMERIC } from '../src/db/types';
import type { Tier } from '../src/tiers';
import {
  backoffDelay,
  type BaselineOptions,
  type BaselineService,
  countFailure,
  emptyCounters,
  Pacer,
  sleep,
  type WalletSchedule,
} from './baseline-common';

export const V1_SCHEMA = `
  CREATE TABLE v1_users (
    id                 bigserial PRIMARY KEY,
    wallet_address     text NOT NULL UNIQUE,
    tier               text NOT NULL,
    last_balance_check timestamptz,
    last_known_balance numeric(20, 0)
  );
  CREATE TABLE v1_wallet_balance_history (
    id               bigserial PRIMARY KEY,
    wallet_address   text NOT NULL,
    balance_lamports numeric(20, 0) NOT NULL,
    timestamp        timestamptz NOT NULL
  );
  CREATE INDEX v1_wallet_balance_history_wallet ON v1_wallet_balance_history (wallet_address, timestamp);
`;

/** How often the scheduler looks for due wallets when it has none queued. */
const IDLE_POLL_MS = 250;
/** Due wallets taken per scan of the schedule. */
const SCAN_LIMIT = 2_000;

export function createV1Service(options: BaselineOptions): BaselineService {
  const sql = connect(options.databaseUrl, { max: Math.max(4, options.maxInFlight + 2), appName: 'bench-v1' });
  const rpc = createSolanaRpc(options.rpcUrl);
  const userSchedule = new Map<string, WalletSchedule>();
  const activeChecks = new Set<string>();
  const pacer = new Pacer(options.rps);
  const counters = emptyCounters();
  let running = false;
  let loop: Promise<void> | null = null;
  const inFlight = new Set<Promise<void>>();

  async function checkBalance(wallet: string, schedule: WalletSchedule): Promise<void> {
    const started = performance.now();
    try {
      counters.rpcRequests++;
      const { value } = await rpc.getBalance(address(wallet), { commitment: 'confirmed' }).send();
      const now = new Date();
      const inserted = await sql`
        INSERT INTO v1_wallet_balance_history (wallet_address, balance_lamports, timestamp)
        VALUES (${wallet}, ${sql.typed(value, NUMERIC)}, ${now})`;
      const updated = await sql`
        UPDATE v1_users SET last_balance_check = ${now}, last_known_balance = ${sql.typed(value, NUMERIC)}
        WHERE wallet_address = ${wallet}`;
      counters.rowsInserted += inserted.count;
      counters.rowsUpdated += updated.count;
      counters.checks++;
      counters.checkMs += performance.now() - started;
      if (!schedule.checked) {
        schedule.checked = true;
        counters.walletsChecked++;
      }
      schedule.failedAttempts = 0;
      schedule.nextCheck = Date.now() + options.intervalsMs[schedule.tier];
    } catch (error) {
      countFailure(counters, error);
      counters.backoffs++;
      schedule.failedAttempts++;
      schedule.nextCheck = Date.now() + backoffDelay(schedule.failedAttempts, options.backoffBaseMs, options.backoffCapMs);
    } finally {
      activeChecks.delete(wallet);
    }
  }

  function dueWallets(): string[] {
    const now = Date.now();
    const due: string[] = [];
    for (const [wallet, schedule] of userSchedule) {
      if (schedule.nextCheck <= now && !activeChecks.has(wallet)) {
        due.push(wallet);
        if (due.length >= SCAN_LIMIT) break;
      }
    }
    return due;
  }

  async function run(): Promise<void> {
    while (running) {
      const due = dueWallets();
      if (due.length === 0) {
        await sleep(IDLE_POLL_MS);
        continue;
      }
      for (const wallet of due) {
        if (!running) break;
        while (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
        await pacer.acquire();
        if (!running) break;
        const schedule = userSchedule.get(wallet)!;
        activeChecks.add(wallet);
        const check = checkBalance(wallet, schedule).finally(() => inFlight.delete(check));
        inFlight.add(check);
      }
    }
  }

  return {
    counters,
    get total() {
      return userSchedule.size;
    },
    async load() {
      const rows = await sql<{ walletAddress: string; tier: Tier }[]>`SELECT wallet_address, tier FROM v1_users ORDER BY id`;
      for (const row of rows) userSchedule.set(row.walletAddress, { tier: row.tier, nextCheck: 0, failedAttempts: 0, checked: false });
    },
    start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
