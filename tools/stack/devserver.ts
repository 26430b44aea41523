// Runs a Temporal dev server (`temporal server start-dev`) as a child process: the local
// stack's Temporal for `npm start` (state in a SQLite file) and the tests' (in memory).
// It is started with the custom search attributes the workflows use, waits until the
// frontend answers, and stop() leaves no process behind (the whole process group goes).
//
// Restarting on an existing SQLite file with `--search-attribute` for attributes that already
// exist is fine with CLI v1.5.1 (server 1.29.1): they are kept as they are, and a flag that
// names an existing attribute with another type is ignored, not an error.
//
// Not @temporalio/testing's dev server (TestWorkflowEnvironment.createLocal; the workflow tests
// use it, test/workflows/harness.ts): its `server` options cover these flags (existing-path
// executable, ip, port, namespace, dbFilename, ui/uiPort, searchAttributes, extraArgs), but its
// process handling (sdk-core's EphemeralServer, SDK 1.24) lacks what the stack needs: the
// server's output goes to this process's stdout and stderr, not a log file (data/temporal.log,
// and the log's tail in a start failure); there is no pid, and stop is SIGKILL only (here a
// SQLite store gets SIGTERM first); it waits at most 5 s for a connection (a restart on a large
// SQLite file on a busy machine takes longer) and not for the namespace; nothing kills the server
// when this process dies by a signal; and it needs the SDK's Runtime, which `npm start`'s worker
// installs afterwards with its own logger. The spawn, wait and stop are server-process.ts's,
// which also runs the real Temporal server (cluster.ts), something the SDK does not run at all.

import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../src/search-attributes';
import { ensureTemporalCli } from '../toolchain/binaries';
import { freePort } from '../../src/free-port';
import { lastLines, logSince, serverLogFile, spawnServer, waitUntilReady } from './server-process';

/**
 * Task priorities (TIER_PRIORITY) need the server's priority matcher, which this server
 * version leaves off, and one partition per task queue: with several, a poller of one
 * partition takes a low-priority task while high-priority ones wait in another.
 */
const DYNAMIC_CONFIG = [
  'matching.useNewMatcher=true',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

export interface DevServerOptions {
  /** Frontend gRPC port; 0 picks a free one. Default 7233. */
  port?: number;
  /** Web UI port; 0 picks a free one. Default: port + 1000 (a free one when port is 0). */
  uiPort?: number;
  /** SQLite file for persistent state; without it state lives in memory and dies with the server. */
  dbFile?: string;
  /** A namespace to create at launch besides `default` (which always exists). */
  namespace?: string;
  /** Where the server's output goes; default a temporary file removed on stop(). */
  logFile?: string;
  /** No Web UI. */
  headless?: boolean;
  /** The `temporal` binary; default ensureTemporalCli(). */
  temporalPath?: string;
  /** How long to wait for the frontend to answer. Default 90 s. */
  readyTimeoutMs?: number;
}

export interface DevServer {
  /** host:port of the frontend, for TEMPORAL_ADDRESS. */
  address: string;
  uiUrl: string | null;
  pid: number;
  namespace: string;
  logFile: string;
  /** SIGTERM to the process group, SIGKILL after a timeout; resolves once the server is gone. */
  stop(): Promise<void>;
}

export class DevServerError extends Error {
  constructor(
    message: string,
    /** The server could not bind a port it was given: another process took it first. */
    readonly portClash = false,
  ) {
    super(message);
    this.name = 'DevServerError';
  }
}

const HOST = '127.0.0.1';

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const temporal = opts.temporalPath ?? (await ensureTemporalCli());
  // Ports chosen here may be taken by someone else before the server binds them: retry then.
  const randomPorts = opts.port === 0 || opts.uiPort === 0;
  const attempts = randomPorts ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(temporal, opts);
    } catch (error) {
      if (!(error instanceof DevServerError && error.portClash) || attempt >= attempts) throw error;
    }
  }
}

async function startOnce(temporal: string, opts: DevServerOptions): Promise<DevServer> {
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 7233);
  const uiPort = opts.headless
    ? null
    : opts.uiPort === 0 || (opts.uiPort === undefined && opts.port === 0)
      ? await freePort()
      : (opts.uiPort ?? port + 1000);
  const namespace = opts.namespace ?? 'default';

  const { logFile, remove: removeLog } = await serverLogFile(opts.logFile, 'temporal-dev-');

  const args = ['server', 'start-dev', '--ip', HOST, '--port', String(port), '--log-level', 'warn'];
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (opts.dbFile) {
    const dbFile = resolve(opts.dbFile);
    await mkdir(dirname(dbFile), { recursive: true });
    args.push('--db-filename', dbFile);
  }
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const flag of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', flag);
  for (const value of DYNAMIC_CONFIG) args.push('--dynamic-config-value', value);

  const server = await spawnServer(temporal, args, { logFile });
  const stop = async (): Promise<void> => {
    await server.stop();
    await removeLog();
  };

  const address = `${HOST}:${port}`;
  try {
    await waitUntilReady(address, namespace, opts.readyTimeoutMs ?? 90_000, server.exit);
  } catch (error) {
    const log = await logSince(logFile, server.logStart);
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new DevServerError(
      `Temporal dev server (${temporal} ${args.join(' ')}) ${reason}; last lines of ${opts.logFile ? logFile : 'its log'}:\n${lastLines(log, 30)}`,
      // From the whole log: the failed bind can be followed by a panic's stack trace longer than the tail.
      /address already in use/i.test(log),
    );
  }

  return {
    address,
    uiUrl: uiPort === null ? null : `http://localhost:${uiPort}`,
    pid: server.pid,
    namespace,
    logFile,
    stop,
  };
}
