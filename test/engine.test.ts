// The tracking engine end to end: real dev server, real Postgres, the simulator, real workers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { requestTierSweep } from '../src/tier-control';
import { tierWorkflowId } from '../src/tiers';
import { promoteWalletsSignal } from '../workflows/definitions';
import { type Engine, startEngine } from './helpers/engine';
import { testAddresses } from './helpers/addresses';

const WALLETS = 3_000;

async function storedBalances(engine: Engine) {
  return engine.sql<{ address: string; lamports: bigint; onChain: boolean; slot: bigint }[]>`
    SELECT address, lamports, on_chain, slot FROM wallets WHERE tier = 'high' ORDER BY id`;
}

describe('a sweep', () => {
  let engine: Engine;
  let addresses: string[];
  const missing = testAddresses(20, 'missing');
  const whales = testAddresses(5, 'whale');

  beforeAll(async () => {
    engine = await startEngine({
      simulator: { wallets: WALLETS, seed: 7 },
      env: { TIER_HIGH_INTERVAL: '1s', BATCHES_PER_CHILD: '4', SWEEP_CONCURRENCY: '3' },
    });
    // Big balances (above 2^53) and accounts that do not exist on chain.
    whales.forEach((a, i) => engine.sim.world.addWallet(a, 2n ** 60n + BigInt(i) * 12_345_678_901n));
    addresses = [...engine.sim.world.addresses(0, WALLETS), ...whales, ...missing];
    await addWallets(engine.sql, addresses as Address[], 'high');
    engine.sim.resetStats();
  });
  afterAll(() => engine?.stop());

  it('makes Postgres equal the chain at the read slot with ceil(due / 100) getMultipleAccounts calls and nothing else', async () => {
    await requestTierSweep(engine.client, engine.config, 'high', 'test');
    const progress = await engine.waitForSweeps('high', 1);
    const due = addresses.length;
    expect(progress.lastSweep).toMatchObject({
      due,
      batchesTotal: Math.ceil(due / 100),
      batchesDone: Math.ceil(due / 100),
      batchesFailed: 0,
      walletsChecked: due,
      walletsChanged: due,
      rpcCalls: Math.ceil(due / 100),
    });
    const stats = engine.sim.stats();
    expect(stats.methods).toEqual({ getMultipleAccounts: { ok: Math.ceil(due / 100) } });

    const rows = await storedBalances(engine);
    expect(rows).toHaveLength(due);
    for (const row of rows) {
      const truth = engine.sim.world.balanceAt(row.address, row.slot);
      expect({ address: row.address, lamports: row.lamports, onChain: row.onChain }).toEqual({
        address: row.address,
        lamports: truth ?? 0n,
        onChain: truth !== null,
      });
    }
    const big = rows.filter((r) => whales.includes(r.address)).map((r) => r.lamports);
    expect(big).toEqual(whales.map((_, i) => 2n ** 60n + BigInt(i) * 12_345_678_901n));
    expect(rows.filter((r) => missing.includes(r.address)).every((r) => r.lamports === 0n && !r.onChain)).toBe(true);
  });

  it('writes history rows only for the wallets whose balance changed', async () => {
    const [before] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM balance_changes`;
    const changed = [addresses[3]!, addresses[500]!, whales[1]!, missing[0]!];
    changed.forEach((a, i) => engine.sim.world.setBalance(a, 1_000_000n + BigInt(i)));
    // Reads are at 'confirmed', one slot behind the newest.
    engine.sim.world.advance(2, { changes: false });
    // Wait past half the 1s interval so every wallet is due again.
    await new Promise((r) => setTimeout(r, 700));
    engine.sim.resetStats();
    await requestTierSweep(engine.client, engine.config, 'high', 'test');
    const progress = await engine.waitForSweeps('high', 2);
    expect(progress.lastSweep).toMatchObject({ walletsChecked: addresses.length, walletsChanged: changed.length });
    const history = await engine.sql<{ address: string; lamports: bigint }[]>`
      SELECT w.address, c.lamports FROM balance_changes c JOIN wallets w ON w.id = c.wallet_id
      ORDER BY c.observed_at DESC, w.id LIMIT ${changed.length}`;
    expect(new Set(history.map((h) => h.address))).toEqual(new Set(changed));
    const [after] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM balance_changes`;
    expect(after!.n - before!.n).toBe(BigInt(changed.length));
    expect(engine.sim.stats().methods).toEqual({ getMultipleAccounts: { ok: Math.ceil(addresses.length / 100) } });
  });

  it('promoteWallets moves tracked wallets and reports invalid and unknown addresses without writing them', async () => {
    const handle = engine.client.workflow.getHandle(tierWorkflowId('high'));
    const untracked = testAddresses(2, 'untracked');
    await handle.signal(promoteWalletsSignal, {
      tier: 'low',
      addresses: [addresses[10]!, addresses[11]!, addresses[10]!, 'not-an-address', `${addresses[12]!} `, untracked[0]!],
    });
    let report;
    for (let i = 0; i < 100 && !report; i++) {
      report = (await engine.progress('high')).promotions[0];
      if (!report) await new Promise((r) => setTimeout(r, 100));
    }
    expect(report).toMatchObject({ tier: 'low', requested: 6, moved: 2, unchanged: 0, invalidCount: 2, unknownCount: 1, unknown: [untracked[0]], error: null });
    expect(report!.invalid.map((i) => i.reason)).toEqual([
      expect.stringContaining("invalid character '-'"),
      expect.stringContaining('U+0020'),
    ]);
    const tiers = await engine.sql<{ address: string; tier: string }[]>`
      SELECT address, tier FROM wallets WHERE address = ANY(${[addresses[10]!, addresses[11]!, addresses[12]!]}::text[]) ORDER BY id`;
    expect(tiers.map((t) => t.tier)).toEqual(['low', 'low', 'high']);
    const [untrackedRows] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets WHERE address = ${untracked[0]!}`;
    expect(untrackedRows!.n).toBe(0n);

    // Idempotent: the same promotion again moves nothing.
    await handle.signal(promoteWalletsSignal, { tier: 'low', addresses: [addresses[10]!, addresses[11]!] });
    let second;
    for (let i = 0; i < 100; i++) {
      const promotions = (await engine.progress('high')).promotions;
      if (promotions.length === 2) { second = promotions[0]; break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(second).toMatchObject({ moved: 0, unchanged: 2 });
  });

  it('checks promoted wallets on the target tier\'s next sweep', async () => {
    engine.sim.resetStats();
    await requestTierSweep(engine.client, engine.config, 'low', 'test');
    const low = await engine.waitForSweeps('low', 1);
    expect(low.lastSweep).toMatchObject({ due: 2, walletsChecked: 2, rpcCalls: 1 });
  });
});
