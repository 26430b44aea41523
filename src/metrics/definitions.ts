// The service's counters and histograms, and the functions the activities and the RPC client
// record with.

import { collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';
import { TIERS, type Tier } from '../tiers';
import { registry } from './registry';

/**
 * What became of one RPC request (src/rpc/balances.ts sorts every failure into one):
 * - ok: a valid answer;
 * - rate_limited: HTTP 429;
 * - server_error: HTTP 5xx, 408 or 425, a JSON-RPC server error (a node behind the slot already stored
 *   included), or no connection at all;
 * - timeout: no answer within RPC_TIMEOUT;
 * - invalid: the request was refused as invalid (other HTTP 4xx, JSON-RPC invalid params) or the
 *   answer was malformed (not JSON, wrong shape, impossible values).
 */
export const RPC_OUTCOMES = ['ok', 'rate_limited', 'server_error', 'timeout', 'invalid'] as const;
export type RpcOutcome = (typeof RPC_OUTCOMES)[number];

/** The label and registry every per-tier metric shares. */
export const PER_TIER = { labelNames: ['tier'] as const, registers: [registry] };

const tierCounter = (name: string, help: string) => new Counter({ name, help, ...PER_TIER });

const rpcRequests = new Counter({
  name: 'balance_tracker_rpc_requests_total',
  help: 'Solana RPC requests made, by JSON-RPC method and outcome (ok, rate_limited, server_error, timeout, invalid).',
  labelNames: ['method', 'outcome'] as const,
  registers: [registry],
});

const walletsChecked = tierCounter('balance_tracker_wallets_checked_total', 'Wallet balances read and recorded, by tier.');
const walletsChanged = tierCounter('balance_tracker_wallets_changed_total', 'Checked wallets whose balance (or existence on chain) had changed, by tier.');
const tokenAccountsChecked = tierCounter('balance_tracker_token_accounts_checked_total', "Wallets' ATAs for the tracked mints read and recorded, by tier.");
const tokenAccountsChanged = tierCounter(
  'balance_tracker_token_accounts_changed_total',
  'Checked ATAs whose amount (or existence on chain) had changed, first reads included, by tier.',
);
const batchesFailed = tierCounter(
  'balance_tracker_batches_failed_total',
  'Batches a finished sweep counted failed (a request that can never succeed, or retried past BATCH_TIMEOUT; their wallets stay due), by tier.',
);

const batchDuration = new Histogram({
  name: 'balance_tracker_batch_duration_seconds',
  help: 'Duration of one successful batch check (read the due wallets, its getMultipleAccounts calls, one write), by tier.',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  ...PER_TIER,
});

const rpcBudget = new Gauge({
  name: 'balance_tracker_rpc_max_rps',
  help: "The RPC budget (RPC_MAX_RPS): the RPC task queue's rate limit, for all workers together.",
  registers: [registry],
});

export function recordRpcRequest(method: string, outcome: RpcOutcome): void {
  rpcRequests.inc({ method, outcome });
}

export function recordBatch(
  tier: Tier,
  { wallets, changed, tokenAccounts, tokensChanged, seconds }: { wallets: number; changed: number; tokenAccounts: number; tokensChanged: number; seconds: number },
): void {
  walletsChecked.inc({ tier }, wallets);
  walletsChanged.inc({ tier }, changed);
  tokenAccountsChecked.inc({ tier }, tokenAccounts);
  tokenAccountsChanged.inc({ tier }, tokensChanged);
  batchDuration.observe({ tier }, seconds);
}

export function recordSweep(tier: Tier, { batchesFailed: failed }: { batchesFailed: number }): void {
  batchesFailed.inc({ tier }, failed);
}

export function recordRpcBudget(maxRps: number): void {
  rpcBudget.set(maxRps);
}

let seriesStarted = false;

/** Once per process, when metrics are first served: Node's process metrics, and every series at 0. */
export function startSeries(): void {
  if (seriesStarted) return;
  seriesStarted = true;
  collectDefaultMetrics({ register: registry });
  // Every series exists from the first scrape, so rate() and alerts see a 0, not a gap.
  for (const outcome of RPC_OUTCOMES) rpcRequests.inc({ method: 'getMultipleAccounts', outcome }, 0);
  for (const tier of TIERS) {
    walletsChecked.inc({ tier }, 0);
    walletsChanged.inc({ tier }, 0);
    tokenAccountsChecked.inc({ tier }, 0);
    tokenAccountsChanged.inc({ tier }, 0);
    batchesFailed.inc({ tier }, 0);
  }
}
