// Runs this service through Temporal: schedules, tier workflows, batch children, and the
// real workers in a process of their own. The schedules are paused while the full sweep (one
// requested sweep per tier, all wallets due) is measured alone, then run the steady state.

import { loadConfig } from '../src/config';
import type { Sql } from '../src/db/client';
import { requestTierSweep } from '../src/tier-control';
import { TIERS, type Tier, tierScheduleId, tierWorkflowId } from '../src/tiers';
import { progressQuery, type TierProgress } from '../workflows/definitions';
import type { BenchParams } from './args';
import { tableWrites, waitIdle } from './database';
import { worldFreshness } from './freshness';
import { beginPhase } from './phase';
import { type RunReport, type SteadySweep, steadyFigures, sweepFigures } from './results';
import { loadWallets, setSchedulesPaused, setUpPaused, startTrackerWorker, stopTrackerWorker, storedWrites, type TrackerContext, trackerEnv, trackerRps, withWorldAndDatabase } from './tracker-common';

const FULL_SWEEP_REASON = 'bench: full sweep';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runTracker(params: BenchParams, ctx: TrackerContext, say: (line: string) => void): Promise<RunReport> {
  const { client } = ctx;
  const progress = (tier: Tier): Promise<TierProgress> => client.workflow.getHandle(tierWorkflowId(tier)).query(progressQuery);
  return withWorldAndDatabase(params, 'tracker', client, async (world, db) => {
    await loadWallets(db.sql, world.addresses, (a) => world.tierOf.get(a)!);
    const env = trackerEnv(params, ctx, { databaseUrl: db.url, rpcUrl: world.sim.url, rpcMaxRps: trackerRps(params), intervalsMs: params.intervalsMs });
    const config = loadConfig(env);
    // Every schedule the service made is paused: the full sweep is measured alone. Only the
    // tiers' sweeps run in the steady state; other schedules (re-tiering by activity) stay
    // paused, so the tiers stay as assigned, as they do for the baselines.
    const otherSchedules = await setUpPaused(client, config);
    const worker = await startTrackerWorker(ctx, env, 'tracker-worker.log');
    const { monitor } = worker;
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
      await setSchedulesPaused(client, TIERS.map(tierScheduleId), false, 'bench: steady state');
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
      await setSchedulesPaused(client, TIERS.map(tierScheduleId), true, 'bench: done');
      const until = Date.now();
      const steadyResult = await steadyPhase.end(until);
      const workerFigures = monitor.summary();

      const steadySweeps: SteadySweep[] = [];
      for (const { tier, sweep: s } of [...seen.values()].sort((a, b) => a.sweep.startedAt.localeCompare(b.sweep.startedAt))) {
        if (Date.parse(s.finishedAt!) > until) continue;
        const [row] = await db.sql<{ batches: number; history: number }[]>`
          SELECT (SELECT count(*)::int FROM batch_checks WHERE batch_key LIKE ${`${s.sweepId}/%`}) AS batches,
                 (SELECT count(*)::int FROM balance_changes bc JOIN wallets w ON w.id = bc.wallet_id
                   WHERE w.tier = ${tier} AND bc.observed_at BETWEEN ${new Date(Date.parse(s.startedAt) - 1000)} AND ${new Date(Date.parse(s.finishedAt!) + 1000)}) AS history`;
        // Each changed wallet: its row updated and a history row; each batch: one batch_checks row.
        const rowsWritten = row!.batches + 2 * row!.history;
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

      const writes = await storedWrites(db.sql, steadyPhase.startedAt, until);
      const { changes, freshness } = worldFreshness(world, writes, {
        from: steadyPhase.startedAt,
        until,
        graceSeconds: params.freshnessGraceSeconds,
        groupOf: (a) => world.tierOf.get(a),
      });
      const steady = steadyFigures(params, world.tierCounts, steadyResult, false, {
        walletChecks,
        rows: steadyRows,
        worldChanges: changes,
        freshness,
        sweeps: steadySweeps,
      });

      await stopTrackerWorker(worker);
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
        worker: workerFigures,
        pgStat,
      };
    } finally {
      await stopTrackerWorker(worker, 30_000);
    }
  });
}

/** Rows the tracker wrote in a window: batch_checks and history inserts, and one wallet-row update per history row. */
async function rowCounts(sql: Sql, from: Date, to: Date): Promise<{ inserted: number; updated: number; total: number }> {
  const [row] = await sql<{ batches: number; history: number }[]>`
    SELECT (SELECT count(*)::int FROM batch_checks WHERE checked_at BETWEEN ${from} AND ${to}) AS batches,
           (SELECT count(*)::int FROM balance_changes WHERE observed_at BETWEEN ${from} AND ${to}) AS history`;
  const { batches, history } = row!;
  return { inserted: batches + history, updated: history, total: batches + 2 * history };
}

async function walletsCheckedBetween(sql: Sql, from: Date, to: Date): Promise<number> {
  const [row] = await sql<{ n: bigint | null }[]>`
    SELECT sum(wallets) AS n FROM batch_checks WHERE checked_at BETWEEN ${from} AND ${to}`;
  return Number(row!.n ?? 0);
}
