// Read queries for operators (the CLI): listing and showing wallets with their derived
// "last checked", per-tier counts, and the lookups a bulk import needs.
//
// A wallet's last check is not stored on its row (that would cost a row write per check):
// it is the newest batch of the wallet's tier that read it (its id is in the batch's
// wallet_ids) after the wallet entered the tier.

import type { Tier } from '../tiers';
import type { Sql } from './client';
import type { WalletId } from './types';

export interface WalletView {
  id: WalletId;
  address: string;
  tier: Tier;
  tierSince: Date;
  /** A manual promotion holds the wallet in its tier until then (automatic re-tiering leaves it alone). */
  pinnedUntil: Date | null;
  /** Exact u64; null until the first read. */
  lamports: bigint | null;
  onChain: boolean | null;
  slot: bigint | null;
  changedAt: Date | null;
  lastCheckedAt: Date | null;
  /** When set and lastCheckedAt is null: checks of the tier before this instant were pruned. */
  checksPrunedBefore: Date | null;
  /** Set when the RPC can never accept the address; such a wallet is no longer checked. */
  invalidReason: string | null;
  createdAt: Date;
}

function columns(sql: Sql) {
  // ORDER BY read_at DESC LIMIT 1 walks the (tier, read_at) index from the newest batch,
  // bounded below by tier_since.
  return sql`
    w.id, w.address, w.tier, w.tier_since, w.pinned_until, w.lamports, w.on_chain, w.slot,
    w.changed_at, w.invalid_reason, w.created_at,
    (SELECT b.read_at FROM batch_checks b
     WHERE b.tier = w.tier AND b.read_at > w.tier_since AND w.id BETWEEN b.from_id AND b.to_id AND w.id = ANY(b.wallet_ids)
     ORDER BY b.read_at DESC LIMIT 1) AS last_checked_at,
    (SELECT p.before FROM batch_checks_pruned p WHERE p.tier = w.tier AND p.before > w.tier_since) AS checks_pruned_before`;
}

export interface ListFilter {
  tier?: Tier;
  /** Only wallets set aside as invalid. */
  setAside?: boolean;
}

function where(sql: Sql, { tier, setAside }: ListFilter) {
  const byTier = tier ? sql`AND w.tier = ${tier}` : sql``;
  const bySetAside = setAside ? sql`AND w.invalid_reason IS NOT NULL` : sql``;
  return sql`WHERE true ${byTier} ${bySetAside}`;
}

/** The first `limit` wallets (by id, i.e. in the order they were added) matching the filter. */
export async function listWallets(sql: Sql, filter: ListFilter & { limit: number }): Promise<WalletView[]> {
  return sql<WalletView[]>`
    SELECT ${columns(sql)} FROM wallets w ${where(sql, filter)}
    ORDER BY w.id LIMIT ${filter.limit}`;
}

export async function countWallets(sql: Sql, filter: ListFilter = {}): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM wallets w ${where(sql, filter)}`;
  return row!.n;
}

export async function findWallet(sql: Sql, address: string): Promise<WalletView | null> {
  const [row] = await sql<WalletView[]>`SELECT ${columns(sql)} FROM wallets w WHERE w.address = ${address}`;
  return row ?? null;
}

export interface BalanceChange {
  slot: bigint;
  lamports: bigint;
  previousLamports: bigint | null;
  observedAt: Date;
}

/** A wallet's most recent observed balance changes, newest first. */
export async function walletHistory(sql: Sql, walletId: WalletId, limit: number): Promise<BalanceChange[]> {
  if (limit <= 0) return [];
  return sql<BalanceChange[]>`
    SELECT slot, lamports, previous_lamports, observed_at
    FROM balance_changes WHERE wallet_id = ${walletId}
    ORDER BY slot DESC LIMIT ${limit}`;
}

export interface TierCounts {
  wallets: number;
  /** Set aside as invalid: no longer checked. */
  setAside: number;
  /** Never read yet. */
  unread: number;
}

/** Wallet counts for every tier (tiers without wallets get zeros). */
export async function tierCounts(sql: Sql, tiers: readonly Tier[]): Promise<Record<Tier, TierCounts>> {
  const rows = await sql<({ tier: Tier } & TierCounts)[]>`
    SELECT tier, count(*)::int AS wallets,
           count(*) FILTER (WHERE invalid_reason IS NOT NULL)::int AS set_aside,
           count(*) FILTER (WHERE lamports IS NULL AND invalid_reason IS NULL)::int AS unread
    FROM wallets GROUP BY tier`;
  const counts = Object.fromEntries(tiers.map((t) => [t, { wallets: 0, setAside: 0, unread: 0 }])) as Record<Tier, TierCounts>;
  for (const { tier, ...count } of rows) counts[tier] = count;
  return counts;
}

/** The tier of each given address that is tracked. */
export async function trackedTiers(sql: Sql, addresses: readonly string[]): Promise<Map<string, Tier>> {
  if (addresses.length === 0) return new Map();
  const rows = await sql<{ address: string; tier: Tier }[]>`
    SELECT address, tier FROM wallets WHERE address = ANY(${[...addresses]}::text[])`;
  return new Map(rows.map((r) => [r.address, r.tier]));
}

/** The database's clock now, exact (µs), as text to compare with later. */
export async function databaseNow(sql: Sql): Promise<string> {
  const [row] = await sql<{ now: string }[]>`SELECT clock_timestamp()::text AS now`;
  return row!.now;
}

/** How many of the given addresses were added at or after `since` (a databaseNow value). */
export async function countAddedSince(sql: Sql, addresses: readonly string[], since: string): Promise<number> {
  if (addresses.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM wallets
    WHERE address = ANY(${[...addresses]}::text[]) AND created_at >= ${since}::timestamptz`;
  return row!.n;
}
