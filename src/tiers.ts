// Activity tiers. Pure: imported by workflows as well as by the worker and CLI.

export const TIERS = ['high', 'medium', 'low'] as const;
export type Tier = (typeof TIERS)[number];

/** Where a wallet starts when nobody says otherwise. */
export const DEFAULT_TIER: Tier = 'medium';

export function isTier(value: unknown): value is Tier {
  return typeof value === 'string' && (TIERS as readonly string[]).includes(value);
}

/**
 * Temporal task priority of a tier's RPC batches (1 goes first, 5 last): the tiers share one
 * rate-limited queue, and a busy wallet's freshness must not wait behind a low sweep's backlog.
 */
export const TIER_PRIORITY: Record<Tier, number> = { high: 1, medium: 3, low: 5 };

export const tierWorkflowId = (tier: Tier): string => `balance-tier-${tier}`;
export const tierScheduleId = (tier: Tier): string => `balance-sweep-${tier}`;
