// The V2 plan as written (seed/balance-tracking-v2-plan.md): due wallets grouped in batches
// of 100, one getMultipleAccounts per batch, batches processed one after another; for each
// batch a transaction of history-row INSERTs, then a transaction of wallet-row UPDATEs, one
// statement per wallet as prisma.$transaction([...]) runs them; a null account is dropped
// as an error ('Account not found'); a failed batch backs off every wallet in it with the
// plan's 30 s doubling delay. Wallets are checked at their tier's interval (the plan's
// "smart batching by activity level").

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

export const V2_PLAN_SCHEMA = `
  CREATE TABLE v2plan_users (
    id                 bigserial PRIMARY KEY,
    wallet_address     text NOT NULL UNIQUE,
    tier               text NOT NULL,
    last_balance_check timestamptz,
    last_known_balance numeric(20, 0)
  );
  CREATE TABLE v2plan_wallet_balance_history (
    id               bigserial PRIMARY KEY,
    wallet_address   text NOT NULL,
    balance_lamports numeric(20, 0) NOT NULL,
    timestamp        timestamptz NOT NULL
  );
  CREATE INDEX v2plan_wallet_balance_history_wallet ON v2plan_wallet_balance_history (wallet_address, timestamp);
`;

const BATCH_SIZE = 100;
/** How often executeScheduledChecks runs (when the previous run has finished). */
const TICK_MS = 1_000;

type BatchResult = { wallet: string; balance: bigint; exists: true; error?: undefined } | { wallet: string; error: string };

export function createV2PlanService(options: BaselineOptions): BaselineService {
  const sql = connect(options.databaseUrl, { max: 4, appName: 'bench-v2-plan' });
  const rpc = createSolanaRpc(options.rpcUrl);
  const userSchedule = new Map<string, WalletSchedule>();
  const activeChecks = new Set<string>();
  const pacer = new Pacer(options.rps);
  const counters = emptyCounters();
  let running = false;
  let loop: Promise<void> | null = null;

  async function batchFetchBalances(walletAddresses: string[]): Promise<BatchResult[]> {
    await pacer.acquire();
    counters.rpcRequests++;
    try {
      const accountInfos = await rpc
        .getMultipleAccounts(
          walletAddresses.map((a) => address(a)),
          { encoding: 'base64', commitment: 'confirmed' },
        )
        .send();
      return accountInfos.value.map((accountInfo, index) => {
        if (!accountInfo) return { wallet: walletAddresses[index]!, error: 'Account not found' };
        return { wallet: walletAddresses[index]!, balance: accountInfo.lamports, exists: true };
      });
    } catch (error) {
      countFailure(counters, error);
      throw error;
    }
  }

  async function executeScheduledChecks(): Promise<void> {
    const walletBatches: string[][] = [];
    const now = Date.now();
    for (const [walletAddress, schedule] of userSchedule.entries()) {
      if (schedule.nextCheck <= now && !activeChecks.has(walletAddress)) {
        let currentBatch = walletBatches[walletBatches.length - 1];
        if (!currentBatch || currentBatch.length >= BATCH_SIZE) {
          currentBatch = [];
          walletBatches.push(currentBatch);
        }
        currentBatch.push(walletAddress);
        activeChecks.add(walletAddress);
      }
    }

    for (const [i, batch] of walletBatches.entries()) {
      if (!running) {
        // Stopping (the benchmark's bound): hand the rest back.
        for (const rest of walletBatches.slice(i)) for (const wallet of rest) activeChecks.delete(wallet);
        break;
      }
      const started = performance.now();
      try {
        const batchResults = await batchFetchBalances(batch);
        const timestamp = new Date();
        await sql.begin(async (tx) => {
          for (const result of batchResults) {
            if (result.error !== undefined) continue;
            const r = await tx`
              INSERT INTO v2plan_wallet_balance_history (wallet_address, balance_lamports, timestamp)
              VALUES (${result.wallet}, ${sql.typed(result.balance, NUMERIC)}, ${timestamp})`;
            counters.rowsInserted += r.count;
          }
        });
        await sql.begin(async (tx) => {
          for (const result of batchResults) {
            if (result.error !== undefined) continue;
            const r = await tx`
              UPDATE v2plan_users SET last_balance_check = ${new Date()}, last_known_balance = ${sql.typed(result.balance, NUMERIC)}
              WHERE wallet_address = ${result.wallet}`;
            counters.rowsUpdated += r.count;
          }
        });
        // "Process results...": every answered wallet is rescheduled at its tier's interval;
        // a null account stays an error and its balance is never written.
        const elapsed = performance.now() - started;
        for (const result of batchResults) {
          activeChecks.delete(result.wallet);
          const schedule = userSchedule.get(result.wallet)!;
          schedule.failedAttempts = 0;
          schedule.nextCheck = Date.now() + options.intervalsMs[schedule.tier];
          if (!schedule.checked) {
            schedule.checked = true;
            counters.walletsChecked++;
          }
          counters.checks++;
          counters.checkMs += elapsed / batchResults.length;
          if (result.error) counters.accountNotFound++;
        }
      } catch {
        // Mark all wallets in batch for retry
        counters.backoffs += batch.length;
        for (const wallet of batch) {
          activeChecks.delete(wallet);
          const schedule = userSchedule.get(wallet);
          if (schedule) {
            schedule.failedAttempts++;
            schedule.nextCheck = Date.now() + backoffDelay(schedule.failedAttempts, options.backoffBaseMs, options.backoffCapMs);
          }
        }
      }
    }
  }

  async function run(): Promise<void> {
    while (running) {
      await executeScheduledChecks();
      if (running) await sleep(TICK_MS);
    }
  }

  return {
    counters,
    get total() {
      return userSchedule.size;
    },
    async load() {
      const rows = await sql<{ walletAddress: string; tier: Tier }[]>`SELECT wallet_address, tier FROM v2plan_users ORDER BY id`;
      for (const row of rows) userSchedule.set(row.walletAddress, { tier: row.tier, nextCheck: 0, failedAttempts: 0, checked: false });
    },
    start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      await loop;
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
