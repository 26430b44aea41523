// The RPC provider misbehaving for real (the simulator's knobs): an outage where every request
// fails or hangs, a storm of 429s, and answers that lie. Retries back off, the budget holds,
// the tier workflows stay healthy, and nothing untrue reaches Postgres.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '../../src/address';
import { addWallets } from '../../src/db/wallets';
import { requestTierSweep } from '../../src/tier-control';
import { type Engine, startEngine } from '../helpers/engine';
import {
  brokenPromises,
  budgetBurst,
  checkPromises,
  dbNow,
  earlyRetries,
  faultFigures,
  recordedBatches,
  recordFigures,
  tokenBucketOverdrafts,
  unhealthyWorkflows,
  waitFor,
  watchSlots,
} from '../helpers/reliability';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
}, 120_000);


describe('an RPC outage', () => {
  it('every request failing or hanging for 75 s: retries back off, the tier stays healthy, checking resumes after', async () => {
    const wallets = 3_000;
    const rps = 20;
    const outageMs = 75_000;
    engine = await startEngine({
      simulator: { wallets, seed: 'rpc-outage', slotMs: 200, knobs: { latencyMs: 20 } },
      env: { RPC_MAX_RPS: String(rps), RPC_TIMEOUT: '1s', SWEEP_CONCURRENCY: '3', BATCHES_PER_CHILD: '3', TIER_HIGH_INTERVAL: '20s' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, wallets) as Address[], 'high');
    // Slow answers, so the outage begins with most of the sweep still to do.
    e.sim.setKnobs({ latencyMs: 400 });
    e.sim.resetStats();
    const start = await dbNow(e.sql);
    await requestTierSweep(e.client, e.config, 'high', 'outage');
    await waitFor('a few batches written', async () => ((await recordedBatches(e.sql, 'high')) >= 3 ? true : undefined), 120_000, 100);

    e.sim.setKnobs({ errorRate: 0.5, hangRate: 0.5, latencyMs: 20 });
    const outageStart = Date.now();
    const writtenAtStart = await recordedBatches(e.sql, 'high');
    let answers = 0;
    while (Date.now() - outageStart < outageMs) {
      // The tier workflow answers throughout and counts nothing as failed: it waits the outage out.
      const progress = await e.progress('high');
      expect(progress).toMatchObject({ state: 'sweeping', current: { batchesFailed: 0 } });
      answers++;
      await sleep(5_000);
    }
    const outageEnd = Date.now();
    const writtenDuringOutage = (await recordedBatches(e.sql, 'high')) - writtenAtStart;
    e.sim.setKnobs({ errorRate: 0, hangRate: 0 });

    // Backoff: the request rate in the outage's last 30 s is a fraction of its first 15 s.
    const during = e.sim.stats().arrivals.filter((a) => a.at >= outageStart && a.at < outageEnd);
    const rate = (from: number, to: number) => during.filter((a) => a.at >= outageStart + from && a.at < outageStart + to).length / ((to - from) / 1000);
    const early = rate(0, 15_000);
    const late = rate(outageMs - 30_000, outageMs);
    expect(during.every((a) => a.outcome === 'http_5xx' || a.outcome === 'hung')).toBe(true);
    expect(early).toBeGreaterThan(0);
    expect(late).toBeLessThan(early / 3);

    const progress = await e.waitForSweeps('high', 1, 300_000);
    expect(progress.lastSweep).toMatchObject({ due: wallets, batchesDone: wallets / 100, batchesFailed: 0, walletsChecked: wallets });
    const report = await checkPromises(e.sql, e.sim, { tier: 'high', checkedSince: start.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ walletsChecked: wallets, walletReads: wallets, historyRows: wallets });
    expect(await unhealthyWorkflows(e.client, e.config.temporal.taskQueue)).toEqual([]);
    const stats = e.sim.stats();
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), rps, budgetBurst(rps))).toEqual([]);
    recordFigures(
      'RPC outage (every request fails or hangs)',
      faultFigures(report, stats, {
        faultsInjected: { outageMs, failedOrHungRequests: during.length },
        requestsPerSecondFirst15s: Number(early.toFixed(2)),
        requestsPerSecondLast30s: Number(late.toFixed(2)),
        batchesWrittenDuringOutage: writtenDuringOutage,
        progressAnsweredDuringOutage: answers,
      }),
    );
  }, 600_000);
});

