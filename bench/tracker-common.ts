// What every run of this service in the benchmark shares: a world and a database with the
// wallets loaded, the service's environment, its schedules and tier workflows (paused until
// the run starts them), the real workers in a process of their own, the balances it stored,
// and leaving the Temporal dev server's namespace clean afterwards.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Client, ScheduleNotFoundError } from '@temporalio/client';
import type { Address } from '../src/address';
import type { Config } from '../src/config';
import type { Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { addWallets } from '../src/db/wallets';
import { formatDuration } from '../src/duration';
import { ensureSchedules, RETIER_SCHEDULE_ID } from '../src/schedules';
import { startTierWorkflows } from '../src/tier-control';
import { TIERS, type Tier, tierScheduleId } from '../src/tiers';
import { bundleWorkflows } from '../src/worker';
import type { BenchParams } from './args';
import { type Child, forkChild } from './child';
import { createRunDatabase, type RunDatabase } from './database';
import type { StoredWrite } from './freshness';
import { ProcessMonitor } from './proc';
import { type BenchWorld, startWorld } from './world';
import { WORKER_NODE_FLAGS } from '../src/worker-flags';

export interface TrackerContext {
  temporalAddress: string;
  temporalPid: number;
  client: Client;
  logDir: string;
  tmpDir: string;
}

type WorkerMessage = { type: 'ready' } | { type: 'failed'; message: string };

export interface TrackerWorker {
  child: Child<{ type: 'stop' }, WorkerMessage>;
  monitor: ProcessMonitor;
}

/** RPC_MAX_RPS of the main tracker run: --tracker-rps, else the provider's limit (100,000 without one). */
export function trackerRps(params: BenchParams): number {
  return params.trackerRps ?? (params.rps > 0 ? params.rps : 100_000);
}

/**
 * A world started from the run's parameters (with `mints` mints) and a throwaway database for `run`; `body` runs
 * with both, and afterwards the dev server's namespace is cleaned, the database dropped and
 * the simulator stopped, whatever happened.
 */
export async function withWorldAndDatabase<T>(params: BenchParams, run: string, client: Client, body: (world: BenchWorld, db: RunDatabase) => Promise<T>, mints = 0): Promise<T> {
  const world = await startWorld(params, mints);
  try {
    const db = await createRunDatabase(run);
    try {
      return await body(world, db);
    } finally {
      await cleanTemporal(client).catch(() => {});
      await db.drop().catch(() => {});
    }
  } finally {
    await world.stop();
  }
}

/** Migrates the run's database and adds every wallet in the tier `tierOf` gives it. */
export async function loadWallets(sql: Sql, addresses: readonly string[], tierOf: (address: string) => Tier): Promise<void> {
  await migrate(sql);
  for (let i = 0; i < addresses.length; i += 10_000) {
    const chunk = addresses.slice(i, i + 10_000);
    for (const tier of TIERS) {
      const mine = chunk.filter((a) => tierOf(a) === tier) as Address[];
      if (mine.length) await addWallets(sql, mine, tier);
    }
  }
  await sql`VACUUM ANALYZE`;
}

/** The environment of the service's processes for a run: what `balance-tracker worker` reads. */
export function trackerEnv(
  params: BenchParams,
  ctx: TrackerContext,
  { databaseUrl, rpcUrl, rpcMaxRps, intervalsMs, extra = {} }: { databaseUrl: string; rpcUrl: string; rpcMaxRps: number; intervalsMs: Record<Tier, number>; extra?: Record<string, string> },
): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    DATABASE_URL: databaseUrl,
    SOLANA_RPC_URL: rpcUrl,
    TASK_QUEUE: 'bench-tracker',
    RPC_MAX_RPS: String(rpcMaxRps),
    TIER_HIGH_INTERVAL: formatDuration(intervalsMs.high),
    TIER_MEDIUM_INTERVAL: formatDuration(intervalsMs.medium),
    TIER_LOW_INTERVAL: formatDuration(intervalsMs.low),
    LOG_LEVEL: 'warn',
    ...(params.sweepConcurrency ? { SWEEP_CONCURRENCY: String(params.sweepConcurrency) } : {}),
    ...(params.batchesPerChild ? { BATCHES_PER_CHILD: String(params.batchesPerChild) } : {}),
    ...extra,
  };
}

