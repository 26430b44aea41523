// Webhook delivery's state (migration 009): the cursor with its claimed batch, the delivered
// batches (for lag figures) and the dead letters. Every change of the feed ends up delivered
// (cursor past it) or dead-lettered, never both lost: the cursor moves past a batch only in the
// transaction that records it delivered or dead.

import type { Sql } from './client';

/** A batch: the feed's changes in (after, last]; first is its first position. Fixed once claimed. */
export interface BatchRange {
  after: bigint;
  first: bigint;
  last: bigint;
  changes: number;
  oldestObservedAt: Date;
}

/**
 * The claimed batch, or a new claim of up to `size` changes after the cursor; null when the
 * feed holds nothing after it. A claim outlives the process that made it: whoever sends next
 * sends the same positions.
 */
export function claimBatch(sql: Sql, size: number): Promise<{ position: bigint; batch: BatchRange | null }> {
  return sql.begin(async (tx) => {
    const [cursor] = await tx<{ position: bigint; pendingTo: bigint | null }[]>`SELECT position, pending_to FROM webhook_cursor FOR UPDATE`;
    const { position, pendingTo } = cursor!;
    const [range] = await tx<{ first: bigint | null; last: bigint | null; changes: number; oldest: Date | null }[]>`
      SELECT min(position) AS first, max(position) AS last, count(*)::int AS changes, min(observed_at) AS oldest
      FROM (SELECT position, observed_at FROM change_feed
            WHERE position > ${position} AND (${pendingTo}::bigint IS NULL OR position <= ${pendingTo}::bigint)
            ORDER BY position LIMIT ${pendingTo === null ? size : null}) b`;
    if (range!.first === null) return { position, batch: null };
    if (pendingTo === null) await tx`UPDATE webhook_cursor SET pending_to = ${range!.last}`;
    return { position, batch: { after: position, first: range!.first, last: range!.last!, changes: range!.changes, oldestObservedAt: range!.oldest! } };
  });
}

/** Moves the cursor past a delivered batch and records it; false when it had moved already (a duplicate send). */
export function recordDelivered(sql: Sql, batch: { after: bigint; first: bigint; last: bigint; changes: number }, attempts: number): Promise<boolean> {
  return sql.begin(async (tx) => {
    const moved = await tx`
      UPDATE webhook_cursor SET position = ${batch.last}, pending_to = NULL, last_delivered_at = now(),
        batches_delivered = batches_delivered + 1, changes_delivered = changes_delivered + ${batch.changes}
      WHERE position = ${batch.after} AND pending_to = ${batch.last}`;
    if (moved.count === 0) return false;
    await tx`
      INSERT INTO webhook_deliveries (first_position, last_position, changes, attempts)
      VALUES (${batch.first}, ${batch.last}, ${batch.changes}, ${attempts}) ON CONFLICT DO NOTHING`;
    // Kept for a week: enough for lag percentiles, bounded however long the service runs.
    await tx`DELETE FROM webhook_deliveries WHERE delivered_at < now() - interval '7 days'`;
    return true;
  });
}

/** Counts a failed attempt; `error` is already redacted. */
export async function recordFailedAttempt(sql: Sql, error: string): Promise<void> {
  await sql`UPDATE webhook_cursor SET failed_attempts = failed_attempts + 1, last_error = ${error.slice(0, 500)}, last_error_at = now()`;
}

export type DeadReason = 'rejected' | 'expired';

/** Gives up on the claimed batch: a dead letter, and the cursor past it. False when it had moved already. */
export function recordDeadLetter(sql: Sql, batch: BatchRange, reason: DeadReason, error: string | null): Promise<boolean> {
  return sql.begin(async (tx) => {
    const moved = await tx`
      UPDATE webhook_cursor SET position = ${batch.last}, pending_to = NULL
      WHERE position = ${batch.after} AND pending_to = ${batch.last}`;
    if (moved.count === 0) return false;
    await tx`
      INSERT INTO webhook_dead_letters (first_position, last_position, changes, reason, error, oldest_observed)
      VALUES (${batch.first}, ${batch.last}, ${batch.changes}, ${reason}, ${error?.slice(0, 500) ?? null}, ${batch.oldestObservedAt})
      ON CONFLICT DO NOTHING`;
    return true;
  });
}

