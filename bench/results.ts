// What one run reports, and the figures every run computes the same way.

import { MAX_BATCH } from '../src/db/checks';
import { TIERS, type Tier } from '../src/tiers';
import type { BenchParams, RunName } from './args';
import type { WalMeasure } from './database';
import type { FreshnessStats } from './freshness';
import type { PhaseResult, RpcFigures } from './phase';

export interface RowCounts {
  inserted: number;
  updated: number;
  total: number;
}

export interface SweepFigures {
  wallets: number;
  /** Wallets checked within the measured time. */
  walletsChecked: number;
  completed: boolean;
  /** True when the sweep was stopped at the bound and its totals scaled from its rate. */
  extrapolated: boolean;
  measuredSeconds: number;
  /** Wall time of a full sweep of all wallets (extrapolated when stopped). */
  seconds: number;
  walletsPerSecond: number;
  /** Wallets/s over the ceiling of 100 × the rate limit; null without a limit. */
  efficiency: number | null;
  /** Sweep wall time / wallets. */
  avgCheckMsPerWallet: number;
  rpc: RpcFigures;
  /** RPC requests for all wallets (scaled when extrapolated). */
  requestsPerSweep: number;
  rows: RowCounts;
  rowsPerSweep: number;
  wal: WalMeasure;
  walBytesPerSweep: number;
  cpuSeconds: number;
  otherCpuSeconds: PhaseResult['otherCpuSeconds'];
  /** What the implementation itself counted (backoffs, 'Account not found', failed batches). */
  ownCounters: Record<string, number>;
}

export interface SteadySweep {
  tier: Tier;
  sweepId: string;
  startedAt: string;
  seconds: number;
  walletsChecked: number;
  walletsChanged: number;
  batches: number;
  rpcCalls: number;
  /** (wallet, mint) pairs whose token balance changed (0 without tracked mints). */
  tokensChanged?: number;
  rowsWritten: number;
  /** The target's bound: changed wallets + changed (wallet, mint) pairs + batches. */
  bound: number;
}

export interface DeliveryFigures {
  changesDelivered: number;
  p50Seconds: number | null;
  p99Seconds: number | null;
  maxSeconds: number | null;
  /** What the bench's receiver got: batches and changes, repeats included. */
  received: { batches: number; changes: number };
}

/** What the tracker-tokens run adds (issue 14). */
export interface TokenFigures {
  mints: number;
  /** Each wallet and its ATAs. */
  accountsPerSweep: number;
  /** ceil(N × (1 + M) / 100): 100 accounts a call. */
  expectedCalls: number;
  accountsPerSecond: number;
  /** Accounts/s over the ceiling of 100 × the rate limit; null without a limit. */
  accountShare: number | null;
  /** Token changes stored in the steady state, and made by the simulator in it. */
  steadyTokenChanges: number;
  worldTokenChanges: number;
}

export interface SteadyFigures {
  seconds: number;
  rpc: RpcFigures;
  requestsPerHourMeasured: number;
  /** Requests an hour needs to check every wallet at its tier's interval. */
  requestsPerHourAtCadence: number;
  walletChecks: number;
  rows: RowCounts;
  rowsPerWalletCheck: number | null;
  rowsPerHourMeasured: number;
  wal: WalMeasure;
  walBytesPerHour: number;
  cpuSeconds: number;
  otherCpuSeconds: PhaseResult['otherCpuSeconds'];
  /** Balance changes the simulator made in the period. */
  worldChanges: number;
  freshness: Record<Tier | 'all', FreshnessStats>;
  /** The tracker's completed sweeps in the period. */
  sweeps: SteadySweep[] | null;
}

export interface RunReport {
  run: RunName;
  description: string;
  notes: string[];
  tierCounts: Record<Tier, number>;
  sweep: SweepFigures;
  steady: SteadyFigures;
  worker: { peakRssMb: number; hwmMb: number; cpuSeconds: number };
  /** The token run's figures; absent for the other runs. */
  tokens?: TokenFigures;
  /** Webhook delivery in the steady state (this service's runs): change observed → batch answered 2xx. */
  delivery?: DeliveryFigures;
  /** pg_stat_user_tables counters for the whole run, read after the service disconnected. */
  pgStat: Record<string, { inserted: number; updated: number; deleted: number }>;
}

