// The queries behind a sweep: which wallets are due, reading a batch, and writing
// what a batch observed in one statement.

import type { Tier } from '../tiers';
import type { Sql, Tx } from './client';
import { NUMERIC, type WalletId } from './types';

export interface IdRange {
  fromId: WalletId;
  toId: WalletId;
  /** Due wallets inside the range when it was planned. */
  wallets: number;
}

type IdSpan = { fromId: WalletId; toId: WalletId };

/**
 * A wallet is due when no batch of its tier from a sweep planned since `cutoff` has read it.
 * A batch covers exactly the wallets whose balances it read (`wallet_ids`), and only if it read
 * after they entered the tier. Coverage by the list, not by the batch's id range, means no
 * wallet counts as checked without a read: not one that entered the range after planning or
 * past the 100th, nor one whose move had not committed when the batch read (the batch's snapshot
 * did not have it in the tier, so it did not read it, whatever the two clocks say).
 * The test is on the sweep's plan instant, not on the read's: a sweep that takes more
 * than half its interval would otherwise leave its late wallets "recent" for the next sweep,
 * and they would be read only every other sweep.
 *
 * Across a whole tier, each wallet is looked up in the GiST index on the batch's range.
 * Inside an id range (a child's plan, a batch's read) the few batches overlapping it are read
 * once instead (a materialized CTE: computed once, whatever the statistics), found by the same
 * index. With statistics from before a sweep filled batch_checks (the first sweep, or before
 * autoanalyze), the planner otherwise scanned every recent batch of the tier per wallet; selected
 * by tier and plan instant, they were every batch of the sweep so far (8,000 rows a read late in
 * a 1,000,000-wallet sweep's low tier).
 */
function dueWallets(sql: Sql, tier: Tier, cutoff: string, within?: IdSpan) {
  const covered = within
    ? sql`
      WITH b AS MATERIALIZED (
        SELECT from_id, to_id, read_at, wallet_ids FROM batch_checks
        WHERE int8range(from_id, to_id, '[]') && int8range(${within.fromId}::bigint, ${within.toId}::bigint, '[]')
          AND tier = ${tier} AND planned_at >= ${cutoff}::timestamptz)
      SELECT 1 FROM b
      WHERE w.id BETWEEN b.from_id AND b.to_id AND w.id = ANY(b.wallet_ids) AND b.read_at > w.tier_since`
    : sql`
      SELECT 1 FROM batch_checks b
      WHERE int8range(b.from_id, b.to_id, '[]') @> w.id AND w.id = ANY(b.wallet_ids)
        AND b.tier = ${tier} AND b.planned_at >= ${cutoff}::timestamptz AND b.read_at > w.tier_since`;
  const range = within ? sql`AND w.id BETWEEN ${within.fromId} AND ${within.toId}` : sql``;
  return sql`w.tier = ${tier} AND w.invalid_reason IS NULL ${range} AND NOT EXISTS (${covered})`;
}

/** Batch rows are kept this many of their tier's intervals, and at least CHECKS_KEPT_MIN_MS. */
export const CHECKS_KEPT_INTERVALS = 4;
export const CHECKS_KEPT_MIN_MS = 3_600_000;

/**
 * Deletes a tier's batch rows older than its retention, which no sweep needs any more (a
 * sweep looks back half an interval), and records the instant before which checks are no
 * longer on record, so "last checked" and the stalest-wallet gauge stay truthful lower bounds,
 * and the newest slot they had read, below which no later read is trusted (see readBatch).
 */
export async function pruneChecks(sql: Sql, tier: Tier, intervalMs: number): Promise<number> {
  const keepMs = Math.max(CHECKS_KEPT_INTERVALS * intervalMs, CHECKS_KEPT_MIN_MS);
  const [row] = await sql<{ deleted: number }[]>`
    WITH horizon AS (SELECT now() - ${keepMs} * interval '1 millisecond' AS before),
    deleted AS (
      DELETE FROM batch_checks b USING horizon h
      WHERE b.tier = ${tier} AND b.read_at < h.before
      RETURNING b.slot
    ),
    recorded AS (
      INSERT INTO batch_checks_pruned (tier, before, slot)
      SELECT ${tier}, h.before, (SELECT max(slot) FROM deleted) FROM horizon h WHERE EXISTS (SELECT 1 FROM deleted)
      ON CONFLICT (tier) DO UPDATE SET before = GREATEST(batch_checks_pruned.before, excluded.before),
                                       slot = GREATEST(batch_checks_pruned.slot, excluded.slot)
    )
    SELECT count(*)::int AS deleted FROM deleted`;
  return row!.deleted;
}

