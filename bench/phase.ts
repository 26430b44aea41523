// A measured period of a run (the full sweep, the steady state): what the simulator saw,
// the WAL the run's database wrote, and the worker process's CPU time.

import type { OutcomeCounts, SimulatorStats } from '../tools/simulator/stats';
import { openWalWindow, type RunDatabase, type WalMeasure } from './database';
import { type ProcessMonitor, sampleProcess } from './proc';
import type { BenchWorld } from './world';

export interface RpcFigures {
  httpRequests: number;
  /** JSON-RPC calls by method, then outcome. */
  byMethod: Record<string, OutcomeCounts>;
  /** HTTP requests by outcome (ok, http_429, http_5xx, ...). */
  httpOutcomes: OutcomeCounts;
  /** HTTP requests that did not get a usable answer. */
  failed: number;
  /** Requests asking the same question as an earlier failed one (null when the arrivals kept do not cover the period). */
  retriesSeen: number | null;
  peakRequestsPerSecond: number;
  /** HTTP requests arriving in each second of the period, and those answered 429. */
  perSecond: { requests: number[]; rateLimited: number[] };
}

export function rpcFigures(stats: SimulatorStats, from: number = stats.since, to: number = Date.now()): RpcFigures {
  const failed = Object.entries(stats.httpOutcomes).reduce((sum, [outcome, n]) => (outcome === 'ok' ? sum : sum + (n ?? 0)), 0);
  let retriesSeen: number | null = null;
  if (stats.arrivals.length === stats.httpRequests) {
    retriesSeen = 0;
    const lastFailed = new Map<string, boolean>();
    for (const arrival of stats.arrivals) {
      if (lastFailed.get(arrival.key)) retriesSeen++;
      lastFailed.set(arrival.key, arrival.outcome !== 'ok');
    }
  }
  const seconds = Math.max(1, Math.ceil((to - from) / 1000));
  const perSecond = { requests: new Array<number>(seconds).fill(0), rateLimited: new Array<number>(seconds).fill(0) };
  for (const arrival of stats.arrivals) {
    const i = Math.min(seconds - 1, Math.max(0, Math.floor((arrival.at - from) / 1000)));
    perSecond.requests[i]!++;
    if (arrival.outcome === 'http_429') perSecond.rateLimited[i]!++;
  }
  return {
    httpRequests: stats.httpRequests,
    byMethod: stats.methods,
    httpOutcomes: stats.httpOutcomes,
    failed,
    retriesSeen,
    peakRequestsPerSecond: stats.peakRequestsPerSecond,
    perSecond,
  };
}

export interface PhaseResult {
  startedAt: number;
  endedAt: number;
  seconds: number;
  rpc: RpcFigures;
  wal: WalMeasure;
  /** The worker process's CPU time. */
  cpuSeconds: number;
  /** CPU time of the rest, for reading the worker's figure: the benchmark process (it hosts the simulator), Postgres backends of the run's database (approximate: those connected at the end), the Temporal dev server. */
  otherCpuSeconds: { benchAndSimulator: number; postgres: number; temporal: number | null };
}

export interface Phase {
  readonly startedAt: number;
  end(at?: number): Promise<PhaseResult>;
}

/** Starts a phase now: resets the simulator's counters and notes the WAL position and CPU time. */
export async function beginPhase(world: BenchWorld, db: RunDatabase, monitor: ProcessMonitor, temporalPid: number | null = null): Promise<Phase> {
  const wal = await openWalWindow(db);
  const cpu = monitor.cpuSeconds();
  const own = process.cpuUsage();
  const temporal = temporalPid === null ? null : (sampleProcess(temporalPid)?.cpuSeconds ?? null);
  const postgresStart = await backendCpu(db);
  world.sim.resetStats();
  const startedAt = Date.now();
  return {
    startedAt,
    async end(at = Date.now()) {
      const stats = world.sim.stats();
      const cpuEnd = monitor.cpuSeconds();
      const ownUsage = process.cpuUsage(own);
      const temporalEnd = temporalPid === null ? null : (sampleProcess(temporalPid)?.cpuSeconds ?? null);
      const postgresEnd = await backendCpu(db);
      let postgres = 0;
      for (const [pid, seconds] of postgresEnd) postgres += seconds - (postgresStart.get(pid) ?? 0);
      return {
        startedAt,
        endedAt: at,
        seconds: (at - startedAt) / 1000,
        rpc: rpcFigures(stats, startedAt, at),
        wal: await wal.end(),
        cpuSeconds: round2(cpuEnd - cpu),
        otherCpuSeconds: {
          benchAndSimulator: round2((ownUsage.user + ownUsage.system) / 1e6),
          postgres: round2(postgres),
          temporal: temporal === null || temporalEnd === null ? null : round2(temporalEnd - temporal),
        },
      };
    },
  };
}

/** CPU seconds of each backend connected to the run's database, by pid. */
async function backendCpu(db: RunDatabase): Promise<Map<number, number>> {
  const rows = await db.sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`;
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const sample = sampleProcess(pid);
    if (sample) out.set(pid, sample.cpuSeconds);
  }
  return out;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
