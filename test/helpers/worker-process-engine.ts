// The setting of the worker-process tests (test/reliability/worker-kill, test/cluster/workers):
// an engine with no in-process workers, a low tier of `wallets` wallets swept in batches of 100
// at `rps` requests/s through slow RPC (300 ± 100 ms), and the tier schedules paused, so a
// sweep happens when the test asks for one and `balance-tracker worker` processes do the work.

import type { Address } from '../../src/address';
import { addWallets } from '../../src/db/wallets';
import { ensureSchedules } from '../../src/schedules';
import { TIERS, tierScheduleId } from '../../src/tiers';
import { type Engine, startEngine } from './engine';

export interface LowTierOptions {
  wallets: number;
  rps: number;
  /** The low tier's interval: a wallet is due again once half of it has passed. */
  intervalMs: number;
  seed: string;
  /** The simulator's provider limit, a strict sliding 1 s window (0: none). */
  providerLimitRps?: number;
  /** Another Temporal server than the run's shared dev server (host:port). */
  temporalAddress?: string;
}

export async function startLowTierEngine(options: LowTierOptions): Promise<Engine> {
  const engine = await startEngine({
    workers: false,
    temporalAddress: options.temporalAddress,
    simulator: { wallets: options.wallets, seed: options.seed, slotMs: 200, knobs: { latencyMs: 300, jitterMs: 100, rateLimitRps: options.providerLimitRps ?? 0 } },
    env: {
      RPC_MAX_RPS: String(options.rps),
      SWEEP_CONCURRENCY: '4',
      BATCHES_PER_CHILD: '10',
      TIER_LOW_INTERVAL: `${options.intervalMs / 1000}s`,
      TIER_MEDIUM_INTERVAL: '24h',
      TIER_HIGH_INTERVAL: '24h',
      SEGMENTATION: 'off',
    },
  });
  await addWallets(engine.sql, engine.sim.world.addresses(0, options.wallets) as Address[], 'low');
  // The schedules exist, paused, before any worker: sweeps happen when the test asks for them.
  await ensureSchedules(engine.client, engine.config);
  for (const tier of TIERS) await engine.client.schedule.getHandle(tierScheduleId(tier)).pause('worker-process test');
  engine.sim.resetStats();
  return engine;
}
