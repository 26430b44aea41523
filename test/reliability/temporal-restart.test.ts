// The Temporal server crashes mid-sweep (SIGKILL of a private dev server's process group)
// and comes back on the same SQLite file and port: the workers reconnect, the same tier
// workflow run resumes its sweep, and the promises hold.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../src/address';
import { addWallets } from '../../src/db/wallets';
import { type DevServer, startDevServer } from '../../tools/stack/devserver';
import { requestTierSweep } from '../../src/tier-control';
import { tierWorkflowId } from '../../src/tiers';
import { type Engine, startEngine } from '../helpers/engine';
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
const DOWN_MS = 10_000;

describe('the Temporal server restarted mid-sweep', () => {
  let dir: string;
  let server: DevServer;
  let engine: Engine;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bt-temporal-restart-'));
    server = await startDevServer({ port: 0, headless: true, dbFile: join(dir, 'temporal.sqlite') });
    engine = await startEngine({
      temporalAddress: server.address,
      simulator: { wallets: WALLETS, seed: 'temporal-restart', slotMs: 200, knobs: { latencyMs: 50, jitterMs: 20 } },
      env: { RPC_MAX_RPS: String(RPS), SWEEP_CONCURRENCY: '3', BATCHES_PER_CHILD: '5', TIER_HIGH_INTERVAL: '20s' },
    });
    await addWallets(engine.sql, engine.sim.world.addresses(0, WALLETS) as Address[], 'high');
    engine.sim.resetStats();
  }, 300_000);

  afterAll(async () => {
    await engine?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('crashes and comes back on the same data file: the same workflow run completes the sweep, nothing lost or doubled', async () => {
    const watcher = watchSlots(engine.sql);
    const start = await dbNow(engine.sql);
    await requestTierSweep(engine.client, engine.config, 'high', 'temporal restart');
    const written = await waitFor('a fifth of the batches written', async () => {
      const n = await recordedBatches(engine.sql, 'high');
      return n >= BATCHES / 5 ? n : undefined;
    }, 120_000, 100);
    const before = await engine.client.workflow.getHandle(tierWorkflowId('high')).describe();
    const sweepBefore = (await engine.progress('high')).current?.sweepId;
    expect(sweepBefore).toBeDefined();

    // A crash, not a clean shutdown: the whole process group gets SIGKILL.
    process.kill(-server.pid, 'SIGKILL');
    await server.stop();
    await sleep(DOWN_MS);
    const port = Number(server.address.split(':').pop());
    server = await startDevServer({ port, headless: true, dbFile: join(dir, 'temporal.sqlite') });

    const progress = await engine.waitForSweeps('high', 1, 300_000);
    expect(progress.lastSweep).toMatchObject({ due: WALLETS, batchesDone: BATCHES, batchesFailed: 0, walletsChecked: WALLETS });
    // Resumed, not started over: the same run of the tier workflow finished the sweep it had begun.
    const after = await engine.client.workflow.getHandle(tierWorkflowId('high')).describe();
    expect(after.runId).toBe(before.runId);
    expect(after.status.name).toBe('RUNNING');
    expect(progress.lastSweep!.sweepId).toBe(sweepBefore);
    expect(progress.totals.sweeps).toBe(1);

    const report = await checkPromises(engine.sql, engine.sim, { tier: 'high', checkedSince: start.toISOString() });
    expect(brokenPromises(report)).toEqual({});
    expect(report).toMatchObject({ wallets: WALLETS, walletsChecked: WALLETS, walletReads: WALLETS, batches: BATCHES, historyRows: WALLETS });
    const slots = await watcher.stop();
    expect(slots.regressions).toEqual([]);
    expect(await unhealthyWorkflows(engine.client, engine.config.temporal.taskQueue)).toEqual([]);
    const stats = engine.sim.stats();
    expect(tokenBucketOverdrafts(stats.arrivals.map((a) => a.at), RPS, budgetBurst(RPS))).toEqual([]);
    recordFigures(
      'Temporal server crashed and restarted mid-sweep',
      faultFigures(report, stats, { faultsInjected: { temporalSigkill: 1, temporalDownMs: DOWN_MS }, batchesWrittenBeforeCrash: written }),
    );
  }, 600_000);
});
