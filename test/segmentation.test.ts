// Activity-based segmentation: busy wallets rise to high, idle ones sink to low, quiet and
// waking wallets follow, and a manual promotion pins a wallet until its pin expires.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { requestTierSweep, startTierWorkflows } from '../src/tier-control';
import { type Tier, tierWorkflowId } from '../src/tiers';
import { promoteWalletsSignal } from '../workflows/definitions';
import type { retierWorkflow } from '../workflows/retier';
import { type Engine, startEngine } from './helpers/engine';

const WALLETS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('segmentation', () => {
  let engine: Engine;
  let addresses: string[];
  let sweeps: Record<Tier, number>;
  /** The slots the sweeps read at ('confirmed': one behind the newest). */
  let readSlots: number[];

  const sweep = async (tier: Tier) => {
    readSlots.push(engine.sim.world.slot() - 1);
    await requestTierSweep(engine.client, engine.config, tier, 'test');
    await engine.waitForSweeps(tier, ++sweeps[tier]);
  };
  /** A first sweep of `tier`, then `rounds` more, each after the world moved two slots. */
  const sweepRounds = async (tier: Tier, rounds: number) => {
    await sweep(tier);
    for (let round = 0; round < rounds; round++) {
      engine.sim.world.advance(2);
      await sleep(1_100); // past half the 2 s interval: every wallet is due again
      await sweep(tier);
    }
  };
  const retier = () =>
    engine.client.workflow.execute<typeof retierWorkflow>('retierWorkflow', {
      workflowId: `retier-test-${Date.now()}`,
      taskQueue: engine.config.temporal.taskQueue,
    });
  const tiersOf = async (list: string[]) => {
    const rows = await engine.sql<{ address: string; tier: Tier }[]>`SELECT address, tier FROM wallets WHERE address = ANY(${list}::text[])`;
    return new Map(rows.map((r) => [r.address, r.tier]));
  };
  /** Changes the sweeps could see, from the simulator's truth at the slots they read. */
  const observedChanges = (address: string) =>
    readSlots.slice(1).filter((slot, i) => engine.sim.world.balanceAt(address, slot) !== engine.sim.world.balanceAt(address, readSlots[i]!)).length;
  /** Wallets that never change (idleChangeRate 0), in the order of the world. */
  const idleWallets = () => {
    const busy = new Set(engine.sim.world.busyAddresses());
    return addresses.filter((a) => !busy.has(a));
  };

  // Each test has an engine of its own and puts the wallets it needs where it needs them.
  beforeEach(async () => {
    sweeps = { high: 0, medium: 0, low: 0 };
    readSlots = [];
    engine = await startEngine({
      simulator: { wallets: WALLETS, seed: 21, busyFraction: 0.1, busyChangeRate: 0.9, idleChangeRate: 0, missingFraction: 0 },
      env: {
        TIER_HIGH_INTERVAL: '2s',
        TIER_MEDIUM_INTERVAL: '2s',
        TIER_LOW_INTERVAL: '2s',
        RETIER_WINDOW: '7s',
        RETIER_HIGH_MIN_CHANGES: '2',
        RETIER_QUIET_AFTER: '3s',
        PIN_DURATION: '4s',
      },
    });
    addresses = engine.sim.world.addresses(0, WALLETS);
    await startTierWorkflows(engine.client, engine.config);
  });
  afterEach(() => engine?.stop());

  it('after a few re-tierings, busy wallets are in high and idle ones in low', async () => {
    await addWallets(engine.sql, addresses as Address[], 'medium');
    await sweepRounds('medium', 3);
    const busy = addresses.filter((a) => observedChanges(a) >= 2);
    const idle = addresses.filter((a) => observedChanges(a) === 0);
    expect(busy.length).toBeGreaterThan(5);
    expect(idle.length).toBeGreaterThan(150);

    await sleep(3_100); // idle wallets have now been quiet for longer than RETIER_QUIET_AFTER
    const result = await retier();
    expect(result.moved['medium->high']).toBe(busy.length);
    const tiers = await tiersOf(addresses);
    expect(busy.filter((a) => tiers.get(a) !== 'high')).toEqual([]);
    expect(idle.filter((a) => tiers.get(a) !== 'low')).toEqual([]);
    expect(result.tiers.high + result.tiers.medium + result.tiers.low).toBe(WALLETS);
    expect(result.budget.fits).toBe(true);
  });

  it('a wallet that goes quiet moves down', async () => {
    const busyWallets = engine.sim.world.busyAddresses();
    await addWallets(engine.sql, busyWallets as Address[], 'high');
    await sweepRounds('high', 2);
    const busy = busyWallets.filter((a) => observedChanges(a) >= 2);
    expect(busy.length).toBeGreaterThan(5);
    // Busy now: they stay in high.
    await retier();
    const before = await tiersOf(busy);
    expect(busy.filter((a) => before.get(a) !== 'high')).toEqual([]);

    // The world stops; once their changes have left the 7 s window they are idle.
    await sleep(7_100);
    await sweep('high');
    const [row] = await engine.sql<{ high: number }[]>`SELECT count(*)::int AS high FROM wallets WHERE tier = 'high'`;
    const result = await retier();
    const tiers = await tiersOf(busyWallets);
    expect(busyWallets.filter((a) => tiers.get(a) !== 'low')).toEqual([]);
    expect(result.moved['high->low']).toBe(row!.high);
  });

  it('a manual promotion pins a wallet until the pin expires', async () => {
    const pinned = idleWallets()[0]!;
    await addWallets(engine.sql, [pinned] as Address[], 'low');
    await engine.client.workflow.getHandle(tierWorkflowId('high')).signal(promoteWalletsSignal, { tier: 'high', addresses: [pinned] });
    for (let i = 0; i < 100 && (await tiersOf([pinned])).get(pinned) !== 'high'; i++) await sleep(100);
    const [row] = await engine.sql<{ pinnedUntil: Date | null }[]>`SELECT pinned_until FROM wallets WHERE address = ${pinned}`;
    expect(row!.pinnedUntil!.getTime()).toBeGreaterThan(Date.now());
    const result = await retier();
    expect(result.pinned).toBeGreaterThanOrEqual(1);
    expect((await tiersOf([pinned])).get(pinned)).toBe('high');
    // Quiet since it was added (RETIER_QUIET_AFTER 3 s < PIN_DURATION 4 s): back to low once the pin expires.
    await sleep(Math.max(0, row!.pinnedUntil!.getTime() - Date.now()) + 200);
    await retier();
    expect((await tiersOf([pinned])).get(pinned)).toBe('low');
  });

  it('a wallet that wakes up moves up', async () => {
    const waking = idleWallets()[1]!;
    await addWallets(engine.sql, [waking] as Address[], 'low');
    await sweep('low'); // its first observation, not a change
    for (let round = 0; round < 2; round++) {
      engine.sim.world.setBalance(waking, 5_000_000n + BigInt(round));
      engine.sim.world.advance(2, { changes: false });
      await sleep(1_100);
      await sweep('low');
    }
    await retier();
    expect((await tiersOf([waking])).get(waking)).toBe('high');
  });

  it('re-tiering skips a wallet row another transaction holds instead of waiting for it, and moves it next time', async () => {
    // A low, quiet wallet; making it busy-looking is enough to want it in high.
    const held = idleWallets()[2]!;
    await addWallets(engine.sql, [held] as Address[], 'low');
    const [row] = await engine.sql<{ id: number }[]>`SELECT id FROM wallets WHERE address = ${held}`;
    const id = row!.id;
    await engine.sql`
      INSERT INTO balance_changes (wallet_id, slot, lamports, previous_lamports)
      SELECT ${id}, 9000000 + g, 1, 0 FROM generate_series(1, 3) g`;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // A batch write in flight holds the row (as writeBatch's UPDATE does) until released.
    const holder = engine.sql.begin(async (tx) => {
      await tx`SELECT 1 FROM wallets WHERE id = ${id} FOR UPDATE`;
      locked();
      await released;
    });
    await isLocked;
    try {
      const result = await Promise.race([retier(), sleep(15_000).then(() => 'blocked' as const)]);
      expect(result).not.toBe('blocked');
      expect((await tiersOf([held])).get(held)).toBe('low');
    } finally {
      release();
      await holder;
    }
    await retier();
    expect((await tiersOf([held])).get(held)).toBe('high');
  });
});
