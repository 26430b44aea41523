// The change feed on real Postgres: positions become visible in commit order (the outbox gap),
// and every history row writeBatch stores is in the feed exactly once, per wallet in slot order.

import type { TransactionSql } from 'postgres';
import { type AddressInfo, connect as netConnect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Address } from '../src/address';
import { writeBatch } from '../src/db/checks';
import { connect, type Sql } from '../src/db/client';
import { changesAfter, type FeedChange, followChanges, latestPosition } from '../src/db/feed';
import { migrate } from '../src/db/migrate';
import { NUMERIC } from '../src/db/types';
import { addWallets } from '../src/db/wallets';
import { type FreshDatabase, freshDatabase } from './helpers/database';
import { testAddresses } from './helpers/addresses';

/** A consumer: reads everything after its cursor, as often as it is asked to, one read at a time. */
function reader(sql: Sql) {
  let cursor = 0n;
  let last: Promise<void> = Promise.resolve();
  const seen: FeedChange[] = [];
  const readAll = async () => {
    for (let rows = await changesAfter(sql, cursor, 100); rows.length > 0; rows = await changesAfter(sql, cursor, 100)) {
      seen.push(...rows);
      cursor = rows.at(-1)!.position;
    }
  };
  return {
    seen,
    poll: (): Promise<void> => (last = last.then(readAll)),
  };
}