/** Batch rows below which a stale plan costs little: a scan of a few dozen pages. */
const CHECKS_ANALYZE_MIN = 500;

/**
 * Refreshes batch_checks' statistics once the table holds twice the rows the planner last saw.
 * A sweep adds a row per batch, faster than autoanalyze (a tenth of the table, at most once a
 * minute) catches up, and each connection keeps the generic plan it made of the batch queries
 * while the table was small: a scan of every batch row, twice in each read and again in each
 * write (at 1,000,000 wallets: 6,321 rows and 795 pages per scan late in the first sweep,
 * where the range index reads 2 to 7). ANALYZE updates the statistics and invalidates those plans.
 * Called once per child, so a sweep analyzes the table a few times (it doubles each time).
 */
export async function analyzeChecksWhenGrown(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ planned: number; live: number }[]>`
    SELECT c.reltuples::float8 AS planned, s.n_live_tup::float8 AS live
    FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.oid = 'batch_checks'::regclass`;
  if (!row || row.live < CHECKS_ANALYZE_MIN || row.live < 2 * Math.max(row.planned, 0)) return false;
  // Another child's ANALYZE of the table is as good: this one does not wait for it.
  await sql`ANALYZE (SKIP_LOCKED) batch_checks`;
  return true;
}

export interface SweepClock {
  /** When the sweep was planned; each of its batches records it. */
  plannedAt: string;
  /**
   * Batches of sweeps planned before this instant no longer count: half an interval before
   * this plan, so a sweep planned on time (or late) reads every wallet again, while one asked
   * for right after the last sweep, or re-planned while one runs, skips what that one read.
   */
  cutoff: string;
}

export async function sweepClock(sql: Sql, intervalMs: number): Promise<SweepClock> {
  // As text: µs precision, which a Date would cut to ms.
  const [row] = await sql<SweepClock[]>`
    SELECT now()::text AS planned_at, (now() - ${intervalMs / 2} * interval '1 millisecond')::text AS cutoff`;
  return row!;
}

/** Splits the due wallets (optionally inside an id range) into consecutive ranges of `size`. */
export async function dueRanges(
  sql: Sql,
  { tier, cutoff, size, within }: { tier: Tier; cutoff: string; size: number; within?: IdSpan },
): Promise<IdRange[]> {
  return sql<IdRange[]>`
    SELECT min(id) AS from_id, max(id) AS to_id, count(*)::int AS wallets
    FROM (
      SELECT w.id, (row_number() OVER (ORDER BY w.id) - 1) / ${size} AS grp
      FROM wallets w
      WHERE ${dueWallets(sql, tier, cutoff, within)}
    ) numbered
    GROUP BY grp
    ORDER BY grp`;
}

export interface StoredWallet {
  id: WalletId;
  address: string;
  lamports: bigint | null;
  slot: bigint | null;
}

export const MAX_BATCH = 100;

/**
 * The newest slot at which a wallet's balance was read: its last change (`storedSlot`, the
 * wallet row's slot), or a later batch that read it unchanged (any tier's), or at least the
 * newest slot of the pruned batch rows.
 */
const newestRead = (sql: Sql, id: ReturnType<Sql>, storedSlot: ReturnType<Sql>) => sql`
  GREATEST(
    ${storedSlot},
    (SELECT max(b.slot) FROM batch_checks b WHERE int8range(b.from_id, b.to_id, '[]') @> ${id} AND ${id} = ANY(b.wallet_ids)),
    (SELECT max(slot) FROM batch_checks_pruned))`;

