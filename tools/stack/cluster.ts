// The production topology on this machine: the Temporal server (the release docker-compose.yml
// runs, built from its Go module) persisting to Postgres, with the config files compose uses
// (deploy/temporal-server.yaml, deploy/temporal-dynamicconfig.yaml) and compose's schema step
// (deploy/temporal-schema.sh, run with the server's SQL tool), then the namespace and the
// custom search attributes registered. Workers are separate processes (tools/stack/cluster-main.ts
// for `npm run stack:cluster`; the tests spawn their own).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { PACKAGE_ROOT } from '../../src/package-root';
import { redactText } from '../../src/redact';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../src/search-attributes';
import { ensureTemporalServer, ensureTemporalSqlTool } from '../toolchain/binaries';
import { dropDatabase } from './postgres';
import { freePort } from '../../src/free-port';
import { logTail, serverLogFile, type ServerProcess, spawnServer, waitUntilReady } from './server-process';

/** The server reads `<config dir>/<env>.yaml`: deploy/temporal-server.yaml. */
const CONFIG_DIR = 'deploy';
const CONFIG_ENV = 'temporal-server';
const DYNAMIC_CONFIG = join(PACKAGE_ROOT, 'deploy', 'temporal-dynamicconfig.yaml');
const SCHEMA_SCRIPT = join(PACKAGE_ROOT, 'deploy', 'temporal-schema.sh');
const HOST = '127.0.0.1';
/** As compose's auto-setup had it (DEFAULT_NAMESPACE_RETENTION). */
const RETENTION = '24h';
/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;
const GRPC_ALREADY_EXISTS = 6;
/**
 * Where free ports are picked: below the system's ephemeral range, since the server stores its
 * membership ports in a smallint column (a port above 32767 makes it exit at start).
 */
const SERVER_PORTS = { min: 20_000, max: 32_767 };

/** The server's ports as deploy/temporal-server.yaml names them (its environment variables). */
const PORT_VARIABLES = [
  'FRONTEND_GRPC_PORT',
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
] as const;

export const DEFAULT_CLUSTER_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ClusterOptions {
  /** Frontend gRPC port. 0: free ports for it and every internal service (tests). Default 7233, the others the server's defaults. */
  port?: number;
  /** Any database URL on the Postgres to persist to (its host, port, user and password are used). */
  postgresUrl?: string;
  /** The two databases are `<prefix>` and `<prefix>_visibility`. Default `temporal` (compose's names). */
  databasePrefix?: string;
  /** Registered with the search attributes. Default `default`. */
  namespace?: string;
  /** Where the server's output goes; default a temporary file removed on stop(). */
  logFile?: string;
  readyTimeoutMs?: number;
}

export interface TemporalCluster {
  /** host:port of the frontend, for TEMPORAL_ADDRESS. */
  address: string;
  /** The server process (a new one after restart()). */
  readonly pid: number;
  namespace: string;
  databases: { history: string; visibility: string };
  logFile: string;
  /** Stops the server (SIGKILL when `crash`), waits `downMs`, starts it again on the same databases and ports. */
  restart(options?: { crash?: boolean; downMs?: number }): Promise<void>;
  /** Stops the server; resolves once nothing of it is left. */
  stop(): Promise<void>;
  /** Drops the two databases (the server must be stopped). For tests and throwaway clusters. */
  dropDatabases(): Promise<void>;
}

export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

