// Runs this service through Temporal: schedules, tier workflows, batch children, and the
// real workers in a process of their own. The schedules are paused while the full sweep (one
// requested sweep per tier, all wallets due) is measured alone, then run the steady state.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Client, ScheduleNotFoundError } from '@temporalio/client';
import type { Address } from '../src/address';
import { loadConfig } from '../src/config';
import { migrate } from '../src/db/migrate';
import { addWallets } from '../src/db/wallets';
import { formatDuration } from '../src/duration';
import { ensureSchedules, RETIER_SCHEDULE_ID } from '../src/schedules';
import { requestTierSweep, startTierWorkflows } from '../src/tier-control';
import { TIERS, type Tier, tierScheduleId, tierWorkflowId } from '../src/tiers';
import { bundleWorkflows } from '../src/worker';
import { progressQuery, type TierProgress } from '../workflows/definitions';
import type { BenchParams } from './args';
import { forkChild } from './child';
import { createRunDatabase, tableWrites, waitIdle } from './database';
import { measureFreshness, type StoredWrite } from './freshness';
import { beginPhase } from './phase';
import { ProcessMonitor } from './proc';
import { type RunReport, type SteadySweep, steadyFigures, sweepFigures } from './results';
import { startWorld } from './world';

const FULL_SWEEP_REASON = 'bench: full sweep';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type WorkerMessage = { type: 'ready' } | { type: 'failed'; message: string };

export interface TrackerContext {
  temporalAddress: string;
  temporalPid: number;
  client: Client;
  logDir: string;
  tmpDir: string;
}

export function trackerRps(params: BenchParams): number {
  return params.trackerRps ?? (params.rps > 0 ? params.rps : 100_000);
}