/**
 * Creates the service's schedules (with the config's intervals: they are read only when a
 * schedule is first created) and its tier workflows, every schedule paused, so nothing runs
 * before the run says so. Returns the ids of the schedules other than the tiers'.
 */
export async function setUpPaused(client: Client, config: Config): Promise<string[]> {
  await ensureSchedules(client, config);
  // Listing schedules goes through visibility, which lags: the known ids are paused by name.
  const otherSchedules: string[] = [RETIER_SCHEDULE_ID];
  for await (const schedule of client.schedule.list()) {
    if (!otherSchedules.includes(schedule.scheduleId) && !TIERS.some((t) => tierScheduleId(t) === schedule.scheduleId)) otherSchedules.push(schedule.scheduleId);
  }
  await setSchedulesPaused(client, [...TIERS.map(tierScheduleId), ...otherSchedules], true, 'bench: paused until the run starts it');
  await startTierWorkflows(client, config);
  return otherSchedules;
}

/** Pauses or unpauses schedules by id; one that does not exist is passed over. */
export async function setSchedulesPaused(client: Client, ids: readonly string[], paused: boolean, note: string): Promise<void> {
  for (const id of ids) {
    const handle = client.schedule.getHandle(id);
    await (paused ? handle.pause(note) : handle.unpause(note)).catch((error: unknown) => {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    });
  }
}

/**
 * The real workers in a process of their own, with `env`. The workflow bundle is built here
 * and loaded by the worker from a file, so its peak memory leaves out bundling.
 */
export async function startTrackerWorker(ctx: TrackerContext, env: Record<string, string>, logName: string): Promise<TrackerWorker> {
  const bundlePath = join(ctx.tmpDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await bundleWorkflows()).code);
  // With the node flags a deployed worker has (Dockerfile, docker-compose.yml).
  const child = forkChild<{ type: 'stop' }, WorkerMessage>('tracker-worker.ts', { ...env, BENCH_WORKFLOW_BUNDLE: bundlePath }, join(ctx.logDir, logName), WORKER_NODE_FLAGS);
  try {
    await child.next('ready', 120_000);
  } catch (error) {
    await stopTrackerWorker({ child, monitor: null });
    throw error;
  }
  return { child, monitor: new ProcessMonitor(child.pid) };
}

/** Asks the worker process to stop (it drains) and waits for it; a no-op once it has exited. */
export async function stopTrackerWorker({ child, monitor }: { child: TrackerWorker['child']; monitor: ProcessMonitor | null }, timeoutMs = 60_000): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.send({ type: 'stop' });
    await child.exited(timeoutMs);
  }
  monitor?.stop();
}

/** The balances the service stored from `from` to `until`: its history rows, each with the slot it was read at. */
export async function storedWrites(sql: Sql, from: number, until: number): Promise<StoredWrite[]> {
  const history = await sql<{ address: string; lamports: bigint; slot: bigint; at: Date }[]>`
    SELECT w.address, bc.lamports, bc.slot, bc.observed_at AS at
    FROM balance_changes bc JOIN wallets w ON w.id = bc.wallet_id
    WHERE bc.observed_at >= ${new Date(from)} AND bc.observed_at <= ${new Date(until)}`;
  return history.map((r) => ({ address: r.address, at: r.at.getTime(), lamports: r.lamports, slot: Number(r.slot) }));
}

const ENGINE_DIRS = ['src', 'workflows', 'activities'];

/**
 * A short hash of the service's code (src/, workflows/, activities/) as the worker loads it: runs
 * compared with each other should show the same one.
 */
export function engineFingerprint(root = join(__dirname, '..')): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|sql)$/.test(entry.name)) hash.update(`${relative(root, path)}\0`).update(readFileSync(path)).update('\0');
    }
  };
  for (const dir of ENGINE_DIRS) walk(join(root, dir));
  return hash.digest('hex').slice(0, 12);
}

/** Leaves the dev server's namespace without this run's schedules and workflows. */
export async function cleanTemporal(client: Client): Promise<void> {
  for await (const schedule of client.schedule.list()) await client.schedule.getHandle(schedule.scheduleId).delete().catch(() => {});
  for await (const execution of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('bench done').catch(() => {});
  }
}
