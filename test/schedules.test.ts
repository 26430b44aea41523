// Operators drive the cadence with the Temporal CLI and tctl; the tier workflow obeys.

import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { ensureSchedules, readScheduleState } from '../src/schedules';
import { startTierWorkflows } from '../src/tier-control';
import { ensureTctl, ensureTemporalCli } from '../tools/toolchain/binaries';
import { runCli } from './helpers/cli';
import { type Engine, startEngine } from './helpers/engine';

const run = promisify(execFile);
const SCHEDULE = 'balance-sweep-high';

describe('tier schedules', () => {
  let engine: Engine;
  let temporal: (...args: string[]) => Promise<string>;
  let tctl: (...args: string[]) => Promise<string>;

  const sweeps = async () => (await engine.progress('high')).totals.sweeps;
  const settle = async () => {
    // Lets an in-flight tick finish before counting.
    await sleep(1_500);
    return sweeps();
  };

  beforeAll(async () => {
    engine = await startEngine({ simulator: { wallets: 200, seed: 3 }, env: { TIER_HIGH_INTERVAL: '1h' } });
    await addWallets(engine.sql, engine.sim.world.addresses(0, 200) as Address[], 'high');
    const { address, namespace } = engine.config.temporal;
    const temporalBin = await ensureTemporalCli();
    const tctlBin = await ensureTctl();
    temporal = async (...args) => (await run(temporalBin, [...args, '--address', address, '--namespace', namespace])).stdout;
    tctl = async (...args) => (await run(tctlBin, ['--address', address, '--namespace', namespace, ...args])).stdout;
    expect(await ensureSchedules(engine.client, engine.config)).toEqual(['balance-sweep-high', 'balance-sweep-medium', 'balance-sweep-low', 'balance-retier']);
    await startTierWorkflows(engine.client, engine.config);
  });
  afterAll(() => engine?.stop());

  it('never overwrites a schedule at start-up', async () => {
    expect(await ensureSchedules(engine.client, engine.config)).toEqual([]);
    expect((await readScheduleState(engine.client, 'high'))?.intervalMs).toBe(3_600_000);
  });

  it('`temporal schedule trigger` makes the tier sweep now', async () => {
    const before = await sweeps();
    await temporal('schedule', 'trigger', '--schedule-id', SCHEDULE);
    const progress = await engine.waitForSweeps('high', before + 1);
    expect(progress.lastSweep?.reason).toBe('schedule');
  });

  it('`tctl schedule trigger` makes the tier sweep now', async () => {
    const before = await sweeps();
    await tctl('schedule', 'trigger', '--sid', SCHEDULE);
    await engine.waitForSweeps('high', before + 1);
  });

  /** What `temporal schedule describe` shows of the schedule, besides its spec and run info. */
  const shape = async () => {
    const described = JSON.parse(await temporal('schedule', 'describe', '--schedule-id', SCHEDULE, '--output', 'json'));
    const { spec, ...rest } = described.schedule;
    // An empty priority (no priority set) is shown or not depending on who wrote the action last.
    const action = rest.action.startWorkflow;
    if (action.priority && Object.keys(action.priority).length === 0) delete action.priority;
    return { interval: spec.interval[0].interval as string, schedule: rest, memo: described.memo, searchAttributes: described.searchAttributes ?? null };
  };

  it('`balance-tracker tiers interval` changes only the interval, and the cadence and what counts as due follow', async () => {
    const before = await shape();
    expect(before.interval).toBe('3600s');
    expect(before.schedule.policies).toEqual({ overlapPolicy: 'SCHEDULE_OVERLAP_POLICY_BUFFER_ONE', catchupWindow: '60s' });
    expect(before.schedule.action.startWorkflow.memo.fields).toHaveProperty('purpose');
    expect(before.schedule.action.startWorkflow.userMetadata.summary).toBeDefined();
    const env = { TEMPORAL_ADDRESS: engine.config.temporal.address, TEMPORAL_NAMESPACE: engine.config.temporal.namespace, DATABASE_URL: engine.config.databaseUrl, TASK_QUEUE: engine.config.temporal.taskQueue };
    const result = await runCli(['tiers', 'interval', 'high', '2s'], env);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'balance-sweep-high: interval 1h -> 2s; the rest of the schedule is unchanged\n' });
    const after = await shape();
    expect(after.interval).toBe('2s');
    expect(after.schedule).toEqual(before.schedule);
    expect(after.memo).toEqual(before.memo);
    expect(after.searchAttributes).toEqual(before.searchAttributes);
    const sweepsBefore = await sweeps();
    const progress = await engine.waitForSweeps('high', sweepsBefore + 2, 30_000);
    expect(progress.intervalMs).toBe(2_000);
    expect(progress.lastSweep?.intervalMs).toBe(2_000);

    // Bad input changes nothing.
    const bad = await runCli(['tiers', 'interval', 'high', '500ms'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('at least 1s, got "500ms"');
    const unknown = await runCli(['tiers', 'interval', 'urgent', '5s'], env);
    expect(unknown.code).toBe(2);
    expect((await shape()).interval).toBe('2s');
  });

  it('`temporal schedule update` as the README gives it keeps the schedule intact, paused state included', async () => {
    await temporal('schedule', 'toggle', '--schedule-id', SCHEDULE, '--pause', '--reason', 'incident');
    const before = await shape();
    // Every flag below restores something the update would otherwise replace (README, "Schedules").
    await temporal(
      'schedule', 'update', '--schedule-id', SCHEDULE, '--interval', '3s',
      '--workflow-id', SCHEDULE, '--type', 'sweepTickWorkflow', '--task-queue', engine.config.temporal.taskQueue,
      '--input', '{"tier":"high"}', '--overlap-policy', 'BufferOne', '--catchup-window', '1m',
      '--memo', 'tier="high"', '--memo', 'purpose="asks balance-tier-high to sweep"',
      '--search-attribute', 'BalanceTier="high"', '--search-attribute', 'BalanceWorkflowKind="sweep"',
      '--static-summary', 'high tier: schedule tick, asks balance-tier-high to sweep',
      '--paused', '--notes', 'incident',
    );
    const after = await shape();
    expect(after.interval).toBe('3s');
    // The one difference left: the CLI always sets a workflow task timeout (10 s, the SDK's default too).
    const { workflowTaskTimeout, workflowExecutionTimeout, workflowRunTimeout, ...action } = after.schedule.action.startWorkflow;
    expect({ workflowTaskTimeout, workflowExecutionTimeout, workflowRunTimeout }).toEqual({ workflowTaskTimeout: '10s', workflowExecutionTimeout: '0s', workflowRunTimeout: '0s' });
    expect({ ...after.schedule, action: { startWorkflow: action } }).toEqual(before.schedule);
    expect(after.memo).toEqual(before.memo);
    await temporal('schedule', 'toggle', '--schedule-id', SCHEDULE, '--unpause', '--reason', 'resolved');
    const sweepsBefore = await sweeps();
    expect((await engine.waitForSweeps('high', sweepsBefore + 2, 30_000)).lastSweep?.intervalMs).toBe(3_000);
  });

  it('`tctl schedule update` changes the cadence but cannot keep the action\'s memo and search attributes', async () => {
    const before = await shape();
    await tctl(
      'schedule', 'update', '--sid', SCHEDULE, '--interval', '2s',
      '--wid', SCHEDULE, '--wt', 'sweepTickWorkflow', '--tq', engine.config.temporal.taskQueue,
      '--input', '{"tier":"high"}', '--overlap_policy', 'BufferOne', '--catchup_window', '1m',
    );
    const after = await shape();
    expect(after.interval).toBe('2s');
    expect(after.schedule.policies).toEqual(before.schedule.policies);
    const action = after.schedule.action.startWorkflow;
    // What the README warns about: tctl has no flags for these, so the update drops them.
    expect(action.memo).toBeUndefined();
    expect(action.searchAttributes).toBeUndefined();
    expect(action.userMetadata).toBeUndefined();
    expect((await readScheduleState(engine.client, 'high'))?.intervalMs).toBe(2_000);
    const sweepsBefore = await sweeps();
    expect((await engine.waitForSweeps('high', sweepsBefore + 2, 30_000)).lastSweep?.intervalMs).toBe(2_000);
  });

  it('pause through tctl stops sweeps and shows as paused; unpause through the Temporal CLI resumes them', async () => {
    await tctl('schedule', 'toggle', '--sid', SCHEDULE, '--pause', '--reason', 'test');
    const paused = await settle();
    await sleep(5_000);
    expect(await sweeps()).toBe(paused);
    // A manual trigger still runs while paused, and the sweep sees the pause.
    await temporal('schedule', 'trigger', '--schedule-id', SCHEDULE);
    expect((await engine.waitForSweeps('high', paused + 1)).paused).toBe(true);

    await temporal('schedule', 'toggle', '--unpause', '--schedule-id', SCHEDULE, '--reason', 'test');
    const progress = await engine.waitForSweeps('high', paused + 3, 30_000);
    expect(progress.paused).toBe(false);
  });

  it('pause through the Temporal CLI and unpause through tctl work the same way', async () => {
    await temporal('schedule', 'toggle', '--pause', '--schedule-id', SCHEDULE, '--reason', 'test');
    const paused = await settle();
    await sleep(5_000);
    expect(await sweeps()).toBe(paused);
    await tctl('schedule', 'toggle', '--sid', SCHEDULE, '--unpause', '--reason', 'test');
    await engine.waitForSweeps('high', paused + 2, 30_000);
  });

  it('a backfill runs coalesced sweeps', async () => {
    await temporal('schedule', 'toggle', '--pause', '--schedule-id', SCHEDULE, '--reason', 'backfill test');
    const before = await settle();
    // A running total carried across continue-as-new: only its growth during the backfill counts.
    const coalescedBefore = (await engine.progress('high')).coalescedRequests;
    // Slow sweeps, so that ticks pile up behind a running one.
    engine.sim.setKnobs({ latencyMs: 1_500, jitterMs: 0 });
    const end = new Date();
    const start = new Date(end.getTime() - 60_000);
    // 30 ticks at the 2s interval, asked for at once.
    await temporal('schedule', 'backfill', '--schedule-id', SCHEDULE, '--start-time', start.toISOString(), '--end-time', end.toISOString(), '--overlap-policy', 'AllowAll');
    await engine.waitForSweeps('high', before + 1, 30_000);
    await sleep(5_000);
    const after = await engine.progress('high');
    // Far fewer sweeps than ticks: requests that arrive while one waits fold into it.
    expect(after.totals.sweeps - before).toBeGreaterThanOrEqual(1);
    expect(after.totals.sweeps - before).toBeLessThan(10);
    expect(after.coalescedRequests - coalescedBefore).toBeGreaterThan(0);
  });
});
