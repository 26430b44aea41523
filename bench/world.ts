// One simulator per run, all from the same seed: the same wallets and, slot for slot from
// the run's start, the same balance changes. Tiers follow activity, as an operator would
// set them: the simulator's busy wallets are `high`, a share of the others `medium`, the
// rest `low`.

import { startSimulator, type SimulatorHandle } from '../tools/simulator/server';
import { WORLD_DEFAULTS } from '../tools/simulator/world';
import { TIERS, type Tier } from '../src/tiers';
import type { BenchParams } from './args';

export interface BenchWorld {
  sim: SimulatorHandle;
  /** Wall-clock ms at which the world's first slot began. */
  epoch: number;
  startSlot: number;
  slotMs: number;
  addresses: string[];
  /** The mints every wallet has an ATA for (none unless asked). */
  mints: string[];
  tierOf: Map<string, Tier>;
  tierCounts: Record<Tier, number>;
  /** When `slot` began (ms since the Unix epoch). */
  timeOfSlot(slot: number): number;
  /** The newest slot at wall-clock time `ms`. */
  slotAt(ms: number): number;
  stop(): Promise<void>;
}

export function worldOptions(params: BenchParams) {
  return {
    wallets: params.wallets,
    seed: params.seed,
    slotMs: params.slotMs,
    busyFraction: WORLD_DEFAULTS.busyFraction,
    busyChangeRate: WORLD_DEFAULTS.busyChangeRate * params.changeRate,
    idleChangeRate: WORLD_DEFAULTS.idleChangeRate * params.changeRate,
  };
}

export function providerKnobs(params: BenchParams) {
  return {
    latencyMs: params.latencyMs,
    jitterMs: params.jitterMs,
    rateLimitRps: params.rps,
    rateLimitBurst: params.providerBurst,
  };
}

export async function startWorld(params: BenchParams, mints = 0): Promise<BenchWorld> {
  let epoch: number | null = null;
  // The world reads its clock first to fix its epoch: that first reading is slot 0's start.
  const now = (): number => {
    const t = Date.now();
    epoch ??= t;
    return t;
  };
  const sim = await startSimulator({ port: 0, ...worldOptions(params), mints, now, knobs: providerKnobs(params) });
  const world = sim.world;
  const addresses = world.addresses(0, world.size);
  const busy = new Set(world.busyAddresses());
  const mediumTarget = Math.round((params.wallets * params.mediumFraction) / 100) * 100;
  const tierOf = new Map<string, Tier>();
  const tierCounts: Record<Tier, number> = { high: 0, medium: 0, low: 0 };
  for (const address of addresses) {
    const tier: Tier = busy.has(address) ? 'high' : tierCounts.medium < mediumTarget ? 'medium' : 'low';
    tierOf.set(address, tier);
    tierCounts[tier]++;
  }
  const startSlot = world.startSlot;
  const slotMs = world.slotMs;
  const zero = epoch!;
  return {
    sim,
    epoch: zero,
    startSlot,
    slotMs,
    addresses,
    mints: world.mints.map((m) => m.address),
    tierOf,
    tierCounts,
    timeOfSlot: (slot) => zero + (slot - startSlot) * slotMs,
    slotAt: (ms) => startSlot + Math.floor((ms - zero) / slotMs),
    stop: () => sim.stop(),
  };
}

export function walletsByTier(world: BenchWorld): Record<Tier, string[]> {
  const out = Object.fromEntries(TIERS.map((t) => [t, [] as string[]])) as Record<Tier, string[]>;
  for (const address of world.addresses) out[world.tierOf.get(address)!].push(address);
  return out;
}
