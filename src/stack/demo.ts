// The demo's RPC endpoint when SOLANA_RPC_URL is not set: the simulator, with its wallets
// added to an empty database, spread over the tiers so every tier has work to show.
// Used by `npm start` and `npm run stack:cluster`.

import type { Address } from '../address';
import type { Config } from '../config';
import { connect } from '../db/client';
import { migrate } from '../db/migrate';
import { addWallets } from '../db/wallets';
import { startSimulator, type SimulatorHandle } from '../simulator/server';
import { TIERS } from '../tiers';

const DEMO_WALLETS = 3_000;

export async function startDemoSimulator(config: Config, port: number): Promise<{ sim: SimulatorHandle; seeded: number }> {
  const sim = await startSimulator({ port, wallets: DEMO_WALLETS, seed: 1 });
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
    }
    return added;
  } finally {
    await sql.end();
  }
}
