// Does the tiers' size and cadence fit the RPC budget? Each tier needs one call per 100
// wallets per interval; the sum must stay within RPC_MAX_RPS.

import { MAX_ACCOUNTS_PER_CALL } from './rpc/balances';
import { TIERS, type Tier } from './tiers';

export interface BudgetFit {
  maxRps: number;
  requiredRps: number;
  fits: boolean;
  tiers: Record<Tier, { wallets: number; intervalMs: number; rps: number }>;
}

export function rpcBudget(wallets: Record<Tier, number>, intervalsMs: Record<Tier, number>, maxRps: number): BudgetFit {
  const tiers = Object.fromEntries(
    TIERS.map((t) => [t, { wallets: wallets[t], intervalMs: intervalsMs[t], rps: Math.ceil(wallets[t] / MAX_ACCOUNTS_PER_CALL) / (intervalsMs[t] / 1000) }]),
  ) as BudgetFit['tiers'];
  const requiredRps = TIERS.reduce((sum, t) => sum + tiers[t].rps, 0);
  return { maxRps, requiredRps, fits: requiredRps <= maxRps, tiers };
}