export async function runTracker(params: BenchParams, ctx: TrackerContext, say: (line: string) => void): Promise<RunReport> {
  const world = await startWorld(params);
  const db = await createRunDatabase('tracker');
  const { client } = ctx;
  const progress = (tier: Tier): Promise<TierProgress> => client.workflow.getHandle(tierWorkflowId(tier)).query(progressQuery);
  try {
    await migrate(db.sql);
    for (let i = 0; i < world.addresses.length; i += 10_000) {
      const chunk = world.addresses.slice(i, i + 10_000);
      for (const tier of TIERS) {
        const mine = chunk.filter((a) => world.tierOf.get(a) === tier) as Address[];
        if (mine.length) await addWallets(db.sql, mine, tier);
      }
    }
    await db.sql`VACUUM ANALYZE`;

    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: ctx.temporalAddress,
      DATABASE_URL: db.url,
      SOLANA_RPC_URL: world.sim.url,
      TASK_QUEUE: 'bench-tracker',
      RPC_MAX_RPS: String(trackerRps(params)),
      TIER_HIGH_INTERVAL: formatDuration(params.intervalsMs.high),
      TIER_MEDIUM_INTERVAL: formatDuration(params.intervalsMs.medium),
      TIER_LOW_INTERVAL: formatDuration(params.intervalsMs.low),
      LOG_LEVEL: 'warn',
      ...(params.sweepConcurrency ? { SWEEP_CONCURRENCY: String(params.sweepConcurrency) } : {}),
      ...(params.batchesPerChild ? { BATCHES_PER_CHILD: String(params.batchesPerChild) } : {}),
    };
    const config = loadConfig(env);
    await ensureSchedules(client, config);
    // Every schedule the service made is paused: the full sweep is measured alone. Only the
    // tiers' sweeps run in the steady state; other schedules (re-tiering by activity) stay
    // paused, so the tiers stay as assigned, as they do for the baselines.
    // (Listing schedules goes through visibility, which lags: the known ids are paused by name.)
    const otherSchedules: string[] = [RETIER_SCHEDULE_ID];
    for await (const schedule of client.schedule.list()) {
      if (!otherSchedules.includes(schedule.scheduleId) && !TIERS.some((t) => tierScheduleId(t) === schedule.scheduleId)) otherSchedules.push(schedule.scheduleId);
    }
    for (const id of [...TIERS.map(tierScheduleId), ...otherSchedules]) {
      await client.schedule
        .getHandle(id)
        .pause('bench: the full sweep is measured alone')
        .catch((error: unknown) => {
          if (!(error instanceof ScheduleNotFoundError)) throw error;
        });
    }
    await startTierWorkflows(client, config);

    const bundlePath = join(ctx.tmpDir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await bundleWorkflows()).code);
    const child = forkChild<{ type: 'stop' }, WorkerMessage>('tracker-worker.ts', { ...env, BENCH_WORKFLOW_BUNDLE: bundlePath }, join(ctx.logDir, 'tracker-worker.log'));
    await child.next('ready', 120_000);
    const monitor = new ProcessMonitor(child.pid);
    try {
      // Full sweep.
      say(`tracker: full sweep of ${params.wallets} wallets (RPC_MAX_RPS ${env.RPC_MAX_RPS})`);
      const sweepPhase = await beginPhase(world, db, monitor, ctx.temporalPid);
      for (const tier of TIERS) await requestTierSweep(client, config, tier, FULL_SWEEP_REASON);
      const deadline = Date.now() + params.trackerMaxSweepSeconds * 1000;
      let last: Record<Tier, TierProgress> | null = null;
      let lastReport = Date.now();
      for (;;) {
        const all = await Promise.all(TIERS.map((t) => progress(t)));
        last = Object.fromEntries(TIERS.map((t, i) => [t, all[i]!])) as Record<Tier, TierProgress>;
        const done = all.every((p) => p.state === 'idle' && !p.pendingSweep && p.lastSweep?.reason === FULL_SWEEP_REASON);
        if (done || Date.now() > deadline) break;
        if (Date.now() - lastReport > 15_000) {
          lastReport = Date.now();
          const checked = all.reduce((s, p) => s + (p.current?.walletsChecked ?? p.lastSweep?.walletsChecked ?? 0), 0);
          say(`tracker: … ${checked} wallets checked after ${Math.round((Date.now() - sweepPhase.startedAt) / 1000)} s`);
        }
        await sleep(250);
      }
      const sweeps = TIERS.map((t) => last![t].lastSweep).filter((s) => s?.reason === FULL_SWEEP_REASON);
      const completed = sweeps.length === TIERS.length && TIERS.every((t) => last![t].state === 'idle');
      const endAt = completed ? Math.max(...sweeps.map((s) => Date.parse(s!.finishedAt!))) : Date.now();
      const sweepResult = await sweepPhase.end(endAt);
      const walletsChecked = completed
        ? sweeps.reduce((s, p) => s + p!.walletsChecked, 0)
        : TIERS.reduce((s, t) => s + (last![t].current?.walletsChecked ?? (last![t].lastSweep?.reason === FULL_SWEEP_REASON ? last![t].lastSweep!.walletsChecked : 0)), 0);
      const counts = await rowCounts(db.sql, new Date(sweepPhase.startedAt), new Date(endAt + 1000));
      const sweep = sweepFigures(params, sweepResult, {
        walletsChecked,
        completed,
        rows: counts,
        ownCounters: {
          batches: sweeps.reduce((s, p) => s + (p?.batchesDone ?? 0), 0),
          batchesFailed: sweeps.reduce((s, p) => s + (p?.batchesFailed ?? 0), 0),
          rpcCalls: sweeps.reduce((s, p) => s + (p?.rpcCalls ?? 0), 0),
          walletsChanged: sweeps.reduce((s, p) => s + (p?.walletsChanged ?? 0), 0),
          staleReads: sweeps.reduce((s, p) => s + (p?.staleReads ?? 0), 0),
          ...Object.fromEntries(sweeps.map((s) => [`${s!.sweepId.split('-')[0]}Seconds`, Math.round((s!.durationMs ?? 0) / 100) / 10])),
        },
      });
      say(`tracker: ${completed ? 'swept' : 'gave up after'} ${walletsChecked} wallets in ${sweep.measuredSeconds} s`);

      // Steady state: the schedules run.
      const steadyPhase = await beginPhase(world, db, monitor, ctx.temporalPid);
      for (const tier of TIERS) await client.schedule.getHandle(tierScheduleId(tier)).unpause('bench: steady state');
      say(`tracker: steady state for ${params.steadySeconds} s`);
      const seen = new Map<string, { tier: Tier; sweep: NonNullable<TierProgress['lastSweep']> }>();
      const steadyEnd = steadyPhase.startedAt + params.steadySeconds * 1000;
      while (Date.now() < steadyEnd) {
        await sleep(Math.min(1000, Math.max(0, steadyEnd - Date.now())));
        for (const tier of TIERS) {
          const s = (await progress(tier)).lastSweep;
          if (s && s.finishedAt && Date.parse(s.startedAt) >= steadyPhase.startedAt) seen.set(s.sweepId, { tier, sweep: s });
        }
      }
      for (const tier of TIERS) await client.schedule.getHandle(tierScheduleId(tier)).pause('bench: done');
      const until = Date.now();
      const steadyResult = await steadyPhase.end(until);
      const worker = monitor.summary();

      const steadySweeps: SteadySweep[] = [];
      for (const { tier, sweep: s } of [...seen.values()].sort((a, b) => a.sweep.startedAt.localeCompare(b.sweep.startedAt))) {
        if (Date.parse(s.finishedAt!) > until) continue;
        const [row] = await db.sql<{ batches: string; history: string }[]>`
          SELECT (SELECT count(*) FROM batch_checks WHERE batch_key LIKE ${`${s.sweepId}/%`})::text AS batches,
                 (SELECT count(*) FROM balance_changes bc JOIN wallets w ON w.id = bc.wallet_id
                   WHERE w.tier = ${tier} AND bc.observed_at BETWEEN ${new Date(Date.parse(s.startedAt) - 1000)} AND ${new Date(Date.parse(s.finishedAt!) + 1000)})::text AS history`;
        // Each changed wallet: its row updated and a history row; each batch: one batch_checks row.
        const rowsWritten = Number(row!.batches) + 2 * Number(row!.history);
        steadySweeps.push({
          tier,
          sweepId: s.sweepId,
          startedAt: s.startedAt,
          seconds: Math.round((s.durationMs ?? 0) / 100) / 10,
          walletsChecked: s.walletsChecked,
          walletsChanged: s.walletsChanged,
          batches: s.batchesDone,
          rpcCalls: s.rpcCalls,
          rowsWritten,
          bound: s.walletsChanged + s.batchesDone,
        });
      }
      const steadyRows = await rowCounts(db.sql, new Date(steadyPhase.startedAt), new Date(until));
      const walletChecks = await walletsCheckedBetween(db.sql, new Date(steadyPhase.startedAt), new Date(until));

      const history = await db.sql<{ address: string; lamports: string; slot: string; at: Date }[]>`
        SELECT w.address, bc.lamports::text AS lamports, bc.slot::text AS slot, bc.observed_at AS at
        FROM balance_changes bc JOIN wallets w ON w.id = bc.wallet_id
        WHERE bc.observed_at >= ${new Date(steadyPhase.startedAt)} AND bc.observed_at <= ${new Date(until)}`;
      const writes: StoredWrite[] = history.map((r) => ({ address: r.address, at: r.at.getTime(), lamports: BigInt(r.lamports), slot: Number(r.slot) }));
      const changes = world.sim.world.changesBetween(world.slotAt(steadyPhase.startedAt), world.slotAt(until));
      const freshness = measureFreshness({
        changes,
        writes,
        tierOf: (a) => world.tierOf.get(a),
        timeOfSlot: world.timeOfSlot,
        slotAt: world.slotAt,
        countBeforeSlot: world.slotAt(until - params.freshnessGraceSeconds * 1000),
        until,
      });
      const steady = steadyFigures(params, world.tierCounts, steadyResult, false, {
        walletChecks,
        rows: steadyRows,
        worldChanges: changes.length,
        freshness,
        sweeps: steadySweeps,
      });

      child.send({ type: 'stop' });
      await child.exited(60_000);
      monitor.stop();
      await waitIdle(db.sql);
      const pgStat = await tableWrites(db.url);
      const notes = [
        `RPC_MAX_RPS ${env.RPC_MAX_RPS}; SWEEP_CONCURRENCY ${config.sweepConcurrency}, BATCHES_PER_CHILD ${config.batchesPerChild}`,
        'schedules paused during the full sweep (one requested sweep per tier), the tiers’ unpaused for the steady state',
        ...(otherSchedules.length ? [`other schedules kept paused throughout (tiers stay as assigned): ${otherSchedules.join(', ')}`] : []),
        'the workflow bundle is built by the benchmark and loaded by the worker, so the worker’s peak memory leaves out bundling',
        'rows written: each changed wallet costs its wallet-row update and a history row; each batch one batch_checks row',
      ];
      if (!completed) notes.push(`full sweep not finished within ${params.trackerMaxSweepSeconds} s: figures extrapolated from its rate`);
      return {
        run: 'tracker',
        description: 'this service: Temporal schedules, tier workflows, batch children; getMultipleAccounts per 100 wallets, rows only on change',
        notes,
        tierCounts: world.tierCounts,
        sweep,
        steady,
        worker,
        pgStat,
      };
    } finally {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.send({ type: 'stop' });
        await child.exited(30_000);
      }
      monitor.stop();
    }
  } finally {
    await cleanTemporal(client).catch(() => {});
    await db.drop().catch(() => {});
    await world.stop();
  }
}

