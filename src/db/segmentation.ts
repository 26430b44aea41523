// Re-tiering in one set-based statement: each wallet's tier follows how often its balance
// changed recently, except while a manual promotion pins it.

import type { SegmentationRules } from '../config';
import { TIERS, type Tier } from '../tiers';
import type { Sql } from './client';
import { analyzeAfterBulkChange } from './wallets';

export interface RetierResult {
  /** "from->to" → wallets moved. */
  moved: Record<string, number>;
  /** Wallets per tier after the move. */
  tiers: Record<Tier, number>;
  /** Wallets left alone because a pin holds them. */
  pinned: number;
}

/**
 * busy (≥ highMinChanges changes in the window) → high; idle (no change for quietAfter,
 * counting from the first observation or from being added) → low; changed since its first
 * read → medium; otherwise (no change seen yet) the wallet keeps the tier it was added with.
 * The first observation of a wallet is not a change. Moved wallets get a new tier_since, so
 * they are due on their new tier's next sweep.
 */
export async function retier(sql: Sql, rules: SegmentationRules): Promise<RetierResult> {
  const result = await sql.begin(async (tx) => {
    const moves = await tx<{ fromTier: Tier; toTier: Tier; n: number }[]>`
      WITH activity AS (
        SELECT wallet_id, count(*) AS changes
        FROM balance_changes
        WHERE observed_at > now() - ${rules.windowMs} * interval '1 millisecond' AND previous_lamports IS NOT NULL
        GROUP BY wallet_id
      ),
      target AS (
        SELECT w.id, w.tier AS from_tier,
          CASE
            WHEN coalesce(a.changes, 0) >= ${rules.highMinChanges} THEN 'high'
            WHEN coalesce(w.changed_at, w.created_at) < now() - ${rules.quietAfterMs} * interval '1 millisecond' THEN 'low'
            -- Changed since its first read: neither busy nor quiet.
            WHEN w.changed_at > w.first_read_at THEN 'medium'
            -- No change seen yet, so no evidence against the tier it was added with: a million
            -- wallets imported into low stay there, one added to high stays until it goes quiet.
            ELSE w.tier
          END AS to_tier
        FROM wallets w LEFT JOIN activity a ON a.wallet_id = w.id
        WHERE w.invalid_reason IS NULL AND (w.pinned_until IS NULL OR w.pinned_until <= now())
      ),
      -- Rows a batch write (or a promotion) holds right now are skipped, not waited for: they
      -- move at the next re-tiering, and re-tiering can never deadlock with the sweeps.
      movable AS MATERIALIZED (
        SELECT t.id, t.from_tier, t.to_tier
        FROM target t JOIN wallets w ON w.id = t.id
        WHERE t.to_tier <> t.from_tier
        ORDER BY t.id
        FOR UPDATE OF w SKIP LOCKED
      ),
      moved AS (
        UPDATE wallets w SET tier = m.to_tier, tier_since = clock_timestamp()
        FROM movable m
        -- Re-checked on the row as locked: a promotion committed since the snapshot wins.
        WHERE w.id = m.id AND w.tier = m.from_tier AND (w.pinned_until IS NULL OR w.pinned_until <= now())
        RETURNING m.from_tier, m.to_tier
      )
      SELECT from_tier, to_tier, count(*)::int AS n FROM moved GROUP BY from_tier, to_tier`;
    const counts = await tx<{ tier: Tier; n: number }[]>`SELECT tier, count(*)::int AS n FROM wallets GROUP BY tier`;
    const [pins] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM wallets WHERE pinned_until > now()`;
    const result: RetierResult = {
      moved: Object.fromEntries(moves.map((m) => [`${m.fromTier}->${m.toTier}`, m.n])),
      tiers: Object.fromEntries(TIERS.map((t) => [t, counts.find((c) => c.tier === t)?.n ?? 0])) as Record<Tier, number>,
      pinned: pins!.n,
    };
    await tx`INSERT INTO retier_runs (moved, tiers, pinned) VALUES (${tx.json(result.moved)}, ${tx.json(result.tiers)}, ${result.pinned})`;
    return result;
  });
  for (const tier of TIERS) {
    const movedIn = Object.entries(result.moved).reduce((n, [move, count]) => (move.endsWith(`->${tier}`) ? n + count : n), 0);
    if (await analyzeAfterBulkChange(sql, tier, movedIn, result.tiers[tier])) break;
  }
  return result;
}

export interface RetierRun extends RetierResult {
  ranAt: Date;
}

/** The latest re-tiering, or null when none has run. */
export async function lastRetier(sql: Sql): Promise<RetierRun | null> {
  const [row] = await sql<RetierRun[]>`SELECT ran_at, moved, tiers, pinned FROM retier_runs ORDER BY id DESC LIMIT 1`;
  return row ?? null;
}
