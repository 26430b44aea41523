// The worker process: serves the workflows and main activities on one task queue, and the
// RPC activities on their own queue whose task-queue rate limit is the RPC budget.

import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, type LogLevel as SdkLogLevel, NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, createRpcActivities, type ActivityDeps } from '../activities';
import type { Config, LogLevel } from './config';
import { connect, type Sql } from './db/client';
import { migrate } from './db/migrate';
import { log } from './log';
import { createBalanceReader } from './rpc/balances';
import { ensureSchedules } from './schedules';
import { startTierWorkflows } from './tier-control';

const WORKFLOWS_PATH = join(__dirname, '../workflows/index.ts');

export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => log.warn(message),
  error: (message: string) => log.error(message),
};

const SDK_LEVELS: Record<LogLevel, SdkLogLevel> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's logs (workflow and activity ids included) through our logger,
 * so they are structured and redacted like every other line. Once per process, before any
 * NativeConnection; the SDK's per-state chatter is kept at warn unless LOG_LEVEL=debug.
 */
export function installRuntime(level: LogLevel): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLevel = level === 'debug' ? 'DEBUG' : SDK_LEVELS[level === 'info' ? 'warn' : level];
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, ({ level: entryLevel, message, meta }) => {
      const fields = { source: 'temporal', ...meta };
      if (entryLevel === 'ERROR') log.error(message, fields);
      else if (entryLevel === 'WARN') log.warn(message, fields);
      else if (entryLevel === 'INFO') log.info(message, fields);
      else log.debug(message, fields);
    }),
  });
}

export interface WorkerSet {
  run(): Promise<void>;
  shutdown(): void;
}

export interface WorkerOptions {
  config: Config;
  sql: Sql;
  client: Client;
  connection: NativeConnection;
  workflowBundle?: WorkflowBundle;
  /** Overrides the RPC reader (tests); by default it is built from config.rpcUrl. */
  readBalances?: ActivityDeps['readBalances'];
}

export async function createWorkers(options: WorkerOptions): Promise<WorkerSet> {
  const { config, sql, client, connection } = options;
  const readBalances = options.readBalances ?? createBalanceReader({ url: requireRpcUrl(config), commitment: config.commitment, timeoutMs: config.rpcTimeoutMs });
  const deps: ActivityDeps = { sql, client, config, readBalances };
  const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
  const main = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle,
    activities: createActivities(deps),
  });
  const rpc = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.rpcTaskQueue,
    activities: createRpcActivities(deps),
    // Enforced by the Temporal server for the whole queue, so the budget holds across any number
    // of workers. Each RPC activity makes at most one call, retries included. The server's limiter
    // is a token bucket: a sustained RPC_MAX_RPS with bursts of one second's worth after idle.
    maxTaskQueueActivitiesPerSecond: config.rpcMaxRps,
  });
  return {
    run: async () => {
      await Promise.all([main.run(), rpc.run()]);
    },
    shutdown: () => {
      for (const worker of [main, rpc]) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}

function requireRpcUrl(config: Config): string {
  if (config.rpcUrl === null) throw new Error('SOLANA_RPC_URL is required to run a worker (an http or https URL)');
  return config.rpcUrl;
}

/**
 * Runs a worker until SIGINT/SIGTERM: migrates the database, creates missing schedules,
 * starts the tier workflows that are not running, then polls.
 */
export async function runWorker(config: Config): Promise<void> {
  requireRpcUrl(config);
  installRuntime(config.logLevel);
  const sql = connect(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  try {
    await migrate(sql);
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    const workers = await createWorkers({ config, sql, client, connection });
    const created = await ensureSchedules(client, config);
    await startTierWorkflows(client, config);
    log.info('worker running', { taskQueue: config.temporal.taskQueue, rpcTaskQueue: config.temporal.rpcTaskQueue, schedulesCreated: created });
    const stop = () => workers.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await workers.run();
  } finally {
    await clientConnection.close();
    await connection.close();
    await sql.end({ timeout: 5 });
  }
}
