// Issue 7: busy wallets' freshness with segmentation off and on, at the same RPC budget.
//
// Two runs of this service against worlds from the same seed, with the same wallets, the same
// provider limit and the same RPC_MAX_RPS. Every wallet is added in the default tier `medium`
// (nobody knows in advance who is busy). `seg-off` keeps them there, swept at the shortest
// whole-second interval that fits the budget with headroom; `seg-on` lets re-tiering move the
// wallets that change to `high` (swept every few seconds) and the quiet ones to `low` (swept
// at the interval the budget leaves). After a warm-up, each run measures for the same period
// how long a balance change took to reach Postgres, for the busy wallets and the idle ones,
// and how many RPC requests it sent per second.

import type { Client } from '@temporalio/client';
import { type BudgetFit, rpcBudget } from '../src/budget';
import { loadConfig } from '../src/config';
import type { Sql } from '../src/db/client';
import { formatDuration } from '../src/duration';
import { WORLD_DEFAULTS } from '../tools/simulator/world';
import { RETIER_SCHEDULE_ID } from '../src/schedules';
import { requestTierSweep } from '../src/tier-control';
import { TIERS, type Tier, tierScheduleId, tierWorkflowId } from '../src/tiers';
import { progressQuery } from '../workflows/definitions';
import type { BenchParams, RetierSettings, SegmentationRunName } from './args';
import type { FreshnessStats } from './freshness';
import { worldFreshness } from './freshness';
import { beginPhase, type RpcFigures } from './phase';
import { round } from './results';
import { engineFingerprint, loadWallets, setSchedulesPaused, setUpPaused, startTrackerWorker, stopTrackerWorker, storedWrites, type TrackerContext, trackerEnv, withWorldAndDatabase } from './tracker-common';
import { worldOptions } from './world';

/** Share of the budget the tiers' cadence may plan to use: the rest absorbs retries and bursts. */
export const BUDGET_HEADROOM = 0.8;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type Grouped<T> = Record<'busy' | 'idle' | 'all', T>;

export interface SegmentationPlan {
  wallets: number;
  /** The world's busy wallets (they change about every 40 s × 1 / change rate). */
  busyWallets: number;
  /** The provider's rate limit, requests/s. */
  providerRps: number;
  /** RPC_MAX_RPS of both runs: the budget. */
  rpcMaxRps: number;
  headroom: number;
  measureSeconds: number;
  graceSeconds: number;
  off: { intervalsMs: Record<Tier, number>; warmupSeconds: number; budget: BudgetFit };
  on: {
    intervalsMs: Record<Tier, number>;
    warmupSeconds: number;
    retier: RetierSettings;
    /** Tier sizes expected once re-tiering has settled, from the world's change rates and the rules. */
    expectedTiers: Record<Tier, number>;
    /** rpcBudget of those sizes at these intervals. */
    budget: BudgetFit;
  };
}

export interface SegmentationRunReport {
  run: SegmentationRunName;
  description: string;
  notes: string[];
  wallets: number;
  busyWallets: number;
  /** engineFingerprint() when the worker started: both runs should show the same. */
  engine: string;
  /** The service's settings that differ between the two runs. */
  settings: Record<string, string>;
  warmupSeconds: number;
  measuredSeconds: number;
  rpc: RpcFigures;
  /** HTTP requests the simulator received per second of the measured period, mean and busiest second. */
  requestsPerSecond: number;
  peakRequestsPerSecond: number;
  /** Balance changes the world made in the measured period, and their freshness (busy wallets, idle ones). */
  worldChanges: number;
  freshness: Grouped<FreshnessStats>;
  /** seg-on: the busy wallets' changes split by whether the wallet was in high when the measured period began. */
  busyByStartTier: { inHigh: number; inHighFreshness: FreshnessStats; elsewhereFreshness: FreshnessStats } | null;
  /** Wallets per tier at the end of the measured period, and where the busy ones were. */
  tiersAtEnd: Record<Tier, number>;
  busyByTier: Record<Tier, number>;
  /** rpcBudget of the tier sizes at the end with the run's intervals. */
  budgetAtEnd: BudgetFit;
  /** The service's own check after its last re-tiering (seg-on only). */
  serviceBudget: { requiredRps: number; fits: boolean } | null;
  /** Re-tiering runs over the whole run (seg-on only). */
  retier: { runs: number; failed: number; medianMs: number | null; maxMs: number | null } | null;
  /** The sweeps that ran in the measured period, per tier. */
  sweeps: Record<Tier, TierSweeps>;
  deadlocks: number;
  worker: { hwmMb: number; cpuSeconds: number };
}