export interface BatchRead {
  /** The instant the wallets were read (µs precision, as text). */
  readAt: string;
  wallets: StoredWallet[];
  /**
   * The newest slot any of these wallets was read at: the RPC call asks for a node at least this
   * current, so a lagging node is refused by the RPC itself. Null before the first read.
   */
  minContextSlot: bigint | null;
}

/** The due wallets of one batch range (at most MAX_BATCH, in id order). */
export async function readBatch(
  sql: Sql,
  { tier, cutoff, fromId, toId }: { tier: Tier; cutoff: string; fromId: WalletId; toId: WalletId },
): Promise<BatchRead> {
  // minContextSlot is the newest read of any of the wallets: newestRead's three terms, each
  // taken over the whole batch at once (one index scan for the batch rows that read any of
  // them, instead of one per wallet).
  const rows = await sql<(StoredWallet & { newest: bigint | null; readAt: string })[]>`
    WITH due AS MATERIALIZED (
      SELECT w.id, w.address, w.lamports, w.slot
      FROM wallets w
      WHERE ${dueWallets(sql, tier, cutoff, { fromId, toId })}
      ORDER BY w.id
      LIMIT ${MAX_BATCH}),
    span AS (SELECT int8range(min(id), max(id), '[]') AS ids, array_agg(id) AS list, max(slot) AS slot FROM due)
    SELECT due.*, clock_timestamp()::text AS read_at,
      GREATEST(
        (SELECT slot FROM span),
        (SELECT max(b.slot) FROM batch_checks b, span
          WHERE int8range(b.from_id, b.to_id, '[]') && span.ids AND b.wallet_ids && span.list),
        (SELECT max(slot) FROM batch_checks_pruned)) AS newest
    FROM due
    ORDER BY due.id`;
  const [clock] = rows.length ? [rows[0]!.readAt] : (await sql<{ readAt: string }[]>`SELECT clock_timestamp()::text AS read_at`).map((r) => r.readAt);
  return {
    readAt: clock!,
    wallets: rows.map(({ id, address, lamports, slot }) => ({ id, address, lamports, slot })),
    minContextSlot: rows[0]?.newest ?? null,
  };
}

export interface Observation {
  id: WalletId;
  lamports: bigint;
  onChain: boolean;
  /** The slot of the call that read it, when a batch took several (default: the batch's). */
  slot?: bigint;
}

/** A wallet's ATA for a tracked mint as read (a missing one is amount 0, onChain false). */
export interface TokenRead {
  id: WalletId;
  mint: string;
  amount: bigint;
  onChain: boolean;
  slot: bigint;
}

export interface BatchWrite {
  batchKey: string;
  tier: Tier;
  fromId: WalletId;
  toId: WalletId;
  /** The plan instant of the batch's sweep (SweepClock.plannedAt). */
  plannedAt: string;
  readAt: string;
  /** The newest slot of the batch's calls. */
  slot: bigint;
  /** Every wallet read; the batch row records them as checked. */
  observations: Observation[];
  /** Their ATAs for the tracked mints. */
  tokens?: TokenRead[];
}

export interface BatchWriteResult {
  /** Wallet rows updated because their balance (or existence) changed. */
  changed: number;
  /** History rows appended. */
  historyRows: number;
  /** Observations dropped because the wallet was already read at this slot or a newer one. */
  stale: number;
  /** False when this batch had been written before (a replay). */
  recorded: boolean;
  /** Token balances inserted or updated because their amount (or existence) changed. */
  tokensChanged: number;
  /** Token history rows appended. */
  tokenHistoryRows: number;
}

/** Advisory-lock class of the per-wallet write locks (the two-key form; ids split into 31-bit halves). */
const WALLET_LOCK_CLASS = 0x6277; // "bw"

/**
 * Writes a batch: changed wallets are updated and get a history row, unchanged ones cost
 * nothing but the batch's own row, which records every wallet read. Replays are no-ops: the
 * history key is (wallet, slot), the batch key is unique, and a balance changes only on a read
 * newer than every read of that wallet so far, unchanged ones included.
 *
 * Two batches may hold the same wallet (a move during a sweep, overlapping off-cadence sweeps).
 * Each write first takes a transaction-scoped advisory lock per wallet, in id order, so the
 * second writer's statement sees the first one's committed balance and batch row: its previous
 * balance is the true one (no fake "7 → 7" change) and its slot guard knows the other read.
 */