describe('change feed', () => {
  let db: FreshDatabase;
  let sql: Sql;
  let ids: number[];

  beforeAll(async () => {
    db = await freshDatabase('feed');
    sql = connect(db.url, { max: 12 });
    await migrate(sql);
    await addWallets(sql, testAddresses(40, 'feed') as Address[], 'high');
    ids = (await sql<{ id: number }[]>`SELECT id FROM wallets ORDER BY id`).map((r) => r.id);
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  const insertHistory = (tx: TransactionSql<{ bigint: bigint; lamports: bigint }>, walletId: number, slot: bigint, lamports: bigint) =>
    tx`INSERT INTO balance_changes (wallet_id, slot, lamports) VALUES (${walletId}, ${slot}, ${sql.typed(lamports, NUMERIC)})`;

  it('a reader polling "after P" never skips a change whose transaction drew first and committed last', async () => {
    const consumer = reader(sql);
    let commitFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (commitFirst = resolve));
    let firstInserted!: () => void;
    const firstHasInserted = new Promise<void>((resolve) => (firstInserted = resolve));
    // The first transaction inserts (drawing its position) and then waits to commit.
    const first = sql.begin(async (tx) => {
      await insertHistory(tx, ids[0]!, 10n, 111n);
      firstInserted();
      await firstMayCommit;
    });
    await firstHasInserted;
    // The second inserts after it and commits as soon as it can.
    let secondDone = false;
    const second = sql
      .begin((tx) => insertHistory(tx, ids[1]!, 10n, 222n))
      .then(() => {
        secondDone = true;
      });
    // Until the second has committed or is waiting for a lock (as it must with the fix)…
    for (;;) {
      const [waiting] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`;
      if (secondDone || waiting!.n > 0n) break;
    }
    // …the consumer reads in between; then the first commits, last, and the consumer reads again.
    await consumer.poll();
    commitFirst();
    await Promise.all([first, second]);
    await consumer.poll();
    expect(consumer.seen.map((c) => [c.walletId, c.amount])).toEqual([
      [ids[0]!, 111n],
      [ids[1]!, 222n],
    ]);
    expect(await latestPosition(sql)).toBe(consumer.seen.at(-1)!.position);
  });

  it('has every history row that concurrent batch writes stored exactly once, per wallet in slot order', async () => {
    const consumer = reader(sql);
    await consumer.poll();
    const before = consumer.seen.length;
    // Overlapping batches of 10 wallets, 6 writers at once, slots rising; about half the wallets change each time.
    const writes: Promise<unknown>[] = [];
    for (let round = 0; round < 12; round++) {
      for (let b = 0; b < 6; b++) {
        const batchIds = ids.slice((b * 6) % 30, ((b * 6) % 30) + 10);
        writes.push(
          writeBatch(sql, {
            batchKey: `feed-${round}-${b}`,
            tier: 'high',
            fromId: batchIds[0]!,
            toId: batchIds.at(-1)!,
            plannedAt: new Date().toISOString(),
            readAt: new Date().toISOString(),
            slot: BigInt(100 + round * 10 + b),
            observations: batchIds.map((id) => ({ id, lamports: BigInt(((id * 7 + round) % 3) * 1_000 + round), onChain: true })),
          }),
        );
        // A reader polls while the writes are in flight.
        if (b % 2 === 0) writes.push(consumer.poll());
      }
    }
    await Promise.all(writes);
    await consumer.poll();
    const fed = consumer.seen.slice(before);
    const history = await sql<{ walletId: number; slot: bigint; lamports: bigint; previousLamports: bigint | null }[]>`
      SELECT wallet_id, slot, lamports, previous_lamports FROM balance_changes WHERE slot >= 100 ORDER BY wallet_id, slot`;
    expect(history.length).toBeGreaterThan(100);
    // Exactly once: as many feed rows as history rows, no position twice, positions rising.
    expect(fed).toHaveLength(history.length);
    expect(fed.every((c, i) => i === 0 || c.position > fed[i - 1]!.position)).toBe(true);
    const key = (c: { walletId: number; slot: bigint }) => `${c.walletId}@${c.slot}`;
    expect(new Set(fed.map(key)).size).toBe(fed.length);
    // The same rows, and each wallet's changes in slot order in the feed.
    const byWallet = [...fed].sort((a, b) => a.walletId - b.walletId || (a.position < b.position ? -1 : 1));
    expect(byWallet.map((c) => ({ walletId: c.walletId, slot: c.slot, lamports: c.amount, previousLamports: c.previous }))).toEqual(history);
    expect(fed.every((c) => c.asset === 'SOL')).toBe(true);
    const addresses = new Map((await sql<{ id: number; address: string }[]>`SELECT id, address FROM wallets`).map((w) => [w.id, w.address]));
    expect(fed.every((c) => c.address === addresses.get(c.walletId))).toBe(true);
  });

  it('an insert of no rows draws no position and takes no lock', async () => {
    const latest = await latestPosition(sql);
    await sql.begin(async (tx) => {
      await tx`INSERT INTO balance_changes (wallet_id, slot, lamports) SELECT wallet_id, slot, lamports FROM balance_changes WHERE false`;
      const [held] = await tx<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`;
      expect(held!.n).toBe(0n);
    });
    expect(await latestPosition(sql)).toBe(latest);
  });

  it('a follow whose listening connection is lost in a partition longer than the connect timeout is woken again once Postgres is reachable', async () => {
    // A TCP proxy in front of Postgres that can black-hole new connections (a partition: no
    // answer, no refusal). postgres.js's re-listen after the lost connection times out
    // (CONNECT_TIMEOUT, 10 s) and the driver keeps retrying it: the follow is woken again.
    const target = new URL(db.url);
    let blackHole = false;
    const held: Socket[] = [];
    const proxy = createServer((client) => {
      if (blackHole) return void held.push(client);
      const upstream = netConnect(Number(target.port || 5432), target.hostname);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const follower = connect(viaProxy.toString(), { max: 2 });
    const admin = connect(inject('postgresAdminUrl'), { max: 1 });
    const got: FeedChange[] = [];
    const stop = new AbortController();
    const waitForCount = async (n: number, timeoutMs: number) => {
      for (const deadline = Date.now() + timeoutMs; got.length < n; await sleep(50)) if (Date.now() > deadline) throw new Error(`follow saw ${got.length} of ${n} changes`);
    };
    const following = followChanges(follower, { after: await latestPosition(sql), page: 100, signal: stop.signal, onChanges: (c) => void got.push(...c) });
    try {
      await sql.begin((tx) => insertHistory(tx, ids[1]!, 9_001n, 1n));
      await waitForCount(1, 20_000);
      blackHole = true;
      const [killed] = await admin<{ n: number }[]>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = ${db.name} AND query ILIKE 'listen%'`;
      expect(killed!.n).toBe(1);
      // Past the driver's 10 s connect timeout: its first re-listen attempt has failed.
      await sleep(11_000);
      blackHole = false;
      for (const socket of held.splice(0)) socket.destroy();
      await sql.begin((tx) => insertHistory(tx, ids[1]!, 9_002n, 2n));
      await waitForCount(2, 30_000);
      expect(got.map((c) => c.slot)).toEqual([9_001n, 9_002n]);
    } finally {
      stop.abort();
      await following.catch(() => undefined);
      await follower.end({ timeout: 1 });
      await admin.end();
      for (const socket of held) socket.destroy();
      proxy.close();
    }
  }, 90_000);
});