/** Requests an hour at the tiers' intervals: one per wallet check, or one per batch of 100. */
export function requestsPerHourAtCadence(tierCounts: Record<Tier, number>, intervalsMs: Record<Tier, number>, perWallet: boolean): number {
  return Math.round(
    TIERS.reduce((sum, tier) => {
      const requests = perWallet ? tierCounts[tier] : Math.ceil(tierCounts[tier] / MAX_BATCH);
      return sum + (requests * 3_600_000) / intervalsMs[tier];
    }, 0),
  );
}

/** Sweep figures from a measured phase; scaled to all wallets when the sweep was stopped early. */
export function sweepFigures(
  params: BenchParams,
  phase: PhaseResult,
  { walletsChecked, completed, rows, ownCounters }: { walletsChecked: number; completed: boolean; rows: RowCounts; ownCounters: Record<string, number> },
): SweepFigures {
  const n = params.wallets;
  const measured = phase.seconds;
  const scale = walletsChecked > 0 ? n / walletsChecked : 0;
  const walletsPerSecond = measured > 0 ? walletsChecked / measured : 0;
  const seconds = completed ? measured : walletsPerSecond > 0 ? n / walletsPerSecond : Infinity;
  const scaled = (x: number): number => Math.round(completed ? x : x * scale);
  return {
    wallets: n,
    walletsChecked,
    completed,
    extrapolated: !completed,
    measuredSeconds: round(measured, 2),
    seconds: round(seconds, 1),
    walletsPerSecond: round(completed ? n / measured : walletsPerSecond, 1),
    efficiency: params.rps > 0 ? round((completed ? n / measured : walletsPerSecond) / (100 * params.rps), 4) : null,
    avgCheckMsPerWallet: round((seconds * 1000) / n, 3),
    rpc: phase.rpc,
    requestsPerSweep: scaled(phase.rpc.httpRequests),
    rows,
    rowsPerSweep: scaled(rows.total),
    wal: phase.wal,
    walBytesPerSweep: scaled(phase.wal.bytes),
    cpuSeconds: phase.cpuSeconds,
    otherCpuSeconds: phase.otherCpuSeconds,
    ownCounters,
  };
}

export function steadyFigures(
  params: BenchParams,
  tierCounts: Record<Tier, number>,
  phase: PhaseResult,
  perWalletRequests: boolean,
  extra: { walletChecks: number; rows: RowCounts; worldChanges: number; freshness: Record<Tier | 'all', FreshnessStats>; sweeps: SteadySweep[] | null },
): SteadyFigures {
  const hours = phase.seconds / 3600;
  return {
    seconds: round(phase.seconds, 1),
    rpc: phase.rpc,
    requestsPerHourMeasured: hours > 0 ? Math.round(phase.rpc.httpRequests / hours) : 0,
    requestsPerHourAtCadence: requestsPerHourAtCadence(tierCounts, params.intervalsMs, perWalletRequests),
    walletChecks: extra.walletChecks,
    rows: extra.rows,
    rowsPerWalletCheck: extra.walletChecks > 0 ? round(extra.rows.total / extra.walletChecks, 4) : null,
    rowsPerHourMeasured: hours > 0 ? Math.round(extra.rows.total / hours) : 0,
    wal: phase.wal,
    walBytesPerHour: hours > 0 ? Math.round(phase.wal.bytes / hours) : 0,
    cpuSeconds: phase.cpuSeconds,
    otherCpuSeconds: phase.otherCpuSeconds,
    worldChanges: extra.worldChanges,
    freshness: extra.freshness,
    sweeps: extra.sweeps,
  };
}

/**
 * Milliseconds of CPU of the work's own processes (the worker, Postgres, Temporal; not the
 * benchmark and its simulator) per 100 wallets checked in the full sweep; null before a check.
 */
export function cpuMsPer100Wallets(sweep: Pick<SweepFigures, 'walletsChecked' | 'cpuSeconds' | 'otherCpuSeconds'>): number | null {
  if (sweep.walletsChecked === 0) return null;
  const cpu = sweep.cpuSeconds + sweep.otherCpuSeconds.postgres + (sweep.otherCpuSeconds.temporal ?? 0);
  return round((cpu * 1000 * MAX_BATCH) / sweep.walletsChecked, 1);
}

export function round(x: number, digits = 0): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
