// Does the tiers' size and cadence fit the RPC budget? Each tier needs one call per 100
// accounts (a wallet and its ATA for each tracked mint) per interval; the sum must stay within RPC_MAX_RPS.

import { TIERS, type Tier } from './tiers';
import { callsFor } from './tokens';

export interface BudgetFit {
  maxRps: number;
  requiredRps: number;
  fits: boolean;
  tiers: Record<Tier, { wallets: number; intervalMs: number; rps: number }>;
}

export function rpcBudget(wallets: Record<Tier, number>, intervalsMs: Record<Tier, number>, maxRps: number, mints = 0): BudgetFit {
  const tiers = Object.fromEntries(
    TIERS.map((t) => [t, { wallets: wallets[t], intervalMs: intervalsMs[t], rps: callsFor(wallets[t], mints) / (intervalsMs[t] / 1000) }]),
  ) as BudgetFit['tiers'];
  const requiredRps = TIERS.reduce((sum, t) => sum + tiers[t].rps, 0);
  return { maxRps, requiredRps, fits: requiredRps <= maxRps, tiers };
}
