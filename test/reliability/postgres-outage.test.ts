// Postgres going away mid-sweep for longer than the batch activity's start-to-close timeout
// (1 minute), on a private Postgres server (never the machine's shared one):
//   1. stopped (pg_ctl stop -m fast): sessions end, connections are refused, every attempt
//      fails fast and Temporal backs off up to its 1-minute cap;
//   2. frozen (SIGSTOP): connections hang, attempts run into the activity timeout and are
//      retried while the hung ones are still waiting, and all of them wake up at once.
// Both times the sweep completes and the promises hold. Each test has an engine and a
// database of its own on the shared private server; the frozen test sweeps once first, so its
// outage hits wallets that already hold balances.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Address } from '../../src/address';
import { addWallets } from '../../src/db/wallets';
import { requestTierSweep } from '../../src/tier-control';
import { type Engine, startEngine } from '../helpers/engine';
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/private-postgres';
import {
  brokenPromises,
  budgetBurst,
  checkPromises,
  dbNow,
  faultFigures,
  recordedBatches,
  recordFigures,
  tokenBucketOverdrafts,
  unhealthyWorkflows,
  waitFor,
  watchSlots,
} from '../helpers/reliability';

const WALLETS = 5_000;
const BATCHES = WALLETS / 100;
const RPS = 10;
const INTERVAL_MS = 20_000;
/** Longer than the batch activity's start-to-close timeout (1 minute). */
const OUTAGE_MS = 65_000;

describe('Postgres down mid-sweep for longer than an activity timeout', () => {
  let pg: PrivatePostgres;
  let engine: Engine;
  let watcher: ReturnType<typeof watchSlots>;
  let lastSweepEnd = 0;

  /** Starts a sweep and returns once a fifth of its batches are written. */
  async function sweepUntilAFifth(reason: string): Promise<{ start: Date; written: number }> {
    await sleep(Math.max(0, lastSweepEnd + INTERVAL_MS / 2 + 1_000 - Date.now()));
    const start = await dbNow(engine.sql);
    await requestTierSweep(engine.client, engine.config, 'high', reason);
    const written = await waitFor('a fifth of the batches written', async () => {
      const n = await recordedBatches(engine.sql, 'high', start);
      return n >= BATCHES / 5 ? n : undefined;
    }, 120_000, 100);
    return { start, written };
  }

  /** Queries progress through the outage: the tier workflow answers every time and loses nothing. */
  async function watchThroughOutage(): Promise<number> {
    const until = Date.now() + OUTAGE_MS;
    let answers = 0;
    while (Date.now() < until) {
      const progress = await engine.progress('high');
      expect(progress).toMatchObject({ state: 'sweeping', current: { due: WALLETS, batchesFailed: 0 } });
      answers++;
      await sleep(5_000);
    }
    return answers;
  }

  beforeAll(async () => {
    pg = await startPrivatePostgres();
  }, 300_000);

  beforeEach(async () => {
    lastSweepEnd = 0;
    engine = await startEngine({
      postgresAdminUrl: pg.adminUrl,
      simulator: { wallets: WALLETS, seed: 'postgres-outage', slotMs: 200, knobs: { latencyMs: 50, jitterMs: 20 } },
      env: { RPC_MAX_RPS: String(RPS), SWEEP_CONCURRENCY: '3', BATCHES_PER_CHILD: '5', TIER_HIGH_INTERVAL: `${INTERVAL_MS / 1000}s` },
    });
    await addWallets(engine.sql, engine.sim.world.addresses(0, WALLETS) as Address[], 'high');
    engine.sim.resetStats();
    watcher = watchSlots(engine.sql);
  }, 300_000);

  afterEach(async () => {
    await pg?.thaw().catch(() => undefined);
    await pg?.start().catch(() => undefined);
    await watcher?.stop();
    await engine?.stop();
  }, 120_000);

  afterAll(async () => {
    await pg?.remove();
  }, 120_000);

  it('stopped (connections refused) for 65 s: activities back off, the sweep completes, every wallet checked once', async () => {
    const { start, written } = await sweepUntilAFifth('postgres stopped');
    await pg.stop();
    const answers = await watchThroughOutage();
    await pg.start();

    const progress = await engine.waitForSweeps('high', 1, 300_000);
    lastSweepEnd = Date.now();
    expect(progress.lastSweep).toMatchObject({ due: WALLETS, batchesDone: BATCHES, batchesFailed: 0, walletsChecked: WALLETS });
    const report = await checkPromises(engine.sql, engine.sim, { tier: 'high', checkedSince: start.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ wallets: WALLETS, walletsChecked: WALLETS, walletReads: WALLETS, batches: BATCHES, historyRows: WALLETS });
    expect(await unhealthyWorkflows(engine.client, engine.config.temporal.taskQueue)).toEqual([]);
    const stats = engine.sim.stats();
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), RPS, budgetBurst(RPS))).toEqual([]);
    recordFigures(
      'Postgres stopped mid-sweep',
      faultFigures(report, stats, { faultsInjected: { postgresStoppedMs: OUTAGE_MS }, batchesWrittenBeforeOutage: written, progressAnsweredDuringOutage: answers }),
    );
  }, 600_000);

  it('frozen (connections hang) for 65 s: timed-out attempts are retried, the hung ones wake up, nothing is written twice', async () => {
    await requestTierSweep(engine.client, engine.config, 'high', 'before the freeze');
    await engine.waitForSweeps('high', 1, 120_000);
    lastSweepEnd = Date.now();
    const { start, written } = await sweepUntilAFifth('postgres frozen');
    await pg.freeze();
    const answers = await watchThroughOutage();
    await pg.thaw();

    const progress = await engine.waitForSweeps('high', 2, 300_000);
    expect(progress.lastSweep).toMatchObject({ due: WALLETS, batchesDone: BATCHES, batchesFailed: 0, walletsChecked: WALLETS });
    const report = await checkPromises(engine.sql, engine.sim, { tier: 'high', checkedSince: start.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ wallets: WALLETS, walletsChecked: WALLETS, walletReads: 2 * WALLETS, batches: 2 * BATCHES });
    expect(report.historyRows).toBeGreaterThan(WALLETS);

    const slots = await watcher.stop();
    expect(slots.regressions).toEqual([]);
    expect(await unhealthyWorkflows(engine.client, engine.config.temporal.taskQueue)).toEqual([]);
    const stats = engine.sim.stats();
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), RPS, budgetBurst(RPS))).toEqual([]);
    recordFigures(
      'Postgres frozen mid-sweep (figures for both sweeps)',
      faultFigures(report, stats, {
        faultsInjected: { postgresFrozenMs: OUTAGE_MS },
        batchesWrittenBeforeOutage: written,
        progressAnsweredDuringOutage: answers,
        changesObserved: report.historyRows - WALLETS,
        slotSamples: slots.samples,
        slotRegressions: slots.regressions.length,
      }),
    );
  }, 600_000);
});