export async function startTemporalCluster(opts: ClusterOptions = {}): Promise<TemporalCluster> {
  const [server, sqlTool] = [await ensureTemporalServer(), await ensureTemporalSqlTool()];
  const postgresUrl = new URL(opts.postgresUrl ?? DEFAULT_CLUSTER_POSTGRES_URL);
  const password = decodeURIComponent(postgresUrl.password);
  const prefix = opts.databasePrefix ?? 'temporal';
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new ClusterError(`database prefix '${prefix}': expected lower-case letters, digits and _`);
  const databases = { history: prefix, visibility: `${prefix}_visibility` };
  const namespace = opts.namespace ?? 'default';

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    POSTGRES_SEEDS: postgresUrl.hostname || HOST,
    DB_PORT: postgresUrl.port || '5432',
    POSTGRES_USER: decodeURIComponent(postgresUrl.username) || 'postgres',
    POSTGRES_PWD: password,
    DBNAME: databases.history,
    VISIBILITY_DBNAME: databases.visibility,
    BIND_ON_IP: HOST,
    DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG,
    ...(await ports(opts.port ?? 7233)),
  };
  const address = `${HOST}:${env.FRONTEND_GRPC_PORT}`;

  await runSchemaScript(sqlTool, env, password);

  const { logFile, remove: removeLog } = await serverLogFile(opts.logFile, 'temporal-cluster-');

  const args = ['--root', PACKAGE_ROOT, '--config', CONFIG_DIR, '--env', CONFIG_ENV, '--allow-no-auth', 'start'];
  const launch = async (): Promise<ServerProcess> => {
    const child = await spawnServer(server, args, { logFile, env, cwd: PACKAGE_ROOT });
    try {
      // temporal-system exists as soon as the server does; the namespace is registered after.
      await waitUntilReady(address, 'temporal-system', opts.readyTimeoutMs ?? 120_000, child.exit);
    } catch (error) {
      const tail = redactText(await logTail(logFile, child.logStart, 30), password ? [password] : []);
      await child.stop();
      throw new ClusterError(`Temporal server (${server} ${args.join(' ')}) ${error instanceof Error ? error.message : String(error)}; last lines of ${logFile}:\n${tail}`);
    }
    return child;
  };

  let current = await launch();
  try {
    await registerNamespace(address, namespace);
  } catch (error) {
    await current.stop();
    throw error;
  }

  return {
    address,
    get pid() {
      return current.pid;
    },
    namespace,
    databases,
    logFile,
    async restart({ crash = false, downMs = 0 } = {}) {
      if (crash) process.kill(-current.pid, 'SIGKILL');
      await current.stop();
      await sleep(downMs);
      current = await launch();
    },
    async stop() {
      await current.stop();
      await removeLog();
    },
    async dropDatabases() {
      for (const name of [databases.history, databases.visibility]) {
        const url = new URL(postgresUrl);
        url.pathname = `/${name}`;
        await dropDatabase(url.toString());
      }
    },
  };
}

/** The frontend's port and, with port 0, free ports for everything else the server listens on. */
async function ports(port: number): Promise<Record<string, string>> {
  if (port !== 0) return { FRONTEND_GRPC_PORT: String(port) };
  const chosen = new Set<number>();
  while (chosen.size < PORT_VARIABLES.length) chosen.add(await freePort(SERVER_PORTS));
  const values = [...chosen];
  return Object.fromEntries(PORT_VARIABLES.map((name, i) => [name, String(values[i])]));
}

function runSchemaScript(sqlTool: string, env: NodeJS.ProcessEnv, password: string): Promise<void> {
  return new Promise((done, fail) => {
    execFile('/bin/sh', [SCHEMA_SCRIPT], { env: { ...env, SQL_TOOL: sqlTool }, timeout: 300_000, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      if (!error) return done();
      const tail = `${stdout}${stderr}`.trimEnd().split('\n').slice(-20).join('\n');
      fail(new ClusterError(`the Temporal schema setup (${SCHEMA_SCRIPT}) failed:\n${redactText(tail, password ? [password] : [])}`));
    });
  });
}

/** Registers the namespace and the custom search attributes (each only when missing), then waits until both are in use. */
export async function registerNamespace(address: string, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(
    SEARCH_ATTRIBUTE_FLAGS.map((flag) => {
      const [name, type] = flag.split('=');
      if (type !== 'Keyword') throw new ClusterError(`search attribute ${flag}: only Keyword attributes are registered here`);
      return [name!, KEYWORD];
    }),
  );
  const connection = await Connection.connect({ address });
  try {
    const service = connection.workflowService;
    await ignoreAlreadyExists(service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION) }));
    // The frontend learns of a new namespace on its next refresh of the namespace registry.
    await retry('the namespace to be served', () => service.describeNamespace({ namespace }));
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.fromEntries(Object.entries(searchAttributes).filter(([name]) => !(name in (existing.customAttributes ?? {}))));
    if (Object.keys(missing).length > 0) {
      await ignoreAlreadyExists(connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing }));
    }
    // A visibility query naming every attribute proves they are usable, not just registered.
    const query = Object.keys(searchAttributes).map((name) => `${name} = 'probe'`).join(' AND ');
    await retry('the search attributes to be queryable', () => service.listWorkflowExecutions({ namespace, query, pageSize: 1 }));
  } finally {
    await connection.close();
  }
}

async function ignoreAlreadyExists(operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === GRPC_ALREADY_EXISTS) return;
    throw error;
  }
}

async function retry(what: string, attempt: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new ClusterError(`timed out waiting for ${what}: ${error instanceof Error ? error.message : String(error)}`);
      await sleep(500);
    }
  }
}
