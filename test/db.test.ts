import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { analyzeChecksWhenGrown, CHECKS_KEPT_MIN_MS, dueRanges, pruneChecks, readBatch, sweepClock, writeBatch } from '../src/db/checks';
import { stalestWallets } from '../src/db/metrics';
import { findWallet } from '../src/db/reads';
import { connect, type Sql } from '../src/db/client';
import { loadMigrations, migrate } from '../src/db/migrate';
import { retier } from '../src/db/segmentation';
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
    const tables = await sql<{ tableName: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
    expect(tables.map((t) => t.tableName)).toEqual(['balance_changes', 'batch_checks', 'batch_checks_pruned', 'change_feed', 'cluster', 'mints', 'retier_runs', 'rpc_budget', 'schema_migrations', 'token_accounts', 'token_balances', 'token_changes', 'wallets', 'webhook_cursor', 'webhook_dead_letters', 'webhook_deliveries']);
  });

  it('runs concurrently from several starters without applying twice', async () => {
    const other = await freshDatabase('migrate-race');
    const pools = [connect(other.url, { max: 1 }), connect(other.url, { max: 1 }), connect(other.url, { max: 1 })];
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      expect(results.flat().sort((a, b) => a - b)).toEqual(loadMigrations().map((m) => m.version));
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
    ids = (await sql<{ id: number }[]>`SELECT id FROM wallets ORDER BY id`).map((r) => r.id);
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
  /** A read of a wallet that does not exist on chain. */
  const unread = (id: number) => ({ id, lamports: 0n, onChain: false });
  const stored = async () =>
    (await sql<{ lamports: bigint; slot: bigint }[]>`SELECT lamports, slot FROM wallets ORDER BY id`).map((r) => [r.lamports, r.slot]);

  it('stores exact u64 lamports and a history row for each first observation', async () => {
    const result = await write('s1/0/0', 100n, [0n, 1n, 2n ** 53n + 1n, big, 5n]);
    expect(result).toEqual({ changed: 5, historyRows: 5, stale: 0, recorded: true, tokensChanged: 0, tokenHistoryRows: 0 });
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
    expect(result).toEqual({ changed: 1, historyRows: 1, stale: 0, recorded: true, tokensChanged: 0, tokenHistoryRows: 0 });
    const replay = await write('s2/0/0', 110n, [0n, 2n, 2n ** 53n + 1n, big, 5n]);
    expect(replay).toEqual({ changed: 0, historyRows: 0, stale: 0, recorded: false, tokensChanged: 0, tokenHistoryRows: 0 });
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
    const slowIds = (await sql<{ id: number }[]>`SELECT id FROM wallets WHERE address = ANY(${slow}) ORDER BY id`).map((r) => r.id);
    const ago = async (minutes: number) => (await sql<{ t: string }[]>`SELECT (now() - ${minutes} * interval '1 minute')::text AS t`)[0]!.t;
    // A 60 min sweep planned 60 min ago read its last batch 10 min ago; the next one is planned now.
    const sweepOf = async (key: string, plannedAt: string, readAt: string) =>
      writeBatch(sql, { batchKey: key, tier: 'medium', fromId: slowIds[0]!, toId: slowIds[2]!, plannedAt, readAt, slot: 600n, observations: slowIds.map(unread) });
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
    const [a, b] = (await sql<{ id: number }[]>`SELECT id FROM wallets WHERE address = ANY(${quiet}) ORDER BY id`).map((r) => r.id);
    const check = (key: string, from: number, to: number, readAt: string) =>
      writeBatch(sql, { batchKey: key, tier: 'low', fromId: from, toId: to, plannedAt: readAt, readAt, slot: 500n, observations: [...new Set([from, to])].map(unread) });
    await check('old/0/0', a!, b!, (await sql<{ t: string }[]>`SELECT (now() - interval '5 hours')::text AS t`)[0]!.t);
    await check('new/0/0', a!, a!, new Date().toISOString());

    // A 1 min interval keeps the floor (1 h): the 5 h old row goes, the new one stays.
    expect(await pruneChecks(sql, 'low', 60_000)).toBe(1);
    expect(await pruneChecks(sql, 'low', 60_000)).toBe(0);
    expect((await sql`SELECT batch_key FROM batch_checks WHERE tier = 'low' ORDER BY batch_key`).map((r) => r.batchKey)).toEqual(['new/0/0']);
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

  it('of the batch rows are refreshed once the table holds twice the rows the planner saw', async () => {
    const db = await freshDatabase('checks-stats');
    const sql = connect(db.url, { max: 1 });
    try {
      await migrate(sql);
      // Only this test's ANALYZEs: an autoanalyze between two steps would move what the planner saw.
      await sql`ALTER TABLE batch_checks SET (autovacuum_enabled = false)`;
      const addRows = async (from: number, to: number) => {
        await sql`
          INSERT INTO batch_checks (batch_key, tier, from_id, to_id, planned_at, read_at, slot, wallets, changed, wallet_ids)
          SELECT 'k' || n, 'low', n * 100, n * 100 + 99, now(), now(), n, 100, 0, ARRAY(SELECT generate_series(n * 100, n * 100 + 99)::bigint)
          FROM generate_series(${from}::int, ${to - 1}::int) AS n`;
        // The row counts a backend reports at most once a second, now.
        await sql`SELECT pg_stat_force_next_flush()`;
      };
      const planned = async () => (await sql<{ n: number }[]>`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'batch_checks'::regclass`)[0]!.n;
      await addRows(0, 300);
      await sql`ANALYZE batch_checks`;
      expect(await planned()).toBe(300);
      await addRows(300, 550);
      expect(await analyzeChecksWhenGrown(sql)).toBe(false); // grown, but not to twice
      await addRows(550, 700);
      expect(await analyzeChecksWhenGrown(sql)).toBe(true);
      expect(await planned()).toBe(700);
      expect(await analyzeChecksWhenGrown(sql)).toBe(false);
    } finally {
      await sql.end();
      await db.drop();
    }
  });
});

describe('coverage and slot guards', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let sql: Sql;
  beforeAll(async () => {
    db = await freshDatabase('guards');
    sql = connect(db.url, { max: 4 });
    await migrate(sql);
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  const idsOf = async (addresses: readonly string[]) =>
    (await sql<{ id: number }[]>`SELECT id FROM wallets WHERE address = ANY(${addresses as string[]}) ORDER BY id`).map((r) => r.id);
  const write = (key: string, tier: 'high' | 'medium' | 'low', slot: bigint, observations: { id: number; lamports: bigint }[], range?: { fromId: number; toId: number }) =>
    writeBatch(sql, {
      batchKey: key,
      tier,
      fromId: range?.fromId ?? observations[0]!.id,
      toId: range?.toId ?? observations[observations.length - 1]!.id,
      plannedAt: new Date().toISOString(),
      readAt: new Date().toISOString(),
      slot,
      observations: observations.map((o) => ({ ...o, onChain: true })),
    });
  /** A cutoff after every batch so far: every wallet of the tier is due again. */
  const allDue = async () => (await sql<{ t: string }[]>`SELECT clock_timestamp()::text AS t`)[0]!.t;

  it('a read older than the newest read of a wallet never changes its balance, and the next call asks for that read', async () => {
    const addresses = testAddresses(1, 'guard-slot') as Address[];
    await addWallets(sql, addresses, 'high');
    const [id] = await idsOf(addresses);
    await write('slot/0', 'high', 50n, [{ id: id!, lamports: 0n }]);
    // Read at slot 100, unchanged: only the batch row records it.
    expect((await write('slot/1', 'high', 100n, [{ id: id!, lamports: 0n }])).changed).toBe(0);
    const next = await readBatch(sql, { tier: 'high', cutoff: await allDue(), fromId: id!, toId: id! });
    expect(next.minContextSlot).toBe(100n);
    // A lagging node answers at slot 96 with a transient balance: older than the read at 100.
    const lagging = await write('slot/2', 'high', 96n, [{ id: id!, lamports: 1_000_000_000n }]);
    expect(lagging).toMatchObject({ changed: 0, stale: 1 });
    const [row] = await sql<{ lamports: string; slot: bigint }[]>`SELECT lamports::text, slot FROM wallets WHERE id = ${id!}`;
    expect(row).toEqual({ lamports: '0', slot: 50n });
  });

  it("a batch's first call asks for the newest read of any of its wallets, and not of other wallets a batch in its range read", async () => {
    const addresses = testAddresses(4, 'guard-context') as Address[];
    await addWallets(sql, addresses, 'high');
    const [a, b, c, d] = await idsOf(addresses);
    const all = { fromId: a!, toId: d! };
    await write('context/0', 'high', 50n, [a!, b!, c!, d!].map((id) => ({ id, lamports: 0n })));
    // Unchanged reads, recorded only by their batch rows: b at 120, d (outside the next read's wallets) at 900.
    await write('context/1', 'high', 120n, [{ id: b!, lamports: 0n }], all);
    await write('context/2', 'high', 900n, [{ id: d!, lamports: 0n }], all);
    const cutoff = await allDue();
    expect((await readBatch(sql, { tier: 'high', cutoff, fromId: a!, toId: c! })).minContextSlot).toBe(120n);
    expect((await readBatch(sql, { tier: 'high', cutoff, fromId: a!, toId: a! })).minContextSlot).toBe(50n);
    expect((await readBatch(sql, { tier: 'high', cutoff, ...all })).minContextSlot).toBe(900n);
  });

  it('a batch marks checked only the wallets it read, not its whole planned range', async () => {
    const addresses = testAddresses(150, 'guard-range') as Address[];
    await addWallets(sql, addresses, 'medium');
    const ids = await idsOf(addresses);
    const cutoff = await allDue();
    // One planned range holds 150 due wallets (wallets moved in after planning): a batch reads 100.
    const range = { fromId: ids[0]!, toId: ids[149]! };
    const batch = await readBatch(sql, { tier: 'medium', cutoff, ...range });
    expect(batch.wallets).toHaveLength(100);
    await write('range/0', 'medium', 200n, batch.wallets.map((w) => ({ id: w.id, lamports: 5n })), range);
    const due = await dueRanges(sql, { tier: 'medium', cutoff, size: 100, within: range });
    expect(due).toEqual([{ fromId: ids[100], toId: ids[149], wallets: 50 }]);
    expect(await dueRanges(sql, { tier: 'medium', cutoff, size: 100 })).toEqual(due);
    const unread = (await findWallet(sql, addresses[120]!))!;
    expect(unread.lastCheckedAt).toBeNull();
  });

  it('a move that commits after a batch read is not covered by that batch, whatever the clocks say', async () => {
    const [moving, staying] = testAddresses(2, 'guard-move') as Address[];
    await addWallets(sql, [moving!], 'low');
    await addWallets(sql, [staying!], 'high');
    const [movingId, stayingId] = [(await idsOf([moving!]))[0]!, (await idsOf([staying!]))[0]!];
    const range = { fromId: Math.min(movingId, stayingId), toId: Math.max(movingId, stayingId) };
    const cutoff = await allDue();
    let commit!: () => void;
    const committed = new Promise<void>((r) => (commit = r));
    let stamped!: () => void;
    const isStamped = new Promise<void>((r) => (stamped = r));
    // Re-tiering stamps tier_since with the clock, then commits later.
    const move = sql.begin(async (tx) => {
      await tx`UPDATE wallets SET tier = 'high', tier_since = clock_timestamp() WHERE id = ${movingId}`;
      stamped();
      await committed;
    });
    await isStamped;
    // The batch reads after the stamp, but its snapshot does not have the move: it reads only `staying`.
    const batch = await readBatch(sql, { tier: 'high', cutoff, ...range });
    expect(batch.wallets.map((w) => w.id)).toEqual([stayingId]);
    await write('move/0', 'high', 300n, [{ id: stayingId, lamports: 1n }], range);
    commit();
    await move;
    expect(await dueRanges(sql, { tier: 'high', cutoff, size: 100, within: range })).toEqual([{ fromId: movingId, toId: movingId, wallets: 1 }]);
  });

  it('two batches writing one wallet at once record one change with its true previous balance', async () => {
    const [address] = testAddresses(1, 'guard-concurrent') as Address[];
    await addWallets(sql, [address!], 'high');
    const [id] = await idsOf([address!]);
    await write('conc/0', 'high', 50n, [{ id: id!, lamports: 0n }]);
    const waiting = async () =>
      Number((await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ${db.name} AND wait_event_type = 'Lock'`)[0]!.n);
    const until = async (n: number) => {
      for (let i = 0; i < 200 && (await waiting()) < n; i++) await sleep(25);
      expect(await waiting()).toBeGreaterThanOrEqual(n);
    };
    // Another writer (a promotion, say) holds the row; both batches queue behind it, and each
    // read 7 where Postgres holds 0.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = sql.begin(async (tx) => {
      await tx`SELECT 1 FROM wallets WHERE id = ${id!} FOR UPDATE`;
      locked();
      await released;
    });
    await isLocked;
    const first = write('conc/1', 'high', 100n, [{ id: id!, lamports: 7n }]);
    await until(1);
    const second = write('conc/2', 'high', 101n, [{ id: id!, lamports: 7n }]);
    await until(2);
    release();
    await holder;
    await Promise.all([first, second]);
    const history = await sql<{ slot: bigint; lamports: string; previous: string | null }[]>`
      SELECT slot, lamports::text, previous_lamports::text AS previous FROM balance_changes WHERE wallet_id = ${id!} ORDER BY slot`;
    // The first observation and one real change 0 → 7; no fake 7 → 7 (or a second 0 → 7).
    expect(history.map((h) => [h.lamports, h.previous])).toEqual([
      ['0', null],
      ['7', '0'],
    ]);
  });
});

describe('re-tiering', () => {
  it('leaves a wallet in the tier it was added with until a change is seen', async () => {
    const db = await freshDatabase('retier-new');
    const sql = connect(db.url, { max: 2 });
    try {
      await migrate(sql);
      const low = testAddresses(3, 'retier-low') as Address[];
      const high = testAddresses(2, 'retier-high') as Address[];
      await addWallets(sql, low, 'low');
      await addWallets(sql, high, 'high');
      const ids = (await sql<{ id: number }[]>`SELECT id FROM wallets ORDER BY id`).map((r) => r.id);
      // Every wallet read once (its first observation, not a change).
      const observe = (key: string, slot: bigint, lamports: (i: number) => bigint) =>
        writeBatch(sql, {
          batchKey: key, tier: 'low', fromId: ids[0]!, toId: ids[ids.length - 1]!, plannedAt: new Date().toISOString(), readAt: new Date().toISOString(), slot,
          observations: ids.map((id, i) => ({ id, lamports: lamports(i), onChain: true })),
        });
      await observe('first', 10n, () => 1n);
      const rules = { enabled: true, intervalMs: 600_000, windowMs: 3_600_000, highMinChanges: 3, quietAfterMs: 86_400_000, pinMs: 86_400_000 };
      const tierOf = async () => (await sql<{ tier: string }[]>`SELECT tier FROM wallets ORDER BY id`).map((r) => r.tier);
      expect((await retier(sql, rules)).moved).toEqual({});
      expect(await tierOf()).toEqual(['low', 'low', 'low', 'high', 'high']);
      // The first low wallet changes once: evidence it is not idle.
      await observe('second', 20n, (i) => (i === 0 ? 2n : 1n));
      expect((await retier(sql, rules)).moved).toEqual({ 'low->medium': 1 });
      expect(await tierOf()).toEqual(['medium', 'low', 'low', 'high', 'high']);
    } finally {
      await sql.end();
      await db.drop();
    }
  });
});