export interface DeadLetter {
  firstPosition: bigint;
  lastPosition: bigint;
  changes: number;
  reason: DeadReason;
  error: string | null;
  oldestObserved: Date;
  deadAt: Date;
}

/** Dead letters holding a position in [from, to] (all without bounds), in feed order. */
export function deadLetters(sql: Sql, range: { from: bigint; to: bigint } | null = null): Promise<DeadLetter[]> {
  return sql<DeadLetter[]>`
    SELECT first_position, last_position, changes, reason, error, oldest_observed, dead_at FROM webhook_dead_letters
    WHERE ${range === null} OR (first_position <= ${range?.to ?? 0n} AND last_position >= ${range?.from ?? 0n})
    ORDER BY first_position`;
}

export async function removeDeadLetter(sql: Sql, firstPosition: bigint): Promise<void> {
  await sql`DELETE FROM webhook_dead_letters WHERE first_position = ${firstPosition}`;
}

export interface DeliveryState {
  position: bigint;
  /** The newest position in the feed. */
  latest: bigint;
  pendingTo: bigint | null;
  batchesDelivered: bigint;
  changesDelivered: bigint;
  failedAttempts: bigint;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastDeliveredAt: Date | null;
  /** Changes after the cursor. */
  undelivered: bigint;
  /** The oldest undelivered change's age (database clock); null when all are delivered. */
  lagSeconds: number | null;
  deadLetters: number;
  deadLetterChanges: number;
}

/** Where delivery stands: index reads only (the feed's primary key, the dead letters' count). */
export async function deliveryState(sql: Sql): Promise<DeliveryState> {
  const [row] = await sql<DeliveryState[]>`
    SELECT c.position, c.pending_to, c.batches_delivered, c.changes_delivered, c.failed_attempts, c.last_error, c.last_error_at,
           c.last_delivered_at,
           coalesce((SELECT max(position) FROM change_feed), 0::bigint) AS latest,
           (SELECT count(*) FROM change_feed f WHERE f.position > c.position) AS undelivered,
           (SELECT extract(epoch FROM now() - f.observed_at)::float8 FROM change_feed f
            WHERE f.position > c.position ORDER BY f.position LIMIT 1) AS lag_seconds,
           (SELECT count(*)::int FROM webhook_dead_letters) AS dead_letters,
           (SELECT coalesce(sum(changes), 0)::int FROM webhook_dead_letters) AS dead_letter_changes
    FROM webhook_cursor c`;
  return { ...row!, lagSeconds: row!.lagSeconds === null ? null : Math.max(0, row!.lagSeconds) };
}

export interface LagPercentiles {
  /** Changes delivered in the window (dead letters not counted). */
  changes: number;
  /** Seconds from a change's observation to the 2xx of the POST that carried it; null without deliveries. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/**
 * Delivery lag over the changes delivered from `since` to `until` (database clock): per change,
 * delivered_at of its batch minus its observed_at. For the benchmark's steady state.
 */
export async function deliveryLag(sql: Sql, since: Date, until: Date = new Date('9999-01-01')): Promise<LagPercentiles> {
  const [row] = await sql<{ changes: number; p50: number | null; p99: number | null; max: number | null }[]>`
    SELECT count(*)::int AS changes,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99,
           max(lag) AS max
    FROM (SELECT extract(epoch FROM d.delivered_at - f.observed_at)::float8 AS lag
          FROM webhook_deliveries d
          JOIN change_feed f ON f.position BETWEEN d.first_position AND d.last_position
          WHERE d.delivered_at >= ${since} AND d.delivered_at < ${until}) l`;
  return row!;
}
