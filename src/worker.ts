// The worker process: serves the workflows and main activities on one task queue, and the
// RPC activities on their own rate-limited queue, each RPC call paced by the shared budget.

import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, type LogLevel as SdkLogLevel, NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, createRpcActivities, type ActivityDeps } from '../activities';
import { checkCluster } from './cluster';
import type { Config, LogLevel } from './config';
import { connect, type Sql } from './db/client';
import { migrate } from './db/migrate';
import { redactActivityFailures } from './failure-redaction';
import { log, registerSecrets } from './log';
import { freePort } from './free-port';
import { type MetricsServer, startMetricsServer } from './metrics';
import { configSecrets } from './redact';
import { MAX_BATCH } from './db/checks';
import { recordMints } from './db/tokens';
import { reserveTurn, waitForTurn } from './db/rpc-budget';
import { createBalanceReader } from './rpc/balances';
import { createPacer, sustainedRps, turnGapMs } from './rpc/pacer';
import { MAX_CALL_DELAY_MS } from './rpc/attempt';
import { readTrackedMints } from './rpc/mints';
import { callsFor, TOKEN_SLICE_LENGTH } from './tokens';
import { createAtaResolver } from './db/token-accounts';
import { ensureSchedules } from './schedules';
import { TIERS } from './tiers';
import { startTierWorkflows } from './tier-control';
import { startWebhookDelivery } from './webhooks/control';

// No extensions: the bundler finds workflows/*.ts beside the sources and workflows/*.js in dist/.
const WORKFLOWS_PATH = join(__dirname, '../workflows');
/** Decodes what it can and hands the rest to the handlers as bad input (see the file). */
const PAYLOAD_CONVERTER_PATH = join(__dirname, '../workflows/payload-converter');

export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, payloadConverterPath: PAYLOAD_CONVERTER_PATH, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => log.warn(message),
  error: (message: string) => log.error(message),
};

/** The RPC worker serves activities only, by design. */
const EXPECTED_SDK_WARNINGS = ['No workflows registered, not polling for workflow tasks'];

const SDK_LEVELS: Record<LogLevel, SdkLogLevel> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
/** Null until installRuntime; then the SDK's own Prometheus exporter, or null when it has none. */
let runtimeMetricsUrl: string | null | undefined;

export interface RuntimeOptions {
  /** 127.0.0.1:PORT for the SDK's Prometheus exporter (served to operators through our /metrics). */
  sdkMetricsBindAddress?: string;
}

/**
 * Routes the Temporal SDK's logs (workflow and activity ids included) through our logger,
 * so they are structured and redacted like every other line, and optionally turns on the
 * SDK's Prometheus exporter. Once per process, before any NativeConnection; later calls
 * change nothing. The SDK's per-task chatter is kept at warn unless LOG_LEVEL=debug.
 * Returns the SDK exporter's URL (null when the installed runtime has none).
 */
export function installRuntime(level: LogLevel, options: RuntimeOptions = {}): { sdkMetricsUrl: string | null } {
  if (runtimeMetricsUrl !== undefined) return { sdkMetricsUrl: runtimeMetricsUrl };
  const bind = options.sdkMetricsBindAddress;
  runtimeMetricsUrl = bind ? `http://${bind}/metrics` : null;
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVELS[level], ({ level: entryLevel, message, meta }) => {
      // Our workflows' and activities' own lines (Context.current().log, workflow log) pass at
      // LOG_LEVEL; the SDK's per-task chatter ("Activity started", ...) only when it is debug.
      const sdkChatter = meta?.sdkComponent === 'worker' || meta?.sdkComponent === 'core';
      if (sdkChatter && level !== 'debug' && (entryLevel === 'INFO' || entryLevel === 'DEBUG' || entryLevel === 'TRACE')) return;
      // Warnings about a set-up that is intended (the RPC worker has no workflows) are debug.
      if (entryLevel === 'WARN' && EXPECTED_SDK_WARNINGS.some((expected) => message.startsWith(expected))) {
        if (level === 'debug') log.debug(message, { source: 'temporal' });
        return;
      }
      // The task token is a capability (it can complete the activity) and only noise in a log.
      const { taskToken: _taskToken, ...rest } = meta ?? {};
      const fields = { source: 'temporal', ...rest };
      if (entryLevel === 'ERROR') log.error(message, fields);
      else if (entryLevel === 'WARN') log.warn(message, fields);
      else if (entryLevel === 'INFO') log.info(message, fields);
      else log.debug(message, fields);
    }),
    telemetryOptions: {
      // The SDK core's own (Rust) log lines are forwarded to the logger above too, instead of
      // going to the console in their own format.
      logging: { forward: {}, filter: { core: level === 'debug' ? 'INFO' : 'WARN', other: 'ERROR' } },
      ...(bind && { metrics: { prometheus: { bindAddress: bind, countersTotalSuffix: true, useSecondsForDurations: true } } }),
    },
  });
  return { sdkMetricsUrl: runtimeMetricsUrl };
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
  const { config } = options;
  // Failures are redacted with the logs' secrets (see failure-redaction.ts): they must be known here.
  registerSecrets(...configSecrets(config));
  // Its own connection: a turn's round trip must not wait behind the batches' queries for the pool.
  const budgetSql = connect(config.databaseUrl, { max: 1, appName: 'balance-tracker-rpc-budget', asyncCommit: true });
  try {
    return await assembleWorkers(options, budgetSql);
  } catch (error) {
    // No run() will close it (a mint missing, a worker refused by the server).
    await budgetSql.end({ timeout: 5 });
    throw error;
  }
}