describe('a 429 storm', () => {
  it('retries wait for Retry-After, the request rate stays within RPC_MAX_RPS, every wallet is checked', async () => {
    const wallets = 4_000;
    const rps = 20;
    const retryAfterSeconds = 2;
    engine = await startEngine({
      // The provider admits 4 requests per second and tells the rest to come back in 2 s.
      simulator: { wallets, seed: 'storm', slotMs: 200, knobs: { rateLimitRps: 4, retryAfterSeconds, latencyMs: 20 } },
      env: { RPC_MAX_RPS: String(rps), SWEEP_CONCURRENCY: '5', BATCHES_PER_CHILD: '4', TIER_HIGH_INTERVAL: '20s' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, wallets) as Address[], 'high');
    e.sim.resetStats();
    const start = await dbNow(e.sql);
    await requestTierSweep(e.client, e.config, 'high', '429 storm');
    const progress = await e.waitForSweeps('high', 1, 400_000);
    expect(progress.lastSweep).toMatchObject({ due: wallets, batchesDone: wallets / 100, batchesFailed: 0, walletsChecked: wallets });

    const stats = e.sim.stats();
    const limited = stats.httpOutcomes.http_429 ?? 0;
    // A storm: a good share of all requests were turned away.
    expect(limited).toBeGreaterThan(stats.httpRequests / 4);
    expect(earlyRetries(stats.arrivals, retryAfterSeconds * 1000)).toEqual([]);
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), rps, budgetBurst(rps))).toEqual([]);

    const report = await checkPromises(e.sql, e.sim, { tier: 'high', checkedSince: start.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ walletsChecked: wallets, walletReads: wallets });
    expect(await unhealthyWorkflows(e.client, e.config.temporal.taskQueue)).toEqual([]);
    recordFigures('429 storm', faultFigures(report, stats, { faultsInjected: { http429: limited }, retryAfterSeconds, peakRequestsPerSecond: stats.peakRequestsPerSecond }));
  }, 600_000);
});

describe('answers that lie', () => {
  it('wrong counts, malformed bodies, negative or string lamports and stale slots are rejected and retried; nothing untrue is written', async () => {
    const wallets = 2_000;
    const rps = 30;
    engine = await startEngine({
      simulator: { wallets, seed: 'lies', slotMs: 200, busyFraction: 0.1, busyChangeRate: 0.02 },
      env: { RPC_MAX_RPS: String(rps), SWEEP_CONCURRENCY: '3', BATCHES_PER_CHILD: '3', TIER_HIGH_INTERVAL: '4s' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, wallets) as Address[], 'high');
    const watcher = watchSlots(e.sql, 1_000);

    // An honest first sweep stores a slot for every wallet; the liars answer the next three.
    await requestTierSweep(e.client, e.config, 'high', 'honest');
    await e.waitForSweeps('high', 1, 120_000);
    e.sim.resetStats();
    e.sim.setKnobs({ malformedRate: 0.1, wrongCountRate: 0.1, negativeLamportsRate: 0.1, stringLamportsRate: 0.1, staleSlotRate: 0.15 });
    const start = await dbNow(e.sql);
    for (let sweep = 2; sweep <= 4; sweep++) {
      await sleep(2_500);
      await requestTierSweep(e.client, e.config, 'high', `lies ${sweep}`);
      const progress = await e.waitForSweeps('high', sweep, 300_000);
      expect(progress.lastSweep).toMatchObject({ due: wallets, batchesDone: wallets / 100, batchesFailed: 0, walletsChecked: wallets, staleReads: 0 });
    }

    const stats = e.sim.stats();
    // Lies were told (each kind often enough to matter) and every one was refused: a batch is
    // recorded only from an honest answer, one per batch.
    expect(stats.httpOutcomes.lie ?? 0).toBeGreaterThan(10);
    expect(stats.httpOutcomes.malformed ?? 0).toBeGreaterThan(0);
    expect(stats.httpOutcomes.ok).toBe((3 * wallets) / 100);

    const report = await checkPromises(e.sql, e.sim, { tier: 'high', checkedSince: start.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ walletsChecked: wallets, walletReads: 4 * wallets });
    expect(report.historyRows).toBeGreaterThan(wallets);
    // No batch of the lying sweeps was recorded at a slot older than one its wallets already had.
    const [stale] = await e.sql<{ n: bigint }[]>`
      SELECT count(*) AS n FROM batch_checks b
      WHERE b.read_at >= ${start} AND EXISTS (
        SELECT 1 FROM batch_checks a WHERE a.read_at < b.read_at AND a.slot > b.slot AND a.from_id <= b.to_id AND a.to_id >= b.from_id)`;
    expect(stale!.n).toBe(0n);
    const slots = await watcher.stop();
    expect(slots.regressions).toEqual([]);
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), rps, budgetBurst(rps))).toEqual([]);
    expect(await unhealthyWorkflows(e.client, e.config.temporal.taskQueue)).toEqual([]);
    recordFigures(
      'answers that lie (3 sweeps)',
      faultFigures(report, stats, {
        faultsInjected: { lies: stats.httpOutcomes.lie ?? 0, malformedBodies: stats.httpOutcomes.malformed ?? 0 },
        // The counters were reset after the honest first sweep.
        retries: stats.httpRequests - (3 * wallets) / 100,
      }),
    );
  }, 600_000);
});