export interface TierSweeps {
  sweeps: number;
  walletsChecked: number;
  /** Median time between sweep starts, and median time from a sweep's first read to its last write. */
  medianPeriodSeconds: number | null;
  medianSeconds: number | null;
  /** The longest of each. */
  maxPeriodSeconds: number | null;
  maxSeconds: number | null;
  /** The tier workflow's sweep in progress at the end of the period, if any. */
  runningAtEnd: { seconds: number; batchesDone: number; batchesTotal: number; batchesFailed: number } | null;
}

/** P(a Poisson count with mean `mean` is ≥ k). */
function atLeast(k: number, mean: number): number {
  let term = Math.exp(-mean);
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= mean / (i + 1);
  }
  return Math.max(0, 1 - below);
}

/**
 * Tier sizes once re-tiering has settled: a wallet is high when it changed at least C times in
 * the window, low when it did not change within quiet-after, medium otherwise (the service's
 * rules), with each group's change rate from the world model.
 */
export function expectedTiers(params: BenchParams, wallets: number, retier: RetierSettings): Record<Tier, number> {
  const world = worldOptions({ ...params, wallets });
  const perSecond = (perSlot: number): number => perSlot / (world.slotMs / 1000);
  const busy = Math.round(wallets * world.busyFraction);
  const groups = [
    { n: busy, rate: perSecond(world.busyChangeRate) },
    { n: wallets - busy, rate: perSecond(world.idleChangeRate) },
  ];
  let high = 0;
  let medium = 0;
  for (const { n, rate } of groups) {
    const pHigh = atLeast(retier.highMinChanges, (rate * retier.windowMs) / 1000);
    const pActive = 1 - Math.exp((-rate * retier.quietAfterMs) / 1000);
    high += n * pHigh;
    medium += n * Math.max(0, pActive - pHigh);
  }
  const out = { high: Math.ceil(high), medium: Math.ceil(medium), low: 0 };
  out.low = Math.max(0, wallets - out.high - out.medium);
  return out;
}

export function planSegmentation(params: BenchParams): SegmentationPlan {
  const wallets = params.segWallets ?? Math.min(params.wallets, 100_000);
  const providerRps = params.segRps ?? (params.rps > 0 ? params.rps : 50);
  const rpcMaxRps = params.trackerRps ?? providerRps;
  const usable = BUDGET_HEADROOM * rpcMaxRps;
  const allMedium = { high: 0, medium: wallets, low: 0 };
  // seg-off: a sweep of every wallet per interval, the shortest whole second that fits.
  const mediumMs = 1000 * Math.max(1, Math.ceil(Math.ceil(wallets / 100) / usable));
  const retier = params.segRetier;
  const tiers = expectedTiers(params, wallets, retier);
  const highMs = params.segHighIntervalMs;
  // seg-on's low tier: the shortest whole-second interval, no shorter than medium's, that fits what high leaves.
  let lowMs = params.segLowIntervalMs;
  if (lowMs === null) {
    const fits = (ms: number): boolean => rpcBudget(tiers, { high: highMs, medium: mediumMs, low: ms }, rpcMaxRps).requiredRps <= usable;
    lowMs = mediumMs;
    while (!fits(lowMs) && lowMs < 24 * 3_600_000) lowMs += 1000;
    if (!fits(lowMs)) throw new Error(`segmentation pair: the high tier (${tiers.high} wallets every ${formatDuration(highMs)}) alone needs more than ${usable} requests/s; raise --seg-high-interval`);
  }
  const onIntervals = { high: highMs, medium: mediumMs, low: lowMs };
  const graceSeconds = params.segGraceSeconds ?? Math.max(params.freshnessGraceSeconds, Math.ceil((1.25 * Math.max(mediumMs, lowMs)) / 1000));
  if (graceSeconds >= params.segMeasureSeconds) throw new Error(`segmentation pair: the measured period (${params.segMeasureSeconds} s) must be longer than its grace (${graceSeconds} s)`);
  return {
    wallets,
    busyWallets: Math.round(wallets * WORLD_DEFAULTS.busyFraction),
    providerRps,
    rpcMaxRps,
    headroom: BUDGET_HEADROOM,
    measureSeconds: params.segMeasureSeconds,
    graceSeconds,
    // The same intervals as seg-on: its high and low tiers simply stay empty.
    off: { intervalsMs: onIntervals, warmupSeconds: params.segOffWarmupSeconds, budget: rpcBudget(allMedium, onIntervals, rpcMaxRps) },
    on: { intervalsMs: onIntervals, warmupSeconds: params.segWarmupSeconds, retier, expectedTiers: tiers, budget: rpcBudget(tiers, onIntervals, rpcMaxRps) },
  };
}

