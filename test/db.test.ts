import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { CHECKS_KEPT_MIN_MS, dueRanges, pruneChecks, readBatch, sweepClock, writeBatch } from '../src/db/checks';
import { stalestWallets } from '../src/db/metrics';
import { findWallet } from '../src/db/reads';
import { connect, type Sql } from '../src/db/client';
import { loadMigrations, migrate } from '../src/db/migrate';
import { addWallets, analyzeAfterBulkChange, moveWallets } from '../src/db/wallets';
import { freshDatabase } from './helpers/database';
import { testAddresses } from './helpers/addresses';

describe('migrations', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let sql: Sql;
  beforeAll(async () => {
    db = await freshDatabase('migrate');
    sql = connect(db.url, { max: 2 });
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  it('apply on an empty database, then again as a no-op', async () => {
    const versions = loadMigrations().map((m) => m.version);
    expect(await migrate(sql)).toEqual(versions);
    expect(await migrate(sql)).toEqual([]);
    const recorded = await sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY version`;
    expect(recorded.map((r) => r.version)).toEqual(versions);
    const tables = await sql<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
    expect(tables.map((t) => t.table_name)).toEqual(['balance_changes', 'batch_checks', 'batch_checks_pruned', 'retier_runs', 'schema_migrations', 'wallets']);
  });

  it('runs concurrently from several starters without applying twice', async () => {
    const other = await freshDatabase('migrate-race');
    const pools = [connect(other.url, { max: 1 }), connect(other.url, { max: 1 }), connect(other.url, { max: 1 })];
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      expect(results.flat().sort()).toEqual(loadMigrations().map((m) => m.version));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await other.drop();
    }
  });
});

describe('batch writes', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let sql: Sql;
  const addresses = testAddresses(5) as Address[];
  let ids: number[];

  beforeAll(async () => {
    db = await freshDatabase('writes');
    sql = connect(db.url, { max: 2 });
    await migrate(sql);
    await addWallets(sql, addresses, 'high');
    ids = (await sql<{ id: bigint }[]>`SELECT id FROM wallets ORDER BY id`).map((r) => Number(r.id));
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  const big = 2n ** 64n - 1n;
  const write = (key: string, slot: bigint, lamports: bigint[]) =>
    writeBatch(sql, {
      batchKey: key,
      tier: 'high',
      fromId: ids[0]!,
      toId: ids[ids.length - 1]!,
      plannedAt: new Date().toISOString(),
      readAt: new Date().toISOString(),
      slot,
      observations: ids.map((id, i) => ({ id, lamports: lamports[i]!, onChain: lamports[i]! > 0n })),
    });
  const stored = async () =>
    (await sql<{ lamports: string; slot: bigint }[]>`SELECT lamports::text, slot FROM wallets ORDER BY id`).map((r) => [BigInt(r.lamports), r.slot]);

  it('stores exact u64 lamports and a history row for each first observation', async () => {
    const result = await write('s1/0/0', 100n, [0n, 1n, 2n ** 53n + 1n, big, 5n]);
    expect(result).toEqual({ changed: 5, historyRows: 5, stale: 0, recorded: true });
    expect(await stored()).toEqual([
      [0n, 100n],
      [1n, 100n],
      [2n ** 53n + 1n, 100n],
      [big, 100n],
      [5n, 100n],
    ]);
  });

  it('writes only changed wallets; a replay of the same batch writes nothing', async () => {
    const result = await write('s2/0/0', 110n, [0n, 2n, 2n ** 53n + 1n, big, 5n]);
    expect(result).toEqual({ changed: 1, historyRows: 1, stale: 0, recorded: true });
    const replay = await write('s2/0/0', 110n, [0n, 2n, 2n ** 53n + 1n, big, 5n]);
    expect(replay).toEqual({ changed: 0, historyRows: 0, stale: 0, recorded: false });
    const [history] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM balance_changes`;
    expect(history!.n).toBe(6n);
  });

  it('never replaces a balance read at a newer slot with one read at an older slot', async () => {
    const result = await write('lagging/0/0', 95n, [9n, 9n, 9n, 9n, 9n]);
    expect(result.changed).toBe(0);
    expect(result.stale).toBe(5);
    expect((await stored())[1]).toEqual([2n, 110n]);
  });

  it('due wallets exclude those a batch of their tier covered since the cutoff, until they change tier', async () => {
    const { cutoff } = await sweepClock(sql, 60_000);
    // The batches above covered every wallet of the tier just now.
    expect(await dueRanges(sql, { tier: 'high', cutoff, size: 100 })).toEqual([]);
    const move = await moveWallets(sql, [addresses[2]!, addresses[2]!, testAddresses(6)[5]! as Address], 'low');
    expect(move).toEqual({ moved: [addresses[2]], unchanged: [], unknown: [testAddresses(6)[5]] });
    expect(await moveWallets(sql, [addresses[2]!], 'low')).toEqual({ moved: [], unchanged: [addresses[2]], unknown: [] });
    const { cutoff: lowCutoff } = await sweepClock(sql, 60_000);
    expect(await dueRanges(sql, { tier: 'low', cutoff: lowCutoff, size: 100 })).toEqual([{ fromId: ids[2], toId: ids[2], wallets: 1 }]);
    // Moving back makes it due in high again, though high's batches covered its id.
    await moveWallets(sql, [addresses[2]!], 'high');
    const batch = await readBatch(sql, { tier: 'high', cutoff, fromId: ids[0]!, toId: ids[4]! });
    expect(batch.wallets.map((w) => w.id)).toEqual([ids[2]]);
    expect(batch.wallets[0]!.lamports).toBe(2n ** 53n + 1n);
  });

  it('a sweep that took more than half its interval leaves none of its wallets "recent" for the next one', async () => {
    const slow = testAddresses(3, 'slow-sweep') as Address[];
    await addWallets(sql, slow, 'medium');
    await sql`UPDATE wallets SET tier_since = now() - interval '1 day' WHERE address = ANY(${slow})`;
    const slowIds = (await sql<{ id: bigint }[]>`SELECT id FROM wallets WHERE address = ANY(${slow}) ORDER BY id`).map((r) => Number(r.id));
    const ago = async (minutes: number) => (await sql<{ t: string }[]>`SELECT (now() - ${minutes} * interval '1 minute')::text AS t`)[0]!.t;
    // A 60 min sweep planned 60 min ago read its last batch 10 min ago; the next one is planned now.
    const sweepOf = async (key: string, plannedAt: string, readAt: string) =>
      writeBatch(sql, { batchKey: key, tier: 'medium', fromId: slowIds[0]!, toId: slowIds[2]!, plannedAt, readAt, slot: 600n, observations: [] });
    await sweepOf('slow/0/0', await ago(60), await ago(10));
    const next = await sweepClock(sql, 3_600_000);
    const all = [{ fromId: slowIds[0], toId: slowIds[2], wallets: 3 }];
    // Both forms of the due test: across the tier, and inside a child's id range.
    expect(await dueRanges(sql, { tier: 'medium', cutoff: next.cutoff, size: 100 })).toEqual(all);
    expect(await dueRanges(sql, { tier: 'medium', cutoff: next.cutoff, size: 100, within: { fromId: slowIds[0]!, toId: slowIds[2]! } })).toEqual(all);
    // The same sweep re-planned (or a sweep asked for right after it) still skips them.
    await sweepOf('slow/1/0', next.plannedAt, await ago(0));
    expect(await dueRanges(sql, { tier: 'medium', cutoff: next.cutoff, size: 100 })).toEqual([]);
    expect(await dueRanges(sql, { tier: 'medium', cutoff: next.cutoff, size: 100, within: { fromId: slowIds[0]!, toId: slowIds[2]! } })).toEqual([]);
  });

  it('groups due wallets into consecutive ranges of the requested size', async () => {
    const many = testAddresses(250, 'ranges') as Address[];
    await addWallets(sql, many, 'medium');
    const { cutoff } = await sweepClock(sql, 60_000);
    const ranges = await dueRanges(sql, { tier: 'medium', cutoff, size: 100 });
    expect(ranges.map((r) => r.wallets)).toEqual([100, 100, 50]);
    expect(ranges[0]!.toId).toBeLessThan(ranges[1]!.fromId);
  });

  it('prunes batch rows past their retention, and keeps "last checked" a true lower bound', async () => {
    const quiet = testAddresses(2, 'pruned') as Address[];
    await addWallets(sql, quiet, 'low');
    await sql`UPDATE wallets SET tier_since = now() - interval '1 day' WHERE address = ANY(${quiet})`;
    const [a, b] = (await sql<{ id: bigint }[]>`SELECT id FROM wallets WHERE address = ANY(${quiet}) ORDER BY id`).map((r) => Number(r.id));
    const check = (key: string, from: number, to: number, readAt: string) =>
      writeBatch(sql, { batchKey: key, tier: 'low', fromId: from, toId: to, plannedAt: readAt, readAt, slot: 500n, observations: [] });
    await check('old/0/0', a!, b!, (await sql<{ t: string }[]>`SELECT (now() - interval '5 hours')::text AS t`)[0]!.t);
    await check('new/0/0', a!, a!, new Date().toISOString());

    // A 1 min interval keeps the floor (1 h): the 5 h old row goes, the new one stays.
    expect(await pruneChecks(sql, 'low', 60_000)).toBe(1);
    expect(await pruneChecks(sql, 'low', 60_000)).toBe(0);
    expect((await sql`SELECT batch_key FROM batch_checks WHERE tier = 'low' ORDER BY batch_key`).map((r) => r.batch_key)).toEqual(['new/0/0']);
    const [pruned] = await sql<{ ageMs: number }[]>`
      SELECT extract(epoch FROM now() - before)::float8 * 1000 AS "ageMs" FROM batch_checks_pruned WHERE tier = 'low'`;
    expect(Math.abs(pruned!.ageMs - CHECKS_KEPT_MIN_MS)).toBeLessThan(60_000);

    const shownA = (await findWallet(sql, quiet[0]!))!;
    const shownB = (await findWallet(sql, quiet[1]!))!;
    expect(shownA.lastCheckedAt).not.toBeNull();
    expect(shownB.lastCheckedAt).toBeNull();
    expect(shownB.checksPrunedBefore).not.toBeNull();
    // The stalest low wallet is the pruned one: not checked for at least the retention, not "a day".
    const stalest = await stalestWallets(sql, { high: { horizonMs: 60_000 }, medium: { horizonMs: 60_000 }, low: { horizonMs: 60_000 } });
    expect(stalest.low.stalestAgeSeconds! * 1000).toBeGreaterThan(CHECKS_KEPT_MIN_MS - 60_000);
    expect(stalest.low.stalestAgeSeconds! * 1000).toBeLessThan(CHECKS_KEPT_MIN_MS + 60_000);

    // A long interval keeps several intervals' worth: nothing more to prune.
    await check('older/0/0', a!, b!, (await sql<{ t: string }[]>`SELECT (now() - interval '5 hours')::text AS t`)[0]!.t);
    expect(await pruneChecks(sql, 'low', 2 * 3_600_000)).toBe(0);
  });
});

describe('statistics after a bulk change', () => {
  it('are refreshed when a tier grew by half or more, so the sweep query is planned for its real size', async () => {
    const db = await freshDatabase('stats');
    const sql = connect(db.url, { max: 1 });
    try {
      await migrate(sql);
      await addWallets(sql, testAddresses(3_000, 'bulk') as Address[], 'medium');
      await sql`ANALYZE wallets`;
      // Re-tiering (or an import) moves them all: the statistics still say low is empty.
      await sql`UPDATE wallets SET tier = 'low'`;
      const estimate = async () => {
        const [plan] = await sql<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[]>`EXPLAIN (FORMAT JSON) SELECT id FROM wallets WHERE tier = 'low'`;
        return plan!['QUERY PLAN'][0].Plan['Plan Rows'];
      };
      expect(await estimate()).toBeLessThan(100);
      // Small or proportionally small changes leave autoanalyze to it.
      expect(await analyzeAfterBulkChange(sql, 'low', 999)).toBe(false);
      expect(await analyzeAfterBulkChange(sql, 'low', 1_200)).toBe(false);
      expect(await estimate()).toBeLessThan(100);
      expect(await analyzeAfterBulkChange(sql, 'low', 3_000)).toBe(true);
      expect(await estimate()).toBeGreaterThan(2_500);
    } finally {
      await sql.end();
      await db.drop();
    }
  });
});
