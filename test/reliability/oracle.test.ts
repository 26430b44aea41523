// The fault tests' oracle (test/helpers/reliability.ts) must catch what it claims to: a batch
// row that marks wallets checked whose balances the RPC never served (issue 11's coverage bug)
// is a broken promise, even when the row, the balances and the history all look right.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { writeBatch, type Observation } from '../../src/db/checks';
import { addWallets } from '../../src/db/wallets';
import { createBalanceReader } from '../../src/rpc/balances';
import { startSimulator, type SimulatorHandle } from '../../tools/simulator/server';
import { isAddress } from '../../src/address';
import { freshDatabase, type FreshDatabase } from '../helpers/database';
import { brokenPromises, checkPromises, dbNow } from '../helpers/reliability';

const WALLETS = 200;

let db: FreshDatabase;
let sql: Sql;
let sim: SimulatorHandle;

beforeEach(async () => {
  db = await freshDatabase('oracle');
  sql = connect(db.url, { max: 2 });
  await migrate(sql);
  sim = await startSimulator({ port: 0, slotMs: 0, wallets: WALLETS, recordReads: true });
  await addWallets(sql, sim.world.addresses(0, WALLETS).filter(isAddress), 'high');
});

afterEach(async () => {
  await sim.stop();
  await sql.end({ timeout: 5 });
  await db.drop();
});

async function idSpan(): Promise<{ min: number; max: number }> {
  const [span] = await sql<{ min: number; max: number }[]>`SELECT min(id)::int AS min, max(id)::int AS max FROM wallets`;
  return span!;
}

/** Reads the wallets of ids [fromId, toId] from the simulator and writes a batch row claiming every wallet of `covers` checked (default: the same ids). */
async function batch(key: string, fromId: number, toId: number, covers = { fromId, toId }): Promise<void> {
  const rows = await sql<{ id: number; address: string }[]>`SELECT id, address FROM wallets WHERE id BETWEEN ${fromId} AND ${toId} ORDER BY id`;
  const read = await createBalanceReader({ url: sim.url, commitment: 'confirmed', timeoutMs: 5_000, maxRetryAfterMs: 60_000 })(rows.map((r) => r.address));
  const observations: Observation[] = rows.map((r, i) => ({ id: r.id, ...read.balances[i]! }));
  const now = (await dbNow(sql)).toISOString();
  await writeBatch(sql, { batchKey: key, tier: 'high', ...covers, plannedAt: now, readAt: now, slot: read.slot, observations });
  // What a broken engine would record: every wallet of `covers` as checked, read or not.
  await sql`UPDATE batch_checks SET wallet_ids = ARRAY(SELECT id FROM wallets WHERE id BETWEEN ${covers.fromId} AND ${covers.toId} ORDER BY id)
            WHERE batch_key = ${key}`;
}

describe('the promise oracle', () => {
  it('passes two honest sweeps', async () => {
    const { min, max } = await idSpan();
    await batch('s1/a', min, min + 99);
    await batch('s1/b', min + 100, max);
    sim.world.advance(5, { changes: false });
    const since = (await dbNow(sql)).toISOString();
    await batch('s2/a', min, min + 99);
    await batch('s2/b', min + 100, max);
    const report = await checkPromises(sql, sim, { tier: 'high', checkedSince: since });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ wallets: WALLETS, walletsChecked: WALLETS, walletReads: 2 * WALLETS, servedReads: 2 * WALLETS });
  });

  it('fails a sweep whose batch row marks wallets checked that the RPC never served', async () => {
    const { min, max } = await idSpan();
    await batch('s1/a', min, min + 99);
    await batch('s1/b', min + 100, max);
    sim.world.advance(5, { changes: false });
    const since = (await dbNow(sql)).toISOString();
    // The second sweep reads only the first 100 wallets but its row covers all 200.
    await batch('s2/a', min, min + 99, { fromId: min, toId: max });
    const report = await checkPromises(sql, sim, { tier: 'high', checkedSince: since });
    expect(brokenPromises(report)).toMatchObject({ recordedNotServed: { count: WALLETS - 100 } });
    expect(report).toMatchObject({ walletsChecked: WALLETS, walletReads: WALLETS + 100, servedReads: WALLETS + 100 });
  });

  it('fails a wallet marked checked that was never read at all', async () => {
    const { min, max } = await idSpan();
    await batch('s1/a', min, min + 99, { fromId: min, toId: max });
    const report = await checkPromises(sql, sim, { tier: 'high' });
    expect(brokenPromises(report)).toMatchObject({ recordedNotServed: { count: WALLETS - 100 }, neverChecked: expect.any(Array) });
    expect(report).toMatchObject({ walletsChecked: 100, walletReads: 100 });
  });
});
