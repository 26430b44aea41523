// A running engine for tests: a fresh database, a simulator, and the real workers
// connected to the run's shared dev server in the test file's namespace, on a task queue of their own.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config';
import { connect, type Sql } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../tools/simulator/server';
import { type Tier, tierWorkflowId } from '../../src/tiers';
import { createWorkers, installRuntime, type WorkerSet } from '../../src/worker';
import { progressQuery, type TierProgress } from '../../workflows/definitions';
import { freshDatabase } from './database';
import { resetNamespace, testNamespace } from './temporal';

/** The run's workflow bundle (test/global-setup.ts makes it once: bundling takes seconds of CPU). */
export const sharedBundle = (): WorkflowBundle => ({ code: inject('workflowBundleCode') });

export interface Engine {
  config: Config;
  /** The environment the config was loaded from (for a worker run as a separate process). */
  env: Record<string, string>;
  sql: Sql;
  sim: SimulatorHandle;
  client: Client;
  /** Starts the workers (again, after stopWorkers). */
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  progress(tier: Tier): Promise<TierProgress>;
  /** Waits until the tier has completed `count` sweeps in total; returns its progress. */
  waitForSweeps(tier: Tier, count: number, timeoutMs?: number): Promise<TierProgress>;
  stop(): Promise<void>;
}

export interface EngineOptions {
  env?: Record<string, string>;
  simulator?: SimulatorOptions;
  /** Appended to SOLANA_RPC_URL's path, e.g. an API key, to check it never leaks. */
  rpcPathSuffix?: string;
  /** Put in SOLANA_RPC_URL's userinfo (`user:password`), as some providers issue credentials. */
  rpcUserinfo?: string;
  /** Another Temporal server than the run's shared dev server (host:port); its `default` namespace is used. */
  temporalAddress?: string;
  /** Another Postgres than the run's (a URL of its `postgres` database) for the fresh database. */
  postgresAdminUrl?: string;
  /** False: no in-process workers at start (a test runs workers as processes, or later). */
  workers?: boolean;
}

export async function startEngine(options: EngineOptions = {}): Promise<Engine> {
  installRuntime('warn');
  const address = options.temporalAddress ?? inject('temporalAddress');
  const db = await freshDatabase('engine', options.postgresAdminUrl);
  const sql = connect(db.url, { max: 10 });
  await migrate(sql);
  const sim = await startSimulator({ port: 0, slotMs: 0, recordReads: true, ...options.simulator });
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: address,
    DATABASE_URL: db.url,
    SOLANA_RPC_URL: `${options.rpcUserinfo ? sim.url.replace('://', `://${options.rpcUserinfo}@`) : sim.url}${options.rpcPathSuffix ?? ''}`,
    TEMPORAL_NAMESPACE: options.temporalAddress ? 'default' : await testNamespace(),
    TASK_QUEUE: `bt-test-${randomUUID().slice(0, 8)}`,
    RPC_MAX_RPS: '1000',
    ...options.env,
  };
  const config = loadConfig(env);
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  await resetNamespace(client);
  const connection = await NativeConnection.connect({ address });

  let workers: WorkerSet | null = null;
  let running: Promise<void> | null = null;
  const engine: Engine = {
    config,
    env,
    sql,
    sim,
    client,
    async startWorkers() {
      workers = await createWorkers({ config, sql, client, connection, workflowBundle: sharedBundle() });
      running = workers.run();
    },
    async stopWorkers() {
      workers?.shutdown();
      await running;
      workers = null;
      running = null;
    },
    progress: (tier) => client.workflow.getHandle(tierWorkflowId(tier)).query(progressQuery),
    async waitForSweeps(tier, count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const progress = await engine.progress(tier).catch(() => null);
        if (progress && progress.totals.sweeps >= count) return progress;
        if (Date.now() > deadline) {
          throw new Error(`tier ${tier} did not reach ${count} sweeps: ${JSON.stringify(progress)}`);
        }
        await sleep(200);
      }
    },
    async stop() {
      await resetNamespace(client);
      await engine.stopWorkers();
      await connection.close();
      await clientConnection.close();
      await sim.stop();
      await sql.end({ timeout: 5 });
      await db.drop();
    },
  };
  if (options.workers !== false) await engine.startWorkers();
  return engine;
}

