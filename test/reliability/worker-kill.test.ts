// Workers killed for real (SIGKILL of a `balance-tracker worker` process) in the middle of a
// sweep of 20,000 wallets: the sweep completes and the promises hold.
//   1. the only worker is killed; a new one is started;
//   2. two workers run; one is killed, the other finishes alone.
// A killed worker's in-flight activities come back after their heartbeat timeout
// (30 s), so each sweep takes a minute or two here. Each test has an engine and workers of
// its own; the second sweeps once with both workers before the kill, so that its promises
// hold across two sweeps.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requestTierSweep } from '../../src/tier-control';
import { sweepActivities } from '../helpers/activities';
import type { Engine } from '../helpers/engine';
import {
  brokenPromises,
  budgetBurst,
  checkPromises,
  dbNow,
  faultFigures,
  recordedBatches,
  recordFigures,
  tokenBucketOverdrafts,
  waitFor,
  watchSlots,
} from '../helpers/reliability';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';
import { startLowTierEngine } from '../helpers/worker-process-engine';

const WALLETS = 20_000;
const BATCHES = WALLETS / 100;
const RPS = 20;
const INTERVAL_MS = 20_000;
const SWEEP_TIMEOUT_MS = 480_000;

describe('a worker process killed mid-sweep', () => {
  let engine: Engine;
  let workers: WorkerProcess[] = [];
  let watcher: ReturnType<typeof watchSlots>;

  function startWorker(env: Record<string, string> = {}): WorkerProcess {
    const worker = spawnWorker({ ...engine.env, ...env });
    workers.push(worker);
    return worker;
  }
  beforeEach(async () => {
    workers = [];
    engine = await startLowTierEngine({ wallets: WALLETS, rps: RPS, intervalMs: INTERVAL_MS, seed: 'worker-kill' });
    watcher = watchSlots(engine.sql);
  }, 300_000);

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop(10_000)));
    await watcher?.stop();
    await engine?.stop();
  }, 120_000);

  it('SIGKILL of the only worker: a new worker completes the sweep, every wallet checked once, nothing lost', async () => {
    const first = startWorker();
    await first.ready();
    const sweepStart = await dbNow(engine.sql);
    await requestTierSweep(engine.client, engine.config, 'low', 'kill the only worker');

    const atKill = await waitFor('a fifth of the batches written', async () => {
      const n = await recordedBatches(engine.sql, 'low');
      return n >= BATCHES / 5 ? n : undefined;
    }, 300_000, 100);
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Killed mid-sweep: most batches were still to do.
    const afterKill = await recordedBatches(engine.sql, 'low');
    expect(afterKill).toBeLessThan(BATCHES);

    const second = startWorker();
    await second.ready();
    const progress = await engine.waitForSweeps('low', 1, SWEEP_TIMEOUT_MS);
    expect(progress.lastSweep).toMatchObject({ due: WALLETS, batchesTotal: BATCHES, batchesDone: BATCHES, batchesFailed: 0, walletsChecked: WALLETS });

    const report = await checkPromises(engine.sql, engine.sim, { tier: 'low', checkedSince: sweepStart.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ wallets: WALLETS, walletsChecked: WALLETS, walletReads: WALLETS, batches: BATCHES, historyRows: WALLETS });

    const stats = engine.sim.stats();
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), RPS, budgetBurst(RPS))).toEqual([]);
    const { extraAttempts } = await sweepActivities(engine.client, progress.lastSweep!);
    recordFigures(
      'worker killed mid-sweep',
      faultFigures(report, stats, { faultsInjected: { sigkill: 1 }, batchesWrittenAtKill: atKill, workers: 2, activityAttemptsRetried: extraAttempts }),
    );
  }, 600_000);

  it('two workers, one SIGKILLed mid-sweep: the other completes it and the promises hold across both sweeps', async () => {
    // One batch per activity: with ten, all 20 of the sweep's activities are in flight at once and
    // none finishes before the kill, so the killed worker is in no history (an activity's started
    // event names the worker of its last attempt only) and "both ran it" could not be seen.
    const second = startWorker({ BATCHES_PER_ACTIVITY: '1' });
    const third = startWorker({ BATCHES_PER_ACTIVITY: '1' });
    await Promise.all([second.ready(), third.ready()]);
    await requestTierSweep(engine.client, engine.config, 'low', 'before the kill');
    await engine.waitForSweeps('low', 1, SWEEP_TIMEOUT_MS);
    const firstSweepEnd = Date.now();
    // Every wallet is due again once half the interval has passed since its check.
    await sleep(Math.max(0, firstSweepEnd + INTERVAL_MS / 2 + 1_000 - Date.now()));
    const sweepStart = await dbNow(engine.sql);
    await requestTierSweep(engine.client, engine.config, 'low', 'kill one of two workers');

    const atKill = await waitFor('a fifth of the second sweep written', async () => {
      const n = await recordedBatches(engine.sql, 'low', sweepStart);
      return n >= BATCHES / 5 ? n : undefined;
    }, 300_000, 100);
    second.kill('SIGKILL');
    expect(await second.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await recordedBatches(engine.sql, 'low', sweepStart)).toBeLessThan(BATCHES);

    const progress = await engine.waitForSweeps('low', 2, SWEEP_TIMEOUT_MS);
    const sweep = progress.lastSweep!;
    expect(sweep).toMatchObject({ due: WALLETS, batchesTotal: BATCHES, batchesDone: BATCHES, batchesFailed: 0, walletsChecked: WALLETS });

    // Both workers ran the sweep's activities; the survivor alone finished it.
    const { byWorker, extraAttempts } = await sweepActivities(engine.client, sweep);
    const identities = [...byWorker.keys()];
    expect(identities.some((id) => id.startsWith(`${third.pid}@`))).toBe(true);
    expect(identities.some((id) => id.startsWith(`${second.pid}@`))).toBe(true);

    const report = await checkPromises(engine.sql, engine.sim, { tier: 'low', checkedSince: sweepStart.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ wallets: WALLETS, walletsChecked: WALLETS, walletReads: 2 * WALLETS, batches: 2 * BATCHES });
    // The world moved between the two reads: some history rows are real changes, not first observations.
    expect(report.historyRows).toBeGreaterThan(WALLETS);

    const slots = await watcher.stop();
    expect(slots.regressions).toEqual([]);
    expect(slots.samples).toBeGreaterThan(10);

    const stats = engine.sim.stats();
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), RPS, budgetBurst(RPS, 2))).toEqual([]);

    // The survivor shuts down cleanly on SIGTERM.
    expect(await third.stop()).toEqual({ code: 0, signal: null });
    recordFigures(
      'two workers, one killed mid-sweep (figures for both sweeps)',
      faultFigures(report, stats, {
        faultsInjected: { sigkill: 2 },
        batchesWrittenAtKill: atKill,
        activitiesByWorker: Object.fromEntries(byWorker),
        activityAttemptsRetried: extraAttempts,
        changesObserved: report.historyRows - WALLETS,
        slotSamples: slots.samples,
        slotRegressions: slots.regressions.length,
      }),
    );
  }, 600_000);
});