export async function writeBatch(sql: Sql, batch: BatchWrite): Promise<BatchWriteResult> {
  const sorted = [...batch.observations].sort((a, b) => a.id - b.id);
  const ids = sorted.map((o) => o.id);
  const lamports = sql.array(sorted.map((o) => o.lamports), NUMERIC);
  // postgres.js does not serialize boolean arrays; text casts exactly.
  const onChain = sorted.map((o) => String(o.onChain));
  // As text: postgres.js sends a bigint array as one value, not an array.
  const slots = sorted.map((o) => String(o.slot ?? batch.slot));
  const row = await sql.begin(async (tx) => {
    // The three statements go out together, in this order (postgres.js pipelines a transaction's
    // queries): one round trip instead of three. Postgres still runs each to its end before the
    // next begins, so the locks are held before the write's snapshot is taken.
    const locked = tx`
      SELECT pg_advisory_xact_lock(${WALLET_LOCK_CLASS} + (id >> 31)::int, (id & 2147483647)::int)
      FROM unnest(${ids}::bigint[]) WITH ORDINALITY AS t(id, n) ORDER BY n`.execute();
    // Before the batch's own row exists (the next statement writes it), which would make every read look stale.
    const tokens = writeTokens(sql, tx, batch.tokens ?? []);
    // A new statement, so a new snapshot: it sees what writers of these wallets committed before our locks.
    const written = tx<{ changed: number; historyRows: number; stale: number; recorded: number }[]>`
      WITH input AS (
        SELECT * FROM unnest(${ids}::bigint[], ${lamports}, ${onChain}::text[]::boolean[], ${slots}::text[]::bigint[]) AS t(id, lamports, on_chain, slot)
      ),
      differing AS (
        SELECT i.id, i.lamports, i.on_chain, i.slot, o.lamports AS previous, ${newestRead(sql, sql`i.id`, sql`o.slot`)} AS newest
        FROM input i JOIN wallets o ON o.id = i.id
        WHERE o.lamports IS DISTINCT FROM i.lamports OR o.on_chain IS DISTINCT FROM i.on_chain
      ),
      changed AS (
        UPDATE wallets w
        SET lamports = d.lamports, on_chain = d.on_chain, slot = d.slot, changed_at = now(),
            first_read_at = coalesce(w.first_read_at, now())
        FROM differing d
        WHERE w.id = d.id AND (d.newest IS NULL OR d.newest < d.slot)
        RETURNING w.id, d.slot, d.lamports, d.previous
      ),
      history AS (
        INSERT INTO balance_changes (wallet_id, slot, lamports, previous_lamports)
        SELECT id, slot, lamports, previous FROM changed
        ON CONFLICT DO NOTHING
        RETURNING 1
      ),
      recorded AS (
        INSERT INTO batch_checks (batch_key, tier, from_id, to_id, planned_at, read_at, slot, wallets, changed, wallet_ids)
        VALUES (${batch.batchKey}, ${batch.tier}, ${batch.fromId}, ${batch.toId}, ${batch.plannedAt}::timestamptz, ${batch.readAt}::timestamptz,
                ${batch.slot}, ${ids.length}, (SELECT count(*) FROM changed), ${ids}::bigint[])
        ON CONFLICT (batch_key) DO NOTHING
        RETURNING 1
      )
      SELECT (SELECT count(*)::int FROM changed) AS changed,
             (SELECT count(*)::int FROM history) AS history_rows,
             (SELECT count(*)::int FROM differing WHERE newest >= slot) AS stale,
             (SELECT count(*)::int FROM recorded) AS recorded`.execute();
    const [, tokensRow, [lamportsRow]] = await Promise.all([locked, tokens, written]);
    return { ...lamportsRow!, ...tokensRow };
  });
  return { ...row, recorded: row.recorded === 1 };
}

