// Runs a Temporal dev server (`temporal server start-dev`) as a child process: the local
// stack's Temporal for `npm start` (state in a SQLite file) and the tests' (in memory).
// It is started with the custom search attributes the workflows use, waits until the
// frontend answers, and stop() leaves no process behind (the whole process group goes).
//
// Restarting on an existing SQLite file with `--search-attribute` for attributes that already
// exist is fine with CLI v1.5.1 (server 1.29.1): they are kept as they are, and a flag that
// names an existing attribute with another type is ignored, not an error.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_FLAGS } from '../search-attributes';
import { ensureTemporalCli } from '../toolchain/binaries';

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
  constructor(message: string) {
    super(message);
    this.name = 'DevServerError';
  }
}

const HOST = '127.0.0.1';
const STOP_TIMEOUT_MS = 10_000;

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const temporal = opts.temporalPath ?? (await ensureTemporalCli());
  // Ports chosen here may be taken by someone else before the server binds them: retry then.
  const randomPorts = opts.port === 0 || opts.uiPort === 0;
  const attempts = randomPorts ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(temporal, opts);
    } catch (error) {
      const portClash = error instanceof DevServerError && /address already in use/i.test(error.message);
      if (!portClash || attempt >= attempts) throw error;
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

  let ownLogDir: string | null = null;
  let logFile: string;
  if (opts.logFile) {
    logFile = resolve(opts.logFile);
    await mkdir(dirname(logFile), { recursive: true });
  } else {
    ownLogDir = await mkdtemp(join(tmpdir(), 'temporal-dev-'));
    logFile = join(ownLogDir, 'server.log');
  }

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

  const out = openSync(logFile, 'a');
  // A log file given by the caller may hold earlier runs: an error shows only this run's lines.
  const logStart = fstatSync(out).size;
  let child: ChildProcess;
  try {
    // detached: the server leads its own process group, so stop() can signal all of it.
    child = spawn(temporal, args, { stdio: ['ignore', out, out], detached: true });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) {
    await new Promise((r) => child.once('error', r));
    throw new DevServerError(`could not run ${temporal}`);
  }

  // The server must not outlive this process, however it ends. On a normal exit the 'exit'
  // handler kills it; for a death by signal (Ctrl-C unhandled, SIGKILL) a watchdog waits for
  // EOF on a pipe from this process, which comes when this process is gone, then kills it.
  const watchdog = spawn('/bin/sh', ['-c', 'read _ ; kill -9 "-$1" 2>/dev/null', 'devserver-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  const dismissWatchdog = () => {
    if (watchdog.pid !== undefined && watchdog.exitCode === null) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const killOnExit = () => signalGroup(pid, 'SIGKILL');
  process.once('exit', killOnExit);

  let exited = false;
  /** Resolves with how the server ended. */
  const exit = new Promise<string>((done) => {
    child.once('exit', (code, signal) => {
      exited = true;
      dismissWatchdog();
      done(signal ?? `exit code ${code}`);
    });
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited) {
        signalGroup(pid, 'SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS).unref());
        if ((await Promise.race([exit.then(() => 'exited' as const), timer])) === 'timeout') {
          signalGroup(pid, 'SIGKILL');
          await exit;
        }
      }
      // The leader is gone; make sure nothing else of its group lingers.
      signalGroup(pid, 'SIGKILL');
      dismissWatchdog();
      process.removeListener('exit', killOnExit);
      if (ownLogDir) await rm(ownLogDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const address = `${HOST}:${port}`;
  try {
    await waitUntilReady(address, namespace, opts.readyTimeoutMs ?? 90_000, exit);
  } catch (error) {
    const tail = await logTail(logFile, logStart, 30);
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new DevServerError(
      `Temporal dev server (${temporal} ${args.join(' ')}) ${reason}; last lines of ${opts.logFile ? logFile : 'its log'}:\n${tail}`,
    );
  }

  return {
    address,
    uiUrl: uiPort === null ? null : `http://localhost:${uiPort}`,
    pid,
    namespace,
    logFile,
    stop,
  };
}

async function waitUntilReady(
  address: string,
  namespace: string,
  timeoutMs: number,
  exit: Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  let gone: string | null = null;
  void exit.then((reason) => {
    gone = reason;
  });
  while (Date.now() < deadline) {
    // Something else may hold the port and accept connections without answering: every call has a deadline.
    const attempt = probe(address, namespace);
    const outcome = await Promise.race([attempt.then(() => 'ready' as const, (e: unknown) => e), exit]);
    if (outcome === 'ready') return;
    if (gone !== null) throw new Error(`exited (${gone}) before it was ready`);
    lastError = outcome instanceof Error ? outcome.message : String(outcome);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`did not answer on ${address} within ${Math.round(timeoutMs / 1000)} s (last error: ${lastError})`);
}

async function probe(address: string, namespace: string): Promise<void> {
  // lazy: no connection attempt outside the deadline, and close() always runs.
  const connection = Connection.lazy({ address });
  try {
    await connection.withDeadline(Date.now() + 2_000, async () => {
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace });
    });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

async function logTail(file: string, from: number, lines: number): Promise<string> {
  const text = (await readFile(file).catch(() => Buffer.alloc(0))).subarray(from).toString('utf8');
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
