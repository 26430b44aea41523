// The engine under a misbehaving provider, bad stored addresses, live progress, and continue-as-new.

import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { requestTierSweep } from '../src/tier-control';
import { tierWorkflowId } from '../src/tiers';
import { batchProgressQuery, requestSweepSignal } from '../workflows/definitions';
import { type Engine, startEngine } from './helpers/engine';
import { tokenBucketOverdrafts } from './helpers/reliability';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

async function expectEqualsChain(e: Engine, tier: string) {
  const rows = await e.sql<{ address: string; lamports: string | null; slot: bigint | null }[]>`
    SELECT address, lamports::text, slot FROM wallets WHERE tier = ${tier} AND invalid_reason IS NULL ORDER BY id`;
  const wrong = rows.filter((r) => r.lamports === null || r.slot === null || BigInt(r.lamports) !== (e.sim.world.balanceAt(r.address, r.slot) ?? 0n));
  expect(wrong).toEqual([]);
}

describe('a provider that rate-limits, fails and hangs', () => {
  it('still checks every wallet, waits at least Retry-After after a 429, and stays within RPC_MAX_RPS', async () => {
    const maxRps = 25;
    engine = await startEngine({
      simulator: { wallets: 6_000, seed: 11, knobs: { rateLimitRps: 20, retryAfterSeconds: 1, errorRate: 0.05, hangRate: 0.02, latencyMs: 20, jitterMs: 10 } },
      env: { RPC_MAX_RPS: String(maxRps), RPC_TIMEOUT: '1s', SWEEP_CONCURRENCY: '6', BATCHES_PER_CHILD: '5' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, 6_000) as Address[], 'high');
    e.sim.resetStats();
    await requestTierSweep(e.client, e.config, 'high', 'test');
    const progress = await e.waitForSweeps('high', 1, 180_000);
    expect(progress.lastSweep).toMatchObject({ due: 6_000, walletsChecked: 6_000, batchesDone: 60, batchesFailed: 0, rpcCalls: 60 });
    await expectEqualsChain(e, 'high');

    const stats = e.sim.stats();
    const outcomes = stats.methods.getMultipleAccounts!;
    expect(outcomes.ok).toBe(60);
    // The faults really happened, and were retried.
    expect(stats.outcomes.http_429 ?? 0).toBeGreaterThan(0);
    expect((stats.outcomes.http_5xx ?? 0) + (stats.outcomes.hung ?? 0)).toBeGreaterThan(0);

    // Every retry of a rate-limited request came at least Retry-After (1 s) later.
    const arrivals = stats.arrivals;
    for (const [i, a] of arrivals.entries()) {
      if (a.outcome !== 'http_429') continue;
      const retry = arrivals.slice(i + 1).find((b) => b.key === a.key);
      if (retry) expect(retry.at - a.at).toBeGreaterThanOrEqual(1_000 - 5);
    }
    // The budget is a token bucket, as Temporal enforces it: RPC_MAX_RPS sustained, with a burst of
    // one second's worth split over the dev server's 4 task-queue partitions. No request overdrew it.
    expect(tokenBucketOverdrafts(arrivals.map((a) => a.at), maxRps, 4 * Math.ceil(maxRps / 4))).toEqual([]);
    const seconds = (arrivals.at(-1)!.at - arrivals[0]!.at) / 1000;
    expect(arrivals.length).toBeLessThanOrEqual(maxRps * seconds + 4 * Math.ceil(maxRps / 4));
  });
});

describe('a provider that counts requests in strict one-second windows', () => {
  it('gets one getMultipleAccounts per batch and no burst of 429s when RPC_MAX_RPS is its limit', async () => {
    const rps = 20;
    engine = await startEngine({
      simulator: { wallets: 8_000, seed: 12, knobs: { rateLimitRps: rps, latencyMs: 20, jitterMs: 5 } },
      env: { RPC_MAX_RPS: String(rps), SWEEP_CONCURRENCY: '4', BATCHES_PER_CHILD: '10' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, 8_000) as Address[], 'high');
    e.sim.resetStats();
    // Temporal's token bucket starts full: without the pacer the first second's burst draws 429s.
    await requestTierSweep(e.client, e.config, 'high', 'test');
    const progress = await e.waitForSweeps('high', 1, 120_000);
    expect(progress.lastSweep).toMatchObject({ due: 8_000, walletsChecked: 8_000, batchesDone: 80, batchesFailed: 0, rpcCalls: 80 });
    // Calls leave 1.01 / 20 s apart; the simulator shares this process's event loop, so their
    // arrival times jitter by tens of ms and a stray 429 can remain. Without the pacer: ~19.
    const { ok, http_429: rateLimited = 0, ...other } = e.sim.stats().methods.getMultipleAccounts!;
    expect({ ok, other }).toEqual({ ok: 80, other: {} });
    expect(rateLimited).toBeLessThanOrEqual(4);
    await expectEqualsChain(e, 'high');
  });
});

describe('a malformed stored address', () => {
  it('is set aside with its reason while the other 99 of its batch are checked', async () => {
    engine = await startEngine({ simulator: { wallets: 99, seed: 5 }, env: { TIER_HIGH_INTERVAL: '2s' } });
    const e = engine;
    const good = e.sim.world.addresses(0, 99);
    // Written around the intake's validation, as a legacy import might have.
    await e.sql`INSERT INTO wallets (address, tier) VALUES (${good[0]!}, 'high'), ('0OIl-not-base58', 'high')`;
    await addWallets(e.sql, good.slice(1) as Address[], 'high');
    e.sim.resetStats();
    await requestTierSweep(e.client, e.config, 'high', 'test');
    const progress = await e.waitForSweeps('high', 1);
    expect(progress.lastSweep).toMatchObject({ due: 100, walletsChecked: 99, walletsSetAside: 1, batchesFailed: 0, rpcCalls: 1 });
    expect(e.sim.stats().methods).toEqual({ getMultipleAccounts: { ok: 1 } });
    const [bad] = await e.sql<{ invalid_reason: string }[]>`SELECT invalid_reason FROM wallets WHERE address = '0OIl-not-base58'`;
    expect(bad!.invalid_reason).toMatch(/invalid character '0'/);
    await expectEqualsChain(e, 'high');

    // Set aside means not retried: the next sweep does not see it.
    await new Promise((r) => setTimeout(r, 1_200));
    await requestTierSweep(e.client, e.config, 'high', 'test');
    expect((await e.waitForSweeps('high', 2)).lastSweep).toMatchObject({ due: 99, walletsSetAside: 0 });
  });
});

describe('progress', () => {
  it('shows a running sweep advancing, and each batch child answers its own progress', async () => {
    engine = await startEngine({
      simulator: { wallets: 2_000, seed: 9, knobs: { latencyMs: 250, jitterMs: 0 } },
      env: { BATCHES_PER_CHILD: '4', SWEEP_CONCURRENCY: '1' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, 2_000) as Address[], 'high');
    await requestTierSweep(e.client, e.config, 'high', 'test');
    const seen: number[] = [];
    let childProgress;
    for (let i = 0; i < 200; i++) {
      const progress = await e.progress('high').catch(() => null);
      if (progress?.current) {
        seen.push(progress.current.batchesDone);
        expect(progress.state).toBe('sweeping');
        expect(progress.current.batchesTotal).toBe(20);
        if (!childProgress) {
          const running = e.client.workflow.list({ query: `BalanceWorkflowKind = 'batch' AND ExecutionStatus = 'Running'` });
          for await (const child of running) {
            childProgress = await e.client.workflow.getHandle(child.workflowId).query(batchProgressQuery);
            break;
          }
        }
      }
      if (progress?.lastSweep) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const distinct = [...new Set(seen)];
    expect(distinct.length).toBeGreaterThanOrEqual(3);
    expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
    expect(childProgress).toMatchObject({ tier: 'high', batchesTotal: 4 });
  });
});

describe('continue-as-new', () => {
  it('keeps totals and a pending sweep', async () => {
    engine = await startEngine({ simulator: { wallets: 300, seed: 2, knobs: { latencyMs: 1_000, jitterMs: 0 } }, env: { TIER_MEDIUM_INTERVAL: '1s' } });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, 300) as Address[], 'medium');
    const handle = await e.client.workflow.start('tierWorkflow', {
      workflowId: tierWorkflowId('medium'),
      taskQueue: e.config.temporal.taskQueue,
      args: [{ tier: 'medium', sweepsPerRun: 1 }],
    });
    const firstRun = handle.firstExecutionRunId;
    await handle.signal(requestSweepSignal, { reason: 'first' });
    // Sent once the first sweep runs (two requests before it starts would fold into one): it
    // must survive the continue-as-new that follows that sweep.
    for (let i = 0; i < 400 && (await e.progress('medium').catch(() => null))?.state !== 'sweeping'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await handle.signal(requestSweepSignal, { reason: 'second' });
    const progress = await e.waitForSweeps('medium', 2);
    expect(progress.runs).toBeGreaterThanOrEqual(2);
    expect(progress.lastSweep?.reason).toBe('second');
    expect(progress.totals.walletsChecked).toBe(300 + progress.lastSweep!.walletsChecked);
    const described = await e.client.workflow.getHandle(tierWorkflowId('medium')).describe();
    expect(described.runId).not.toBe(firstRun);
  });
});
