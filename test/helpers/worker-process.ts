// A worker as operators run it: `balance-tracker worker` in a process of its own, with its
// own environment, so a test can SIGKILL it for real. Its stderr (the log) is kept.
// Every process spawned here is killed when the test process exits, whatever happened.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WORKER_NODE_FLAGS } from '../../src/worker-flags';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'balance-tracker.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerProcess {
  pid: number;
  /** Everything the process wrote to stderr so far (JSON log lines when not a terminal). */
  stderr(): string;
  stdout(): string;
  /** Resolves when the worker logs that it polls; rejects if it exits first or the time runs out. */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** SIGTERM (a clean shutdown), then SIGKILL after `graceMs`; resolves with the exit. */
  stop(graceMs?: number): Promise<Exit>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Runs `balance-tracker <args>` (default `worker`) with exactly `env` (plus PATH and HOME). */
export function spawnWorker(env: Record<string, string>, args: string[] = ['worker']): WorkerProcess {
  // With a deployed worker's node flags (its heap limit included).
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${BIN}`);
  live.add(child);
  const err: Buffer[] = [];
  const out: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  let done: Exit | null = null;
  void exited.then((exit) => (done = exit));
  const stderr = () => Buffer.concat(err).toString('utf8');

  return {
    pid: child.pid,
    stderr,
    stdout: () => Buffer.concat(out).toString('utf8'),
    async ready(timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stderr().includes('"worker running"')) {
        if (done) throw new Error(`worker exited (${JSON.stringify(done)}) before it ran:\n${stderr().slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`worker not running after ${timeoutMs} ms:\n${stderr().slice(-4000)}`);
        await sleep(200);
      }
    },
    kill(signal = 'SIGKILL') {
      if (!done) child.kill(signal);
    },
    exited,
    async stop(graceMs = 30_000) {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