/**
 * Token balances under the lamports' rules: a change (or a first read) updates the balance and
 * appends a history row keyed (wallet, mint, slot), only from a read newer than every read of the
 * wallet so far; an unchanged amount writes nothing.
 */
function writeTokens(sql: Sql, tx: Tx, tokens: readonly TokenRead[]): Promise<{ tokensChanged: number; tokenHistoryRows: number }> {
  if (tokens.length === 0) return Promise.resolve({ tokensChanged: 0, tokenHistoryRows: 0 });
  // Sent at the call (execute), so after the statements issued before it and before those after.
  return tx<{ tokensChanged: number; tokenHistoryRows: number }[]>`
    WITH input AS (
      SELECT * FROM unnest(${tokens.map((t) => t.id)}::bigint[], ${tokens.map((t) => t.mint)}::text[],
                           ${tx.array(tokens.map((t) => t.amount), NUMERIC)}, ${tokens.map((t) => String(t.onChain))}::text[]::boolean[],
                           ${tokens.map((t) => String(t.slot))}::text[]::bigint[]) AS t(wallet_id, mint, amount, on_chain, slot)
    ),
    differing AS (
      SELECT i.*, o.amount AS previous, ${newestRead(sql, sql`i.wallet_id`, sql`o.slot`)} AS newest
      FROM input i LEFT JOIN token_balances o ON o.wallet_id = i.wallet_id AND o.mint = i.mint
      WHERE o.amount IS DISTINCT FROM i.amount OR o.on_chain IS DISTINCT FROM i.on_chain
    ),
    changed AS (
      INSERT INTO token_balances AS b (wallet_id, mint, amount, on_chain, slot)
      SELECT wallet_id, mint, amount, on_chain, slot FROM differing WHERE newest IS NULL OR newest < slot
      ON CONFLICT (wallet_id, mint) DO UPDATE SET amount = excluded.amount, on_chain = excluded.on_chain, slot = excluded.slot, changed_at = now()
        WHERE b.slot < excluded.slot
      RETURNING b.wallet_id, b.mint, b.slot, b.amount, b.on_chain
    ),
    history AS (
      INSERT INTO token_changes (wallet_id, mint, slot, amount, on_chain, previous_amount)
      SELECT c.wallet_id, c.mint, c.slot, c.amount, c.on_chain, d.previous FROM changed c JOIN differing d USING (wallet_id, mint)
      ON CONFLICT DO NOTHING
      RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM changed) AS tokens_changed, (SELECT count(*)::int FROM history) AS token_history_rows`.execute().then(([row]) => row!);
}

/** What a batch already recorded under this key wrote (an earlier attempt of the same activity), or null. */
export async function recordedBatch(sql: Sql, batchKey: string): Promise<{ wallets: number; changed: number; slot: bigint } | null> {
  const [row] = await sql<{ wallets: number; changed: number; slot: bigint }[]>`
    SELECT wallets, changed, slot FROM batch_checks WHERE batch_key = ${batchKey}`;
  return row ?? null;
}

/** What the batches recorded under these keys wrote, in the keys' order (null: not recorded). */
export async function recordedBatches(sql: Sql, batchKeys: string[]): Promise<({ wallets: number; changed: number; slot: bigint } | null)[]> {
  const rows = await sql<{ batchKey: string; wallets: number; changed: number; slot: bigint }[]>`
    SELECT batch_key, wallets, changed, slot FROM batch_checks WHERE batch_key = ANY(${batchKeys}::text[])`;
  const byKey = new Map(rows.map(({ batchKey, ...row }) => [batchKey, row]));
  return batchKeys.map((key) => byKey.get(key) ?? null);
}

/** Sets aside wallets the RPC can never accept, with the reason, so no sweep retries them forever. */
export async function setAsideInvalid(sql: Sql, wallets: { id: WalletId; reason: string }[]): Promise<void> {
  if (wallets.length === 0) return;
  await sql`
    UPDATE wallets w SET invalid_reason = t.reason
    FROM unnest(${wallets.map((w) => w.id)}::bigint[], ${wallets.map((w) => w.reason)}::text[]) AS t(id, reason)
    WHERE w.id = t.id`;
}