/** The two workers over the pacer's connection, which run() closes once both have stopped. */
async function assembleWorkers(options: WorkerOptions, budgetSql: Sql): Promise<WorkerSet> {
  const { config, sql, client, connection } = options;
  const gapMs = turnGapMs(config.rpcMaxRps);
  const pace = createPacer(config.rpcMaxRps, () => reserveTurn(budgetSql, gapMs));
  // Read once per worker: a mint's program and decimals never change; a changed TRACKED_MINTS takes a restart.
  const mintsTurn = async () => {
    if (!(await pace(MAX_CALL_DELAY_MS))) throw new Error('no turn of the RPC budget came in time for the mints');
  };
  const mints = config.trackedMints.length ? await readTrackedMints({ url: requireRpcUrl(config), commitment: config.commitment, timeoutMs: config.rpcTimeoutMs }, config.trackedMints, {}, mintsTurn) : [];
  await recordMints(sql, mints);
  const readBalances =
    options.readBalances ??
    createBalanceReader({
      url: requireRpcUrl(config),
      commitment: config.commitment,
      timeoutMs: config.rpcTimeoutMs,
      maxRetryAfterMs: config.rpcMaxRetryAfterMs,
      dataLength: mints.length ? TOKEN_SLICE_LENGTH : 0,
    });
  const interceptors = { activity: [redactActivityFailures] };
  const deps: ActivityDeps = { sql, client, config, readBalances, pace, mints, atasOf: createAtaResolver(sql) };
  const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
  const main = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle,
    activities: createActivities(deps),
    interceptors,
    maxCachedWorkflows: cachedWorkflows(config),
  });
  const rpc = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.rpcTaskQueue,
    activities: createRpcActivities(deps),
    interceptors,
    // Admission control, not the budget (the pacer is): the Temporal server starts the queue's
    // attempts, by tier priority, at the rate the pacer serves calls, so few attempts wait in
    // workers for a turn. Its limiter is a token bucket: after an idle spell a second's worth
    // start at once and queue at the pacer.
    maxTaskQueueActivitiesPerSecond: sustainedRps(config.rpcMaxRps) / callsPerAttempt(config, mints.length),
  });
  const shutdown = () => {
    for (const worker of [main, rpc]) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  return {
    run: async () => {
      // When one worker stops with an error the other is stopped too, so that the connection
      // can close and the error that stopped it is the one reported.
      const results = await Promise.allSettled([main, rpc].map((w) => w.run().catch((error: unknown) => {
        shutdown();
        throw error;
      })));
      await budgetSql.end({ timeout: 5 });
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
  };
}

/**
 * The calls a full attempt of the RPC queue makes: a group of BATCHES_PER_ACTIVITY batches,
 * never more than a child's BATCHES_PER_CHILD (a child's batches are what its groups split), each
 * 1 + tracked mints calls. Counting a group larger than a child can hold admitted attempts
 * more slowly than the pacer serves their calls.
 */
export function callsPerAttempt(config: Pick<Config, 'batchesPerActivity' | 'batchesPerChild'>, mints: number): number {
  return Math.min(config.batchesPerActivity, config.batchesPerChild) * callsFor(MAX_BATCH, mints);
}

/**
 * Workflows kept in the worker's cache: every one that can be running at once (the tier
 * workflows and each tier's children in flight, the ticks, the webhook delivery and the
 * re-tiering) with room to spare, so none is evicted and replayed mid-sweep. Set, not left to
 * the SDK, whose default follows the V8 heap limit: under WORKER_NODE_FLAGS' 128 MB it would be 10.
 */
export function cachedWorkflows(config: Pick<Config, 'sweepConcurrency'>): number {
  return Math.max(64, 2 * (TIERS.length * (1 + config.sweepConcurrency) + 8));
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
  // Also done by the CLI; here too so that every caller's logs hide them.
  const rpcUrl = requireRpcUrl(config);
  registerSecrets(...configSecrets(config));
  const { sdkMetricsUrl } = installRuntime(
    config.logLevel,
    config.metricsPort === null ? {} : { sdkMetricsBindAddress: `127.0.0.1:${await freePort()}` },
  );
  const sql = connect(config.databaseUrl);
  let metrics: MetricsServer | null = null;
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  try {
    await migrate(sql);
    const genesisHash = await checkCluster(sql, { rpcUrl, timeoutMs: config.rpcTimeoutMs, beforeCall: () => waitForTurn(sql, turnGapMs(config.rpcMaxRps)) });
    if (config.metricsPort !== null) {
      metrics = await startMetricsServer({ port: config.metricsPort, sql, tierIntervalsMs: config.tierIntervalsMs, sdkMetricsUrl, rpcMaxRps: config.rpcMaxRps, webhooks: config.webhook !== null });
      log.info('metrics served on /metrics', { port: metrics.port, url: metrics.url });
    }
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    // Before the workers exist: a failure here must not leave workers holding the connection.
    const created = await ensureSchedules(client, config);
    await startTierWorkflows(client, config);
    const webhooks = await startWebhookDelivery(client, config);
    const workers = await createWorkers({ config, sql, client, connection });
    log.info('worker running', { taskQueue: config.temporal.taskQueue, rpcTaskQueue: config.temporal.rpcTaskQueue, schedulesCreated: created, webhooks, genesisHash, pid: process.pid });
    let stopSignal: string | null = null;
    const stop = (signal: NodeJS.Signals) => {
      stopSignal = signal;
      log.info('worker stopping', { signal });
      workers.shutdown();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await workers.run();
      log.info('worker stopped', { signal: stopSignal });
    } catch (error) {
      log.error('worker stopped', { error });
      throw error;
    }
  } finally {
    await metrics?.close();
    await clientConnection.close();
    await connection.close();
    await sql.end({ timeout: 5 });
  }
}
