// Runs this service through Temporal: schedules, tier workflows, batch children, and the
// real workers in a process of their own. The schedules are paused while the full sweep (one
// requested sweep per tier, all wallets due) is measured alone, then run the steady state.

import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config';
import type { Sql } from '../src/db/client';
import { requestTierSweep } from '../src/tier-control';
import { TIERS, type Tier, tierScheduleId, tierWorkflowId } from '../src/tiers';
import { progressQuery, type TierProgress } from '../workflows/definitions';
import type { BenchParams, TrackerRunName } from './args';
import { tableWrites, waitIdle } from './database';
import { deliveryLagFigures, startDeliveryReceiver, startWebhookDelivery, webhookEnv } from './delivery';
import { worldFreshness } from './freshness';
import { beginPhase } from './phase';
import type { BenchWorld } from './world';
import { round, type RunReport, type SteadySweep, steadyFigures, type SweepFigures, sweepFigures, type TokenFigures } from './results';
import { loadWallets, setSchedulesPaused, setUpPaused, startTrackerWorker, stopTrackerWorker, storedWrites, type TrackerContext, trackerEnv, trackerRps, withWorldAndDatabase } from './tracker-common';

const FULL_SWEEP_REASON = 'bench: full sweep';

/** The service's run: SOL only ('tracker'), or each wallet with its ATAs for --mints mints ('tracker-tokens'). */
export async function runTracker(run: TrackerRunName, params: BenchParams, ctx: TrackerContext, say: (line: string) => void): Promise<RunReport> {
  const { client } = ctx;
  const progress = (tier: Tier): Promise<TierProgress> => client.workflow.getHandle(tierWorkflowId(tier)).query(progressQuery);
  const mintCount = run === 'tracker-tokens' ? params.mints : 0;
  return withWorldAndDatabase(params, run, client, async (world, db) => {
    await loadWallets(db.sql, world.addresses, (a) => world.tierOf.get(a)!);
    // The application's side of the change feed: webhook delivery runs in the steady state.
    const receiver = await startDeliveryReceiver();
    const env = trackerEnv(params, ctx, {
      databaseUrl: db.url,
      rpcUrl: world.sim.url,
      rpcMaxRps: trackerRps(params),
      intervalsMs: params.intervalsMs,
      extra: { ...webhookEnv(receiver.url), ...(world.mints.length ? { TRACKED_MINTS: world.mints.join(',') } : {}) },
    });
    const config = loadConfig(env);
    // Every schedule the service made is paused: the full sweep is measured alone. Only the
    // tiers' sweeps run in the steady state; other schedules (re-tiering by activity) stay
    // paused, so the tiers stay as assigned, as they do for the baselines.
    const otherSchedules = await setUpPaused(client, config);
    const worker = await startTrackerWorker(ctx, env, `${run}-worker.log`);
    const { monitor } = worker;
    try {
      // Full sweep.
      say(`${run}: full sweep of ${params.wallets} wallets${mintCount ? ` and their ATAs for ${mintCount} mints` : ''} (RPC_MAX_RPS ${env.RPC_MAX_RPS})`);
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
          say(`${run}: … ${checked} wallets checked after ${Math.round((Date.now() - sweepPhase.startedAt) / 1000)} s`);
        }
        // Once a second: each poll is three queries, which Temporal and the worker answer on the
        // measured CPU (every 250 ms cost Temporal 0.5 s more in a 100,000-wallet sweep). The sweep's
        // end is its finishedAt, not when a poll sees it.
        await sleep(1000);
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
      say(`${run}: ${completed ? 'swept' : 'gave up after'} ${walletsChecked} wallets in ${sweep.measuredSeconds} s`);

      // Steady state: the schedules run, and every change is delivered by webhook. The full
      // sweep's first observations (every wallet's) are left out: delivery starts at the feed's head.
      await db.sql`UPDATE webhook_cursor SET position = (SELECT coalesce(max(position), 0) FROM change_feed)`;
      await startWebhookDelivery(client, config);
      const steadyPhase = await beginPhase(world, db, monitor, ctx.temporalPid);
      await setSchedulesPaused(client, TIERS.map(tierScheduleId), false, 'bench: steady state');
      say(`${run}: steady state for ${params.steadySeconds} s`);
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
      const delivery = { ...(await deliveryLagFigures(db.sql, new Date(steadyPhase.startedAt), new Date(until))), received: receiver.received() };
      const steadyResult = await steadyPhase.end(until);
      const workerFigures = monitor.summary();

      const steadySweeps: SteadySweep[] = [];
      for (const { tier, sweep: s } of [...seen.values()].sort((a, b) => a.sweep.startedAt.localeCompare(b.sweep.startedAt))) {
        if (Date.parse(s.finishedAt!) > until) continue;
        const [from, to] = [new Date(Date.parse(s.startedAt) - 1000), new Date(Date.parse(s.finishedAt!) + 1000)];
        const [row] = await db.sql<{ batches: number; history: number; tokenHistory: number }[]>`
          SELECT (SELECT count(*)::int FROM batch_checks WHERE batch_key LIKE ${`${s.sweepId}/%`}) AS batches,
                 (SELECT count(*)::int FROM balance_changes bc JOIN wallets w ON w.id = bc.wallet_id
                   WHERE w.tier = ${tier} AND bc.observed_at BETWEEN ${from} AND ${to}) AS history,
                 (SELECT count(*)::int FROM token_changes tc JOIN wallets w ON w.id = tc.wallet_id
                   WHERE w.tier = ${tier} AND tc.observed_at BETWEEN ${from} AND ${to}) AS token_history`;
        // Each changed wallet or (wallet, mint): its row updated and a history row; each batch: one batch_checks row.
        const rowsWritten = row!.batches + 2 * (row!.history + row!.tokenHistory);
        steadySweeps.push({
          tier,
          sweepId: s.sweepId,
          startedAt: s.startedAt,
          seconds: Math.round((s.durationMs ?? 0) / 100) / 10,
          walletsChecked: s.walletsChecked,
          walletsChanged: s.walletsChanged,
          batches: s.batchesDone,
          rpcCalls: s.rpcCalls,
          tokensChanged: row!.tokenHistory,
          rowsWritten,
          bound: s.walletsChanged + row!.tokenHistory + s.batchesDone,
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
      const tokens = mintCount ? await tokenFigures(db.sql, params, world, mintCount, sweep, { from: steadyPhase.startedAt, until }) : undefined;
      const notes = [
        `RPC_MAX_RPS ${env.RPC_MAX_RPS}; SWEEP_CONCURRENCY ${config.sweepConcurrency}, BATCHES_PER_CHILD ${config.batchesPerChild}`,
        ...(mintCount ? [`TRACKED_MINTS: ${mintCount} mints of the simulator (SPL Token and Token-2022 in turn); each wallet read with its ${mintCount} ATAs in the same calls`] : []),
        'schedules paused during the full sweep (one requested sweep per tier), the tiers’ unpaused for the steady state',
        ...(otherSchedules.length ? [`other schedules kept paused throughout (tiers stay as assigned): ${otherSchedules.join(', ')}`] : []),
        'the workflow bundle is built by the benchmark and loaded by the worker, so the worker’s peak memory leaves out bundling',
        'rows written: each changed wallet or (wallet, mint) costs its balance-row write and a history row; each batch one batch_checks row',
      ];
      if (!completed) notes.push(`full sweep not finished within ${params.trackerMaxSweepSeconds} s: figures extrapolated from its rate`);
      return {
        run,
        description: mintCount
          ? `this service tracking ${mintCount} mints: each wallet and its ATAs in the same getMultipleAccounts calls, 100 accounts a call, rows only on change`
          : 'this service: Temporal schedules, tier workflows, batch children; getMultipleAccounts per 100 wallets, rows only on change',
        ...(tokens ? { tokens } : {}),
        delivery,
        notes,
        tierCounts: world.tierCounts,
        sweep,
        steady,
        worker: workerFigures,
        pgStat,
      };
    } finally {
      await stopTrackerWorker(worker, 30_000);
      await receiver.stop();
    }
  }, mintCount);
}

/** Rows the tracker wrote in a window: batch_checks and history inserts, and one balance-row write per history row (SOL and tokens). */
async function rowCounts(sql: Sql, from: Date, to: Date): Promise<{ inserted: number; updated: number; total: number }> {
  const [row] = await sql<{ batches: number; history: number }[]>`
    SELECT (SELECT count(*)::int FROM batch_checks WHERE checked_at BETWEEN ${from} AND ${to}) AS batches,
           (SELECT count(*)::int FROM balance_changes WHERE observed_at BETWEEN ${from} AND ${to})
         + (SELECT count(*)::int FROM token_changes WHERE observed_at BETWEEN ${from} AND ${to}) AS history`;
  const { batches, history } = row!;
  return { inserted: batches + history, updated: history, total: batches + 2 * history };
}

/** The token run's own figures: calls against ceil(N × (1 + M) / 100), the accounts' share of the ceiling, token changes seen vs made. */
async function tokenFigures(sql: Sql, params: BenchParams, world: BenchWorld, mints: number, sweep: SweepFigures, steady: { from: number; until: number }): Promise<TokenFigures> {
  const accounts = params.wallets * (1 + mints);
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM token_changes WHERE observed_at BETWEEN ${new Date(steady.from)} AND ${new Date(steady.until)}`;
  const perSecond = sweep.seconds > 0 ? accounts / sweep.seconds : 0;
  return {
    mints,
    accountsPerSweep: accounts,
    expectedCalls: Math.ceil(accounts / 100),
    accountsPerSecond: round(perSecond, 1),
    accountShare: params.rps > 0 ? round(perSecond / (100 * params.rps), 4) : null,
    steadyTokenChanges: row!.n,
    worldTokenChanges: world.sim.world.tokenChangesBetween(world.slotAt(steady.from), world.slotAt(steady.until)).length,
  };
}

async function walletsCheckedBetween(sql: Sql, from: Date, to: Date): Promise<number> {
  const [row] = await sql<{ n: bigint | null }[]>`
    SELECT sum(wallets) AS n FROM batch_checks WHERE checked_at BETWEEN ${from} AND ${to}`;
  return Number(row!.n ?? 0);
}
