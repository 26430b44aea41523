// Webhook delivery's state in Postgres (src/db/webhooks.ts, migration 009): a claimed batch is
// the same positions however often it is claimed again, the cursor moves past a batch only once
// (delivered or dead-lettered), and the lag and percentiles are what the rows say.

import type { TransactionSql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { connect, type Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { NUMERIC } from '../src/db/types';
import { addWallets } from '../src/db/wallets';
import { claimBatch, deadLetters, deliveryLag, deliveryState, recordDeadLetter, recordDelivered, removeDeadLetter } from '../src/db/webhooks';
import { testAddresses } from './helpers/addresses';
import { type FreshDatabase, freshDatabase } from './helpers/database';

describe('webhook delivery state', () => {
  let db: FreshDatabase;
  let sql: Sql;
  let ids: number[];
  let slot = 1_000n;

  /** `n` changes, one statement: positions in wallet order. */
  const append = (n: number) =>
    sql.begin((tx: TransactionSql<{ bigint: bigint; lamports: bigint }>) =>
      tx`INSERT INTO balance_changes (wallet_id, slot, lamports)
         SELECT id, ${++slot}, ${sql.typed(5n, NUMERIC)} FROM unnest(${ids.slice(0, n)}::bigint[]) AS id`,
    );

  beforeAll(async () => {
    db = await freshDatabase('webhooks');
    sql = connect(db.url, { max: 4 });
    await migrate(sql);
    await addWallets(sql, testAddresses(20, 'webhooks') as Address[], 'high');
    ids = (await sql<{ id: number }[]>`SELECT id FROM wallets ORDER BY id`).map((r) => r.id);
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  it('claims nothing from an empty feed, then the same batch until it is delivered, whatever is appended meanwhile', async () => {
    expect(await claimBatch(sql, 4)).toEqual({ position: 0n, batch: null });
    expect(await deliveryState(sql)).toMatchObject({ position: 0n, latest: 0n, undelivered: 0n, lagSeconds: null, deadLetters: 0 });
    await append(3);
    const { batch } = await claimBatch(sql, 4);
    expect(batch).toMatchObject({ after: 0n, first: 1n, last: 3n, changes: 3 });
    await append(10);
    // Claimed before the append: the same three positions (the same body, key and signature).
    expect((await claimBatch(sql, 4)).batch).toEqual(batch);
    expect((await deliveryState(sql)).pendingTo).toBe(3n);

    expect(await recordDelivered(sql, batch!, 2)).toBe(true);
    // A second 2xx for the same batch (a retried attempt) moves nothing.
    expect(await recordDelivered(sql, batch!, 3)).toBe(false);
    const state = await deliveryState(sql);
    expect(state).toMatchObject({ position: 3n, pendingTo: null, batchesDelivered: 1n, changesDelivered: 3n, undelivered: 10n, latest: 13n });
    expect(state.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(await sql`SELECT first_position, last_position, changes, attempts FROM webhook_deliveries`).toEqual([{ firstPosition: 1n, lastPosition: 3n, changes: 3, attempts: 2 }]);
  });

  it('dead-letters a claimed batch once and moves on; replay selects by overlap and removes', async () => {
    const { batch } = await claimBatch(sql, 4);
    expect(batch).toMatchObject({ after: 3n, first: 4n, last: 7n, changes: 4 });
    expect(await recordDeadLetter(sql, batch!, 'rejected', 'the receiver answered 400')).toBe(true);
    expect(await recordDeadLetter(sql, batch!, 'rejected', 'again')).toBe(false);
    // Nor can a late 2xx of the dead batch move the cursor.
    expect(await recordDelivered(sql, batch!, 1)).toBe(false);
    expect((await claimBatch(sql, 4)).batch).toMatchObject({ after: 7n, first: 8n, last: 11n });
    expect(await deliveryState(sql)).toMatchObject({ position: 7n, deadLetters: 1, deadLetterChanges: 4 });
    expect((await deadLetters(sql)).map((d) => [d.firstPosition, d.lastPosition, d.reason, d.error])).toEqual([[4n, 7n, 'rejected', 'the receiver answered 400']]);
    expect(await deadLetters(sql, { from: 6n, to: 6n })).toHaveLength(1);
    expect(await deadLetters(sql, { from: 1n, to: 4n })).toHaveLength(1);
    expect(await deadLetters(sql, { from: 8n, to: 100n })).toHaveLength(0);
    await removeDeadLetter(sql, 4n);
    expect(await deadLetters(sql)).toEqual([]);
  });

  it('measures each delivered change from its observation to its batch delivery', async () => {
    const since = new Date(Date.now() - 60_000);
    await sql`UPDATE webhook_deliveries SET delivered_at = observed.at + interval '2 seconds'
              FROM (SELECT max(observed_at) AS at FROM change_feed WHERE position <= 3) observed`;
    await sql`UPDATE change_feed SET observed_at = observed_at - (position || ' seconds')::interval WHERE position <= 3`;
    // Lags 3, 4 and 5 s (2 s after the newest, which is 1 to 3 s back).
    const lag = await deliveryLag(sql, since);
    expect(lag.changes).toBe(3);
    expect(lag.p50).toBeCloseTo(4, 3);
    expect(lag.p99).toBeCloseTo(4.98, 3);
    expect(lag.max).toBeCloseTo(5, 3);
    expect(await deliveryLag(sql, new Date(Date.now() + 3_600_000))).toEqual({ changes: 0, p50: null, p99: null, max: null });
  });
});
