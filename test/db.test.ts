import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { dueRanges, readBatch, sweepCutoff, writeBatch } from '../src/db/checks';
import { connect, type Sql } from '../src/db/client';
import { loadMigrations, migrate } from '../src/db/migrate';
import { addWallets, moveWallets } from '../src/db/wallets';
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
    expect(tables.map((t) => t.table_name)).toEqual(['balance_changes', 'batch_checks', 'retier_runs', 'schema_migrations', 'wallets']);
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
    const cutoff = await sweepCutoff(sql, 60_000);
    // The batches above covered every wallet of the tier just now.
    expect(await dueRanges(sql, { tier: 'high', cutoff, size: 100 })).toEqual([]);
    const move = await moveWallets(sql, [addresses[2]!, addresses[2]!, testAddresses(6)[5]! as Address], 'low');
    expect(move).toEqual({ moved: [addresses[2]], unchanged: [], unknown: [testAddresses(6)[5]] });
    expect(await moveWallets(sql, [addresses[2]!], 'low')).toEqual({ moved: [], unchanged: [addresses[2]], unknown: [] });
    const lowCutoff = await sweepCutoff(sql, 60_000);
    expect(await dueRanges(sql, { tier: 'low', cutoff: lowCutoff, size: 100 })).toEqual([{ fromId: ids[2], toId: ids[2], wallets: 1 }]);
    // Moving back makes it due in high again, though high's batches covered its id.
    await moveWallets(sql, [addresses[2]!], 'high');
    const batch = await readBatch(sql, { tier: 'high', cutoff, fromId: ids[0]!, toId: ids[4]! });
    expect(batch.wallets.map((w) => w.id)).toEqual([ids[2]]);
    expect(batch.wallets[0]!.lamports).toBe(2n ** 53n + 1n);
  });

  it('groups due wallets into consecutive ranges of the requested size', async () => {
    const many = testAddresses(250, 'ranges') as Address[];
    await addWallets(sql, many, 'medium');
    const cutoff = await sweepCutoff(sql, 60_000);
    const ranges = await dueRanges(sql, { tier: 'medium', cutoff, size: 100 });
    expect(ranges.map((r) => r.wallets)).toEqual([100, 100, 50]);
    expect(ranges[0]!.toId).toBeLessThan(ranges[1]!.fromId);
  });
});
