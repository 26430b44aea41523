// The query behind the stalest-wallet gauge: per tier, how long ago its least recently
// checked wallet was checked.
//
// A wallet's last check is derived (src/db/reads.ts says how): the newest batch of its tier
// that read it (its wallet_ids) after the wallet entered the tier; a wallet never
// checked counts from when it entered the tier. Both together are
//   GREATEST(tier_since, newest read_at of the tier's batches covering the wallet)
// because a batch that read before tier_since is older than tier_since anyway. Wallets set
// aside as invalid are never checked again and are left out.
//
// Cost. Looking up every wallet's newest covering batch one by one would scan batch history
// per wallet. Instead the query starts from the batches that read within a horizon (the
// (tier, read_at) index), joins each to the wallets it read (by primary key: at most 100
// each), keeps each wallet's newest read and folds all the tier's wallets into a minimum:
// linear in the wallets and the batches inside the horizon, no index beyond the engine's.
// Leaving older batches out cannot change a result that is itself inside the horizon (every
// wallet then was checked or joined the tier inside it); a result older than the horizon is
// recomputed with a wider one. A tier's stalest check never moves back in time (checks and
// tier moves only make a wallet's last check newer; new wallets start now), so the previous
// result is a horizon that always holds: in steady state one interval of batches is read.
// Measured on 2 cores with 1,000,000 wallets in three tiers: about 3 s.

import type { Tier } from '../tiers';
import type { Sql } from './client';

export interface TierStaleness {
  /** Wallets of the tier that are checked (not set aside). */
  wallets: number;
  /** The least recently checked wallet's last check (database clock, as text); null without wallets. */
  oldest: string | null;
  /** Seconds from `oldest` to the query's now(); null without wallets. */
  stalestAgeSeconds: number | null;
}

/** Where to start looking: a previous result's `oldest` (always enough), or a horizon back from now. */
export type StalenessStart = { since: string } | { horizonMs: number };

interface Attempt extends TierStaleness {
  /** False when the result is older than the horizon, so older batches might have changed it. */
  exact: boolean;
  /** The horizon that was used, in ms back from now. */
  horizonMs: number;
}

type Horizon = { since: string } | { horizonMs: number | null };

/** One set-based query for several tiers; a null horizonMs takes the whole batch history. */
async function stalenessWithin(sql: Sql, horizons: [Tier, Horizon][]): Promise<Map<Tier, Attempt>> {
  const tiers = horizons.map(([tier]) => tier);
  // postgres.js sends no NULLs inside arrays: '' is "no since", -1 "no horizon".
  const since = horizons.map(([, h]) => ('since' in h ? h.since : ''));
  const horizonMs = horizons.map(([, h]) => ('horizonMs' in h ? (h.horizonMs === null ? -1 : Math.max(0, Math.round(h.horizonMs))) : 0));
  const rows = await sql<{ tier: Tier; wallets: number; oldest: string | null; ageSeconds: number | null; exact: boolean; horizonMs: number | null }[]>`
    WITH horizon AS (
      SELECT tier,
             CASE WHEN since <> '' THEN since::timestamptz
                  WHEN horizon_ms < 0 THEN '-infinity'::timestamptz
                  ELSE now() - horizon_ms * interval '1 millisecond' END AS since
      FROM unnest(${tiers}::text[], ${since}::text[], ${horizonMs}::float8[]) AS h(tier, since, horizon_ms)
    ),
    checked AS (
      SELECT w.id, max(b.read_at) AS last_read
      FROM horizon h
      JOIN batch_checks b ON b.tier = h.tier AND b.read_at >= h.since
      CROSS JOIN LATERAL unnest(b.wallet_ids) AS r(id)
      JOIN wallets w ON w.id = r.id AND w.tier = b.tier AND w.invalid_reason IS NULL
      GROUP BY w.id
    ),
    per_tier AS (
      -- Checks older than the tier's pruning horizon are gone: the wallet was not checked
      -- since then, at least.
      SELECT w.tier, count(*) AS wallets, min(GREATEST(w.tier_since, c.last_read, pr.before)) AS oldest
      FROM wallets w
      LEFT JOIN checked c ON c.id = w.id
      LEFT JOIN batch_checks_pruned pr ON pr.tier = w.tier
      WHERE w.invalid_reason IS NULL AND w.tier = ANY(${tiers}::text[])
      GROUP BY w.tier
    )
    SELECT h.tier,
           coalesce(p.wallets, 0)::int AS wallets,
           p.oldest::text AS oldest,
           extract(epoch FROM now() - p.oldest)::float8 AS age_seconds,
           (p.oldest IS NULL OR p.oldest >= h.since) AS exact,
           CASE WHEN h.since = '-infinity' THEN NULL ELSE (extract(epoch FROM now() - h.since) * 1000)::float8 END AS horizon_ms
    FROM horizon h LEFT JOIN per_tier p ON p.tier = h.tier`;
  return new Map(
    rows.map((r) => [
      r.tier,
      {
        wallets: r.wallets,
        oldest: r.oldest,
        stalestAgeSeconds: r.ageSeconds === null ? null : Math.max(0, r.ageSeconds),
        exact: r.exact,
        horizonMs: r.horizonMs === null || !Number.isFinite(r.horizonMs) ? Infinity : r.horizonMs,
      },
    ]),
  );
}

/** Each wider horizon is this many times the previous one; after the last, the whole history. */
const WIDEN = 8;
const WIDER_ATTEMPTS = 2;

/**
 * The stalest wallet of each tier, exact whatever the start: a tier whose stalest wallet is
 * older than where the query started looking is recomputed with wider horizons.
 */
export async function stalestWallets(sql: Sql, start: Record<Tier, StalenessStart>): Promise<Record<Tier, TierStaleness>> {
  const result = {} as Record<Tier, TierStaleness>;
  let pending = Object.entries(start) as [Tier, Horizon][];
  for (let attempt = 0; pending.length > 0; attempt++) {
    const answers = await stalenessWithin(sql, pending);
    const next: [Tier, Horizon][] = [];
    for (const [tier, horizon] of pending) {
      const { exact, horizonMs, ...answer } = answers.get(tier)!;
      if (exact || ('horizonMs' in horizon && horizon.horizonMs === null)) result[tier] = answer;
      else next.push([tier, { horizonMs: attempt < WIDER_ATTEMPTS && Number.isFinite(horizonMs) ? Math.max(horizonMs, 1_000) * WIDEN : null }]);
    }
    pending = next;
  }
  return result;
}