/** Rows the tracker wrote in a window: batch_checks and history inserts, and one wallet-row update per history row. */
async function rowCounts(sql: import('../src/db/client').Sql, from: Date, to: Date): Promise<{ inserted: number; updated: number; total: number }> {
  const [row] = await sql<{ batches: string; history: string }[]>`
    SELECT (SELECT count(*) FROM batch_checks WHERE checked_at BETWEEN ${from} AND ${to})::text AS batches,
           (SELECT count(*) FROM balance_changes WHERE observed_at BETWEEN ${from} AND ${to})::text AS history`;
  const batches = Number(row!.batches);
  const history = Number(row!.history);
  return { inserted: batches + history, updated: history, total: batches + 2 * history };
}

async function walletsCheckedBetween(sql: import('../src/db/client').Sql, from: Date, to: Date): Promise<number> {
  const [row] = await sql<{ n: string | null }[]>`
    SELECT sum(wallets)::text AS n FROM batch_checks WHERE checked_at BETWEEN ${from} AND ${to}`;
  return Number(row!.n ?? 0);
}

/** Leaves the dev server's namespace without this run's schedules and workflows. */
async function cleanTemporal(client: Client): Promise<void> {
  for await (const schedule of client.schedule.list()) await client.schedule.getHandle(schedule.scheduleId).delete().catch(() => {});
  for await (const execution of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('bench done').catch(() => {});
  }
}
