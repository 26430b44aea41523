// The demo's RPC endpoint when SOLANA_RPC_URL is not set: the simulator, with its wallets
// added to an empty database, spread over the tiers so every tier has work to show and pinned
// there (for DEMO_PIN_YEARS): re-tiering would otherwise move most of them at its first runs.
// The simulator's slot follows the wall clock, so a restarted stack never serves a slot older
// than one already stored (the same seed is the same cluster: same genesis hash).
// Used by `npm start` and `npm run stack:cluster`.

import type { Address } from '../../src/address';
import type { Config } from '../../src/config';
import { connect } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { addWallets, moveWallets } from '../../src/db/wallets';
import { startSimulator, type SimulatorHandle } from '../simulator/server';
import { wallClockSlot } from '../simulator/world';
import { TIERS } from '../../src/tiers';

const DEMO_WALLETS = 3_000;
const DEMO_PIN_YEARS = 100;

export async function startDemoSimulator(config: Config, port: number): Promise<{ sim: SimulatorHandle; seeded: number }> {
  const sim = await startSimulator({ port, wallets: DEMO_WALLETS, seed: 1, startSlot: wallClockSlot(Date.now()) });
  try {
    return { sim, seeded: await seedDemoWallets(config.databaseUrl, sim.world.addresses(0, DEMO_WALLETS)) };
  } catch (error) {
    await sim.stop();
    throw error;
  }
}

async function seedDemoWallets(databaseUrl: string, addresses: string[]): Promise<number> {
  const sql = connect(databaseUrl, { max: 1 });
  try {
    await migrate(sql);
    const [existing] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets`;
    if (existing!.n > 0n) return 0;
    let added = 0;
    for (const [i, tier] of TIERS.entries()) {
      const share = addresses.filter((_, j) => j % TIERS.length === i) as Address[];
      added += (await addWallets(sql, share, tier)).length;
      await moveWallets(sql, share, tier, { pinMs: DEMO_PIN_YEARS * 365 * 86_400_000 });
    }
    return added;
  } finally {
    await sql.end();
  }
}
