// The engine under a misbehaving provider, bad stored addresses, live progress, and continue-as-new.

import { setTimeout as sleep } from 'node:timers/promises';
import { tsToDate } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets, moveWallets } from '../src/db/wallets';
import { ensureSchedules } from '../src/schedules';
import { requestTierSweep } from '../src/tier-control';
import { tierWorkflowId } from '../src/tiers';
import { batchProgressQuery, batchWorkflowId, requestSweepSignal } from '../workflows/definitions';
import { type Engine, startEngine } from './helpers/engine';
import { budgetBurst, tokenBucketOverdrafts } from './helpers/reliability';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

async function expectEqualsChain(e: Engine, tier: string) {
  const rows = await e.sql<{ address: string; lamports: bigint | null; slot: bigint | null }[]>`
    SELECT address, lamports, slot FROM wallets WHERE tier = ${tier} AND invalid_reason IS NULL ORDER BY id`;
  const wrong = rows.filter((r) => r.lamports === null || r.slot === null || r.lamports !== (e.sim.world.balanceAt(r.address, r.slot) ?? 0n));
  expect(wrong).toEqual([]);
}

/** Waits until the engine has written `count` batch rows (of one tier, or of any): a sweep is under way. */
async function untilBatchRows(e: Engine, count: number, tier?: string) {
  const of = tier ? e.sql`WHERE tier = ${tier}` : e.sql``;
  while (Number((await e.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM batch_checks ${of}`)[0]!.n) < count) {
    await sleep(50);
  }
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
    // one second's worth. No request overdrew it.
    expect(tokenBucketOverdrafts(arrivals.map((a) => a.at), maxRps, budgetBurst(maxRps))).toEqual([]);
    const seconds = (arrivals.at(-1)!.at - arrivals[0]!.at) / 1000;
    expect(arrivals.length).toBeLessThanOrEqual(maxRps * seconds + budgetBurst(maxRps));
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

describe('tiers sharing the RPC budget', () => {
  it('the high tier\'s batches go ahead of a low sweep\'s backlog', async () => {
    engine = await startEngine({
      simulator: { wallets: 6_200, seed: 13, knobs: { latencyMs: 5, jitterMs: 2 } },
      // 20 low batches waiting on a budget of 10 requests/s: first come, first served, a high
      // batch would wait two seconds behind them. One batch per activity, so that the order of
      // the batches is the order of the tasks Temporal handed out.
      env: { RPC_MAX_RPS: '10', SWEEP_CONCURRENCY: '2', BATCHES_PER_CHILD: '15', BATCH_WINDOW: '10', BATCHES_PER_ACTIVITY: '1' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, 6_000) as Address[], 'low');
    await addWallets(e.sql, e.sim.world.addresses(6_000, 6_200) as Address[], 'high');
    await requestTierSweep(e.client, e.config, 'low', 'test');
    await untilBatchRows(e, 3, 'low');
    await requestTierSweep(e.client, e.config, 'high', 'test');
    const high = (await e.waitForSweeps('high', 1)).lastSweep!;
    expect(high).toMatchObject({ due: 200, walletsChecked: 200, rpcCalls: 2 });
    expect((await e.waitForSweeps('low', 1, 60_000)).lastSweep).toMatchObject({ due: 6_000, walletsChecked: 6_000, batchesFailed: 0 });

    // When the high batches were queued (from the child's history) and when they started (read_at).
    const history = await e.client.workflow.getHandle(batchWorkflowId(high.sweepId, 0)).fetchHistory();
    const queued = history.events!.filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'checkBatches').map((ev) => tsToDate(ev.eventTime!));
    expect(queued).toHaveLength(2);
    const [order] = await e.sql<{ overtook: bigint; after: bigint }[]>`
      WITH high AS (SELECT max(read_at) AS started FROM batch_checks WHERE tier = 'high')
      SELECT count(*) FILTER (WHERE b.read_at BETWEEN ${queued[0]!} AND h.started) AS overtook,
             count(*) FILTER (WHERE b.read_at > h.started) AS after
      FROM batch_checks b, high h WHERE b.tier = 'low'`;
    // The low sweep still had a backlog when the high batches were queued...
    expect(Number(order!.after)).toBeGreaterThan(20);
    // ...and they went ahead of it: at most the low batches already handed to the worker started
    // in between (0 in trials; first come, first served, without task priorities: 12–14).
    expect(Number(order!.overtook)).toBeLessThanOrEqual(5);
  });
});

describe('a tier whose sweep takes more than half its interval', () => {
  it('reads every wallet on every scheduled sweep', async () => {
    engine = await startEngine({
      simulator: { wallets: 3_000, seed: 15, knobs: { latencyMs: 5, jitterMs: 0 } },
      // 30 batches at 10 requests/s: a sweep takes about 3 s of its 4 s interval.
      env: { RPC_MAX_RPS: '10', TIER_LOW_INTERVAL: '4s' },
    });
    const e = engine;
    await addWallets(e.sql, e.sim.world.addresses(0, 3_000) as Address[], 'low');
    // The schedule drives it. Each sweep's batches, read back from Postgres, hold every wallet.
    await ensureSchedules(e.client, e.config);
    const sweeps = async () =>
      e.sql<{ sweep: string; wallets: number }[]>`
        SELECT split_part(batch_key, '/', 1) AS sweep, sum(wallets)::int AS wallets
        FROM batch_checks GROUP BY 1 ORDER BY min(planned_at)`;
    const deadline = Date.now() + 90_000;
    while ((await sweeps()).length < 6 && Date.now() < deadline) await sleep(500);
    // The last may still be running.
    const done = (await sweeps()).slice(0, 5);
    expect(done.map((s) => s.wallets)).toEqual([3_000, 3_000, 3_000, 3_000, 3_000]);
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
    const [bad] = await e.sql<{ invalidReason: string }[]>`SELECT invalid_reason FROM wallets WHERE address = '0OIl-not-base58'`;
    expect(bad!.invalidReason).toMatch(/invalid character '0'/);
    await expectEqualsChain(e, 'high');

    // Set aside means not retried: the next sweep does not see it.
    await sleep(1_200);
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
      await sleep(250);
    }
    const distinct = [...new Set(seen)];
    expect(distinct.length).toBeGreaterThanOrEqual(3);
    expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
    expect(childProgress).toMatchObject({ tier: 'high', batchesTotal: 4 });
  });

  it('counts batches a child found beyond the plan (wallets moved in meanwhile) in the sweep\'s total', async () => {
    engine = await startEngine({
      simulator: { wallets: 3_000, seed: 14, knobs: { latencyMs: 5, jitterMs: 0 } },
      env: { RPC_MAX_RPS: '5', BATCHES_PER_CHILD: '5', SWEEP_CONCURRENCY: '1' },
    });
    const e = engine;
    // Every other wallet in high: three children of 500 wallets, each spanning ~1,000 ids.
    await addWallets(e.sql, e.sim.world.addresses(0, 3_000) as Address[], 'high');
    await e.sql`UPDATE wallets SET tier = 'low' WHERE id % 2 = 0`;
    const highIds = (await e.sql<{ id: number }[]>`SELECT id FROM wallets WHERE tier = 'high' ORDER BY id`).map((r) => r.id);
    const lastChild = { from: highIds[1_000]!, to: highIds[1_499]! };
    await requestTierSweep(e.client, e.config, 'high', 'test');
    await untilBatchRows(e, 1);
    // While the first child runs (5 batches at 5 requests/s), the last child's range gains ~500.
    const incoming = await e.sql<{ address: Address }[]>`
      SELECT address FROM wallets WHERE tier = 'low' AND id BETWEEN ${lastChild.from} AND ${lastChild.to}`;
    expect((await moveWallets(e.sql, incoming.map((r) => r.address), 'high')).moved).toHaveLength(incoming.length);
    const batches = 10 + Math.ceil((500 + incoming.length) / 100);
    const { lastSweep } = await e.waitForSweeps('high', 1, 60_000);
    expect(lastSweep).toMatchObject({
      due: 1_500, childrenTotal: 3, walletsChecked: 1_500 + incoming.length, batchesDone: batches, batchesFailed: 0, batchesTotal: batches,
    });
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
      await sleep(50);
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
