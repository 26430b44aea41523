// Freshness: for each balance change the simulator made during the steady state, how long
// until Postgres held a balance at least that new.
//
// A write (a wallet's balance stored at a time) covers a change when it reflects the chain
// at or after the change's slot. The tracker stores the slot it read at; the baselines do
// not, so their write's slot is found from its value: the newest change of that wallet, no
// later than the write, whose balance equals the one written (none: the write shows a balance
// from before the window and covers nothing in it). A change that nothing covered by the end
// is still pending: its delay is at least the time it waited, and percentiles that such a
// lower bound could move are shown with "≥".

import { TIERS, type Tier } from '../src/tiers';
import type { BenchWorld } from './world';

export interface Change {
  address: string;
  slot: number;
  lamports: bigint;
}

export interface StoredWrite {
  address: string;
  /** When it was written, ms since the epoch. */
  at: number;
  lamports: bigint;
  /** The slot the balance was read at, when the store keeps it. */
  slot?: number;
}

export interface Percentile {
  ms: number;
  /** True when pending changes (lower bounds) could make it larger. */
  atLeast: boolean;
}

export interface FreshnessStats {
  changes: number;
  covered: number;
  pending: number;
  p50: Percentile | null;
  p99: Percentile | null;
  max: Percentile | null;
}

export interface FreshnessInput<G extends string = Tier> {
  /** Changes in the counted window (oldest first per wallet), and every later change up to `until`. */
  changes: Change[];
  writes: StoredWrite[];
  /** The groups reported besides `all` (by default the tiers). */
  groups?: readonly G[];
  /** Which group a wallet's changes are counted in (also) besides `all`. */
  groupOf: (address: string) => G | undefined;
  timeOfSlot: (slot: number) => number;
  slotAt: (ms: number) => number;
  /** Changes at or after this slot are not counted (too young), but still used to read writes. */
  countBeforeSlot: number;
  /** When observation stopped, ms. */
  until: number;
}

export function measureFreshness<G extends string = Tier>(input: FreshnessInput<G>): Record<G | 'all', FreshnessStats> {
  const groups = input.groups ?? (TIERS as readonly string[] as readonly G[]);
  const changesOf = new Map<string, Change[]>();
  for (const change of input.changes) {
    let list = changesOf.get(change.address);
    if (!list) changesOf.set(change.address, (list = []));
    list.push(change);
  }
  const writesOf = new Map<string, StoredWrite[]>();
  for (const write of input.writes) {
    if (!changesOf.has(write.address)) continue;
    let list = writesOf.get(write.address);
    if (!list) writesOf.set(write.address, (list = []));
    list.push(write);
  }

  const delays = new Map<G | 'all', { ms: number; pending: boolean }[]>((['all', ...groups] as const).map((g) => [g, []]));
  for (const [address, changes] of changesOf) {
    const writes = (writesOf.get(address) ?? []).sort((a, b) => a.at - b.at);
    // The slot each write reflects.
    const covers = writes.map((w) => ({ at: w.at, slot: w.slot ?? slotFromValue(changes, w, input.slotAt(w.at)) }));
    const group = input.groupOf(address);
    for (const change of changes) {
      if (change.slot >= input.countBeforeSlot) continue;
      const happened = input.timeOfSlot(change.slot);
      const cover = covers.find((c) => c.slot >= change.slot && c.at <= input.until);
      const entry = cover ? { ms: Math.max(0, cover.at - happened), pending: false } : { ms: Math.max(0, input.until - happened), pending: true };
      delays.get('all')!.push(entry);
      if (group !== undefined) delays.get(group)?.push(entry);
    }
  }
  return Object.fromEntries([...delays].map(([k, entries]) => [k, summarize(entries)])) as Record<G | 'all', FreshnessStats>;
}

/**
 * Freshness of the changes a run's world made from `from` to `until` (except those of the last
 * `graceSeconds`, too young to have been seen), as `writes` stored them.
 */
export function worldFreshness<G extends string = Tier>(
  world: BenchWorld,
  writes: StoredWrite[],
  { from, until, graceSeconds, groups, groupOf }: { from: number; until: number; graceSeconds: number; groups?: readonly G[]; groupOf: (address: string) => G | undefined },
): { changes: number; freshness: Record<G | 'all', FreshnessStats> } {
  const changes = world.sim.world.changesBetween(world.slotAt(from), world.slotAt(until));
  const freshness = measureFreshness<G>({
    changes,
    writes,
    groups,
    groupOf,
    timeOfSlot: world.timeOfSlot,
    slotAt: world.slotAt,
    countBeforeSlot: world.slotAt(until - graceSeconds * 1000),
    until,
  });
  return { changes: changes.length, freshness };
}

/** The newest change no later than `slot` whose balance is the one written; -1 when none is. */
function slotFromValue(changes: Change[], write: StoredWrite, slot: number): number {
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i]!;
    if (change.slot <= slot && change.lamports === write.lamports) return change.slot;
  }
  return -1;
}

function summarize(entries: { ms: number; pending: boolean }[]): FreshnessStats {
  const pending = entries.filter((e) => e.pending).length;
  if (entries.length === 0) return { changes: 0, covered: 0, pending: 0, p50: null, p99: null, max: null };
  const sorted = [...entries].sort((a, b) => a.ms - b.ms);
  const minPending = entries.reduce((m, e) => (e.pending ? Math.min(m, e.ms) : m), Infinity);
  const at = (q: number): Percentile => {
    const value = sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!.ms;
    // A pending change's true delay is unknown beyond its lower bound; if any bound is at or
    // below this value, the true percentile could be higher.
    return { ms: Math.round(value), atLeast: minPending <= value };
  };
  return { changes: entries.length, covered: entries.length - pending, pending, p50: at(0.5), p99: at(0.99), max: at(1) };
}
