// A sweep of 10,000,000 wallets against activity test doubles: every run of the tier
// workflow stays far inside Temporal's history limits (51,200 events, 50 MB; 2 MB per
// payload), because the plan comes a page of child ranges at a time and the sweep continues
// as new between pages. Children of 2,000 wallets (the defaults: 20 batches of 100), so
// 5,000 children; to keep the test quick, each child's planBatches finds nothing due
// except every 250th child, which finds two batches of 100.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestSweepSignal, type TierProgress } from '../../workflows/definitions';
import { PLAN_PAGE_SIZE } from '../../workflows/tier';
import { checked, FakeTier, type Harness, runHistories, startHarness, waitForProgress } from './harness';

const WALLETS = 10_000_000;
const CHILD = 2_000;
const CHILDREN = WALLETS / CHILD;
const WITH_BATCHES = 250;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('a sweep of 10,000,000 wallets', () => {
  it('runs every child in runs far inside the history limits, and progress follows it across continue-as-new', { timeout: 900_000 }, async () => {
    const fake = new FakeTier({ wallets: WALLETS, childSize: CHILD, sweepConcurrency: 64 });
    fake.batchesOf = ({ fromId }) =>
      ((fromId - 1) / CHILD) % WITH_BATCHES === 0
        ? [
            { fromId, toId: fromId + 99, wallets: 100 },
            { fromId: fromId + 100, toId: fromId + 199, wallets: 100 },
          ]
        : [];
    fake.checkBatch = async ({ fromId, toId }) => checked(toId - fromId + 1, 1);
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      await handle.signal(requestSweepSignal, { reason: 'big' });
      // While it runs: one sweep throughout, answered by whichever run is current.
      const seen: { runs: number; sweepId: string; childrenDone: number }[] = [];
      const done = await waitForProgress(
        h,
        handle.workflowId,
        (p: TierProgress) => {
          if (p.current) seen.push({ runs: p.runs, sweepId: p.current.sweepId, childrenDone: p.current.childrenDone });
          return p.totals.sweeps === 1;
        },
        840_000,
      );
      const runs = await runHistories(h, handle.workflowId);
      const largest = runs.reduce((a, b) => (b.events > a.events ? b : a));
      console.log(`10M-wallet sweep: ${runs.length} runs; largest ${largest.events} events, ${Math.round(largest.bytes / 1024)} KiB; all: ${runs.map((r) => r.events).join(', ')} events`);
      expect(runs.length).toBeGreaterThan(1);
      // Far inside the limits: under a third of the event limit, a tenth of the size limit.
      for (const run of runs) {
        expect(run.events).toBeLessThan(51_200 / 3);
        expect(run.bytes).toBeLessThan(5 * 1024 * 1024);
      }
      const sweep = done.lastSweep!;
      const withBatches = CHILDREN / WITH_BATCHES;
      expect(sweep).toMatchObject({
        due: WALLETS,
        childrenTotal: CHILDREN,
        childrenDone: CHILDREN,
        batchesDone: 2 * withBatches,
        batchesFailed: 0,
        batchesTotal: 2 * withBatches,
        walletsChecked: 200 * withBatches,
        walletsChanged: 2 * withBatches,
        error: null,
      });
      expect(fake.calls.planBatches).toBe(CHILDREN);
      expect(fake.calls.planSweepPage).toBe(CHILDREN / PLAN_PAGE_SIZE - 1);
      expect(new Set(seen.map((s) => s.sweepId)).size).toBe(1);
      expect(new Set(seen.map((s) => s.runs)).size).toBeGreaterThan(1);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.childrenDone).toBeGreaterThanOrEqual(seen[i - 1]!.childrenDone);

      await handle.terminate();
    });
  });
});
