// The change feed (migration 008): every stored change at a position in one total order, read
// by cursor. Positions become visible in order (the migration's comment says how), so "after P"
// never skips a change that commits late; a rolled-back write leaves a hole, never filled.

import type { Sql } from './client';
import type { WalletId } from './types';

/** Notified (at commit) by every transaction that appends to the feed. */
export const FEED_CHANNEL = 'change_feed';

export interface FeedChange {
  position: bigint;
  walletId: WalletId;
  address: string;
  /** 'SOL', or a token's mint address. */
  asset: string;
  slot: bigint;
  /** u64 base units (lamports for SOL). */
  amount: bigint;
  /** Null for a wallet's first observation of the asset. */
  previous: bigint | null;
  observedAt: Date;
}

/** Up to `limit` changes after `after`, in feed order: one primary-key range read. */
export function changesAfter(sql: Sql, after: bigint, limit: number): Promise<FeedChange[]> {
  return sql<FeedChange[]>`
    SELECT position, wallet_id, address, asset, slot, amount, previous, observed_at
    FROM change_feed WHERE position > ${after}
    ORDER BY position LIMIT ${limit}`;
}

/** The changes in (after, last], in feed order: a claimed webhook batch, the same rows every time. */
export function changesThrough(sql: Sql, after: bigint, last: bigint): Promise<FeedChange[]> {
  return sql<FeedChange[]>`
    SELECT position, wallet_id, address, asset, slot, amount, previous, observed_at
    FROM change_feed WHERE position > ${after} AND position <= ${last}
    ORDER BY position`;
}

/** The newest position, 0 for an empty feed. */
export async function latestPosition(sql: Sql): Promise<bigint> {
  const [row] = await sql<{ position: bigint }[]>`SELECT coalesce(max(position), 0::bigint) AS position FROM change_feed`;
  return row!.position;
}

/** A wait on the feed's notifications (see listenToFeed). */
export interface FeedWaker {
  /**
   * Resolves true when a change was notified since the last wait returned (at once if one
   * was), false after `ms` without one or when `signal` aborts.
   */
  wait(ms: number, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * LISTENs on the feed, for a bounded wait (webhook delivery's). A lost listening connection is
 * re-made by postgres.js, retrying the connection until Postgres answers (test/feed.test.ts);
 * onlisten wakes then, since a change may have committed meanwhile.
 */
export async function listenToFeed(sql: Sql): Promise<FeedWaker> {
  let woken = false;
  let resume: (() => void) | null = null;
  const wake = () => {
    woken = true;
    resume?.();
  };
  const listening = await sql.listen(FEED_CHANNEL, wake, wake);
  return {
    async wait(ms, signal) {
      if (!woken && !signal?.aborted) {
        let timer: NodeJS.Timeout | undefined;
        const abort = () => resume?.();
        await new Promise<void>((resolve) => {
          resume = resolve;
          timer = setTimeout(resolve, ms);
          signal?.addEventListener('abort', abort);
        });
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        resume = null;
      }
      const was = woken;
      woken = false;
      return was;
    },
    async close() {
      await listening.unlisten().catch(() => undefined);
    },
  };
}

export interface FollowOptions {
  after: bigint;
  /** Changes read per query. */
  page: number;
  /** Called in feed order, one page at a time; resolves before the next page is read. */
  onChanges(changes: FeedChange[]): Promise<void> | void;
  signal: AbortSignal;
}

/**
 * Reads the feed from `after` and then every change appended, woken by the feed's
 * notifications (no polling), until `signal` aborts; resolves with the last position delivered.
 * The notification only wakes: what is read is always "after the last position", so changes
 * committed while the listening connection was down are read when postgres.js listens again
 * (its onlisten wakes too). A failed read rejects: the caller restarts from the last position.
 */
export async function followChanges(sql: Sql, { after, page, onChanges, signal }: FollowOptions): Promise<bigint> {
  let cursor = after;
  let woken = true;
  let resume: (() => void) | null = null;
  const wake = () => {
    woken = true;
    resume?.();
  };
  const listening = await sql.listen(FEED_CHANNEL, wake, wake);
  signal.addEventListener('abort', wake);
  try {
    while (!signal.aborted) {
      if (!woken) {
        await new Promise<void>((resolve) => (resume = resolve));
        resume = null;
        continue;
      }
      woken = false;
      for (let full = true; full && !signal.aborted; ) {
        const rows = await changesAfter(sql, cursor, page);
        if (rows.length > 0) {
          await onChanges(rows);
          cursor = rows.at(-1)!.position;
        }
        full = rows.length === page;
      }
    }
  } finally {
    signal.removeEventListener('abort', wake);
    await listening.unlisten().catch(() => undefined);
  }
  return cursor;
}
