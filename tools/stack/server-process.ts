// A Temporal server (the CLI's dev server or the real server) run as a child process: it
// leads its own process group, writes to a log file, never outlives this process, and
// stop() leaves nothing of it behind. Also the readiness probe both kinds of server share.

import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';

export interface ServerProcess {
  pid: number;
  /** Resolves with how the process ended ('SIGKILL', 'exit code 1', ...). */
  exit: Promise<string>;
  /** Where this run's output starts in the log file (it may hold earlier runs). */
  logStart: number;
  /** SIGTERM to the process group, SIGKILL after a timeout; resolves once it is gone. */
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 10_000;

export async function spawnServer(command: string, args: string[], options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<ServerProcess> {
  const out = openSync(options.logFile, 'a');
  const logStart = fstatSync(out).size;
  let child: ChildProcess;
  try {
    // detached: the server leads its own process group, so stop() can signal all of it.
    child = spawn(command, args, { stdio: ['ignore', out, out], detached: true, env: options.env, cwd: options.cwd });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const error = await new Promise<Error>((r) => child.once('error', r));
    throw new Error(`could not run ${command}: ${error.message}`);
  }

  // The server must not outlive this process, however it ends. On a normal exit the 'exit'
  // handler kills it; for a death by signal (Ctrl-C unhandled, SIGKILL) a watchdog waits for
  // EOF on a pipe from this process, which comes when this process is gone, then kills it.
  const watchdog = spawn('/bin/sh', ['-c', 'read _ ; kill -9 "-$1" 2>/dev/null', 'server-watchdog', String(pid)], {
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
    })();
    return stopping;
  };
  return { pid, exit, logStart, stop };
}

/** The log file a server writes: the one given (its directory created), else a temporary one that remove() deletes. */
export async function serverLogFile(given: string | undefined, tmpPrefix: string): Promise<{ logFile: string; remove(): Promise<void> }> {
  if (given) {
    const logFile = resolve(given);
    await mkdir(dirname(logFile), { recursive: true });
    return { logFile, remove: async () => undefined };
  }
  const dir = await mkdtemp(join(tmpdir(), tmpPrefix));
  return { logFile: join(dir, 'server.log'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls the frontend until it answers for `namespace`; throws if the server exits first or time runs out. */
export async function waitUntilReady(address: string, namespace: string, timeoutMs: number, exit: Promise<string>): Promise<void> {
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
    await sleep(250);
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

/** What a server wrote to its log since `from` (empty when there is no log). */
export async function logSince(file: string, from: number): Promise<string> {
  return (await readFile(file).catch(() => Buffer.alloc(0))).subarray(from).toString('utf8');
}

/** The last `lines` lines of a log text. */
export function lastLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty)';
}

export async function logTail(file: string, from: number, lines: number): Promise<string> {
  return lastLines(await logSince(file, from), lines);
}