function segmentationEnv(on: boolean, plan: SegmentationPlan): Record<string, string> {
  if (!on) return { SEGMENTATION: 'off' };
  const { retier } = plan.on;
  return {
    SEGMENTATION: 'on',
    RETIER_INTERVAL: formatDuration(retier.intervalMs),
    RETIER_WINDOW: formatDuration(retier.windowMs),
    RETIER_HIGH_MIN_CHANGES: String(retier.highMinChanges),
    RETIER_QUIET_AFTER: formatDuration(retier.quietAfterMs),
  };
}

export async function runSegmentation(
  name: SegmentationRunName,
  params: BenchParams,
  plan: SegmentationPlan,
  ctx: TrackerContext,
  say: (line: string) => void,
): Promise<SegmentationRunReport> {
  const on = name === 'seg-on';
  const setup = on ? plan.on : plan.off;
  const { client } = ctx;
  const worldParams: BenchParams = { ...params, wallets: plan.wallets, rps: plan.providerRps };
  return withWorldAndDatabase(worldParams, name, client, async (world, db) => {
    await loadWallets(db.sql, world.addresses, () => 'medium');
    const busy = new Set(world.sim.world.busyAddresses());
    const extra = segmentationEnv(on, plan);
    const env = trackerEnv(params, ctx, { databaseUrl: db.url, rpcUrl: world.sim.url, rpcMaxRps: plan.rpcMaxRps, intervalsMs: setup.intervalsMs, extra });
    const config = loadConfig(env);
    await setUpPaused(client, config);
    const engine = engineFingerprint();
    const worker = await startTrackerWorker(ctx, env, `${name}-worker.log`);
    try {
      const started = Date.now();
      const running = [...TIERS.map(tierScheduleId), ...(on ? [RETIER_SCHEDULE_ID] : [])];
      await setSchedulesPaused(client, running, false, 'bench: segmentation pair');
      // The first sweep starts now rather than at the schedule's first tick.
      await requestTierSweep(client, config, 'medium', 'bench: first sweep');
      say(`${name}: ${plan.wallets} wallets in medium, intervals ${TIERS.map((t) => formatDuration(setup.intervalsMs[t])).join(' / ')}, RPC_MAX_RPS ${plan.rpcMaxRps}; warm-up ${setup.warmupSeconds} s`);
      const warmupEnd = started + setup.warmupSeconds * 1000;
      while (Date.now() < warmupEnd) {
        await sleep(Math.min(30_000, warmupEnd - Date.now()));
        const { tiers, busyByTier } = await tierSizes(db.sql, busy);
        say(`${name}: … ${Math.round((Date.now() - started) / 1000)} s: tiers ${TIERS.map((t) => `${t} ${tiers[t]}`).join(', ')}; busy wallets in high ${busyByTier.high} of ${busy.size}`);
      }

      say(`${name}: measuring for ${plan.measureSeconds} s`);
      const highAtStart = new Set((await db.sql<{ address: string }[]>`SELECT address FROM wallets WHERE tier = 'high'`).map((r) => r.address));
      const phase = await beginPhase(world, db, worker.monitor, ctx.temporalPid);
      await sleep(plan.measureSeconds * 1000);
      const until = Date.now();
      const result = await phase.end(until);
      const { tiers, busyByTier } = await tierSizes(db.sql, busy);
      const inProgress = await sweepsInProgress(client, until);
      await setSchedulesPaused(client, running, true, 'bench: done');
      const workerFigures = worker.monitor.summary();

      const writes = await storedWrites(db.sql, phase.startedAt, until);
      const period = { from: phase.startedAt, until, graceSeconds: plan.graceSeconds };
      const { changes, freshness } = worldFreshness(world, writes, { ...period, groups: ['busy', 'idle'] as const, groupOf: (a) => (busy.has(a) ? 'busy' : 'idle') });
      const split = on
        ? worldFreshness(world, writes, { ...period, groups: ['high', 'elsewhere'] as const, groupOf: (a) => (!busy.has(a) ? undefined : highAtStart.has(a) ? 'high' : 'elsewhere') }).freshness
        : null;
      const retier = on ? await retierFigures(client) : null;
      const sweeps = await sweepsByTier(db.sql, phase.startedAt, until, inProgress);
      const [deadlockRow] = await db.sql<{ n: bigint }[]>`SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()`;
      await stopTrackerWorker(worker);

      const settings = {
        ...extra,
        SWEEP_CONCURRENCY: String(config.sweepConcurrency),
        ...Object.fromEntries(TIERS.map((t) => [`TIER_${t.toUpperCase()}_INTERVAL`, env[`TIER_${t.toUpperCase()}_INTERVAL`]!])),
      };
      const notes = [
        `RPC_MAX_RPS ${plan.rpcMaxRps}; ${Object.entries(settings)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
        `every wallet added in medium; at the start of the ${setup.warmupSeconds} s warm-up the schedules ${running.join(', ')} were unpaused and a medium sweep requested`,
      ];
      if (retier && retier.runs > 0 && retier.maxMs !== null && retier.maxMs > plan.on.retier.intervalMs) {
        notes.push(`a re-tiering took ${retier.maxMs} ms, longer than RETIER_INTERVAL: the schedule skips ticks meanwhile`);
      }
      return {
        run: name,
        description: on
          ? 'this service with re-tiering: busy wallets climb to high, quiet ones sink to low'
          : 'this service with SEGMENTATION=off: every wallet stays in medium',
        notes,
        wallets: plan.wallets,
        busyWallets: busy.size,
        engine,
        settings,
        warmupSeconds: round((phase.startedAt - started) / 1000, 1),
        measuredSeconds: result.seconds,
        rpc: result.rpc,
        requestsPerSecond: round(result.rpc.httpRequests / result.seconds, 2),
        peakRequestsPerSecond: Math.max(0, ...result.rpc.perSecond.requests),
        worldChanges: changes,
        freshness,
        busyByStartTier: split && { inHigh: [...busy].filter((a) => highAtStart.has(a)).length, inHighFreshness: split.high, elsewhereFreshness: split.elsewhere },
        tiersAtEnd: tiers,
        busyByTier,
        budgetAtEnd: rpcBudget(tiers, setup.intervalsMs, plan.rpcMaxRps),
        serviceBudget: retier?.budget ?? null,
        retier: retier && { runs: retier.runs, failed: retier.failed, medianMs: retier.medianMs, maxMs: retier.maxMs },
        sweeps,
        deadlocks: Number(deadlockRow?.n ?? 0),
        worker: { hwmMb: workerFigures.hwmMb, cpuSeconds: workerFigures.cpuSeconds },
      };
    } finally {
      await stopTrackerWorker(worker, 30_000);
    }
  });
}

async function tierSizes(sql: Sql, busy: Set<string>): Promise<{ tiers: Record<Tier, number>; busyByTier: Record<Tier, number> }> {
  const all = await sql<{ tier: Tier; n: number }[]>`SELECT tier, count(*)::int AS n FROM wallets GROUP BY tier`;
  const mine = await sql<{ tier: Tier; n: number }[]>`SELECT tier, count(*)::int AS n FROM wallets WHERE address = ANY(${[...busy]}::text[]) GROUP BY tier`;
  const byTier = (rows: { tier: Tier; n: number }[]): Record<Tier, number> =>
    Object.fromEntries(TIERS.map((t) => [t, rows.find((r) => r.tier === t)?.n ?? 0])) as Record<Tier, number>;
  return { tiers: byTier(all), busyByTier: byTier(mine) };
}

/** Each tier workflow's sweep in progress at `at`, from its `progress` query. */
async function sweepsInProgress(client: Client, at: number): Promise<Record<Tier, TierSweeps['runningAtEnd']>> {
  const out = {} as Record<Tier, TierSweeps['runningAtEnd']>;
  for (const tier of TIERS) {
    const current = (await client.workflow.getHandle(tierWorkflowId(tier)).query(progressQuery)).current;
    out[tier] = current && {
      seconds: round((at - Date.parse(current.startedAt)) / 1000, 1),
      batchesDone: current.batchesDone,
      batchesTotal: current.batchesTotal,
      batchesFailed: current.batchesFailed,
    };
  }
  return out;
}

/** Sweeps that wrote batches in the window, per tier, from the batches' own records. */
async function sweepsByTier(sql: Sql, from: number, until: number, inProgress: Record<Tier, TierSweeps['runningAtEnd']>): Promise<Record<Tier, TierSweeps>> {
  const rows = await sql<{ tier: Tier; firstRead: Date; lastWrite: Date; wallets: bigint }[]>`
    SELECT tier, min(read_at) AS first_read, max(checked_at) AS last_write, sum(wallets) AS wallets
    FROM batch_checks WHERE checked_at BETWEEN ${new Date(from)} AND ${new Date(until)}
    GROUP BY tier, split_part(batch_key, '/', 1)
    ORDER BY min(read_at)`;
  return Object.fromEntries(
    TIERS.map((tier) => {
      const mine = rows.filter((r) => r.tier === tier);
      const starts = mine.map((r) => r.firstRead.getTime());
      const periods = starts.slice(1).map((t, i) => (t - starts[i]!) / 1000);
      const durations = mine.map((r) => (r.lastWrite.getTime() - r.firstRead.getTime()) / 1000);
      return [
        tier,
        {
          sweeps: mine.length,
          walletsChecked: mine.reduce((s, r) => s + Number(r.wallets), 0),
          medianPeriodSeconds: median(periods),
          medianSeconds: median(durations),
          maxPeriodSeconds: periods.length ? round(Math.max(...periods), 1) : null,
          maxSeconds: durations.length ? round(Math.max(...durations), 1) : null,
          runningAtEnd: inProgress[tier],
        },
      ];
    }),
  ) as Record<Tier, TierSweeps>;
}

/** The re-tiering workflows the schedule started, and the budget check of the last one that completed. */
async function retierFigures(client: Client): Promise<{ runs: number; failed: number; medianMs: number | null; maxMs: number | null; budget: { requiredRps: number; fits: boolean } | null }> {
  const durations: number[] = [];
  let failed = 0;
  let runs = 0;
  let last: { workflowId: string; runId: string; closed: number } | null = null;
  for await (const execution of client.workflow.list({ query: `WorkflowType = 'retierWorkflow'` })) {
    runs++;
    const status = execution.status.name;
    if (status !== 'COMPLETED' && status !== 'RUNNING') failed++;
    if (status === 'COMPLETED' && execution.closeTime) {
      durations.push(execution.closeTime.getTime() - execution.startTime.getTime());
      if (!last || execution.closeTime.getTime() > last.closed) last = { workflowId: execution.workflowId, runId: execution.runId, closed: execution.closeTime.getTime() };
    }
  }
  let budget: { requiredRps: number; fits: boolean } | null = null;
  if (last) {
    const result = (await client.workflow.getHandle(last.workflowId, last.runId).result()) as { budget?: BudgetFit } | undefined;
    if (result?.budget) budget = { requiredRps: round(result.budget.requiredRps, 2), fits: result.budget.fits };
  }
  return { runs, failed, medianMs: median(durations), maxMs: durations.length ? Math.max(...durations) : null, budget };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return round(sorted[Math.floor((sorted.length - 1) / 2)]!, 1);
}
