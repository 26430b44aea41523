// Child processes of the benchmark: each in its own node process (so its pid is the worker's,
// for /proc), talking over IPC, output to a log file. They run compiled, with plain node, as the
// service is deployed: through tsx, its loader thread and the transpiled sources added 50 MB to
// every process's memory (an idle process that loads the worker: 154 MB against 99 MB).

import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/package-root';

export interface Child<In, Out extends { type: string }> {
  process: ChildProcess;
  pid: number;
  send(message: In): void;
  /** The next message of this type (or a failure / an exit, as an error). */
  next<T extends Out['type']>(type: T, timeoutMs?: number): Promise<Extract<Out, { type: T }>>;
  /** Resolves when the process has exited; SIGKILL after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
}

/** Children still running: killed if the benchmark itself exits first. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Extra node flags for the children, from BENCH_CHILD_NODE_FLAGS (space-separated): e.g.
 * `--cpu-prof --cpu-prof-dir=bench-out/prof` to profile the tracker's worker process.
 */
const childNodeFlags = (process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/** bench/NAME.ts as `npm run bench` built it: dist/bench/NAME.js. */
function compiledScript(script: string): string {
  const path = join(PACKAGE_ROOT, 'dist', 'bench', script.replace(/\.ts$/, '.js'));
  if (!existsSync(path)) throw new Error(`${path} is missing: npm run bench builds it (npm run build)`);
  return path;
}

export function forkChild<In, Out extends { type: string }>(script: string, env: Record<string, string>, logFile: string, nodeFlags: readonly string[] = []): Child<In, Out> {
  const path = compiledScript(script);
  const fd = openSync(logFile, 'w');
  const child = fork(path, [], {
    execArgv: [...nodeFlags, ...childNodeFlags],
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  running.add(child);
  child.once('exit', () => running.delete(child));
  const queue: Out[] = [];
  const waiters: { type: string; resolve: (m: Out) => void; reject: (e: Error) => void }[] = [];
  let exitCode: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deliver = (message: Out): void => {
    const i = waiters.findIndex((w) => w.type === message.type || message.type === 'failed');
    if (i === -1) {
      queue.push(message);
      return;
    }
    const [waiter] = waiters.splice(i, 1);
    if (message.type === 'failed') waiter!.reject(new Error(`${script} failed: ${(message as unknown as { message: string }).message}`));
    else waiter!.resolve(message);
  };
  child.on('message', (message: Out) => deliver(message));
  void exit.then((code) => {
    exitCode = code;
    for (const waiter of waiters.splice(0)) waiter.reject(new Error(`${script} exited (code ${code}) before sending '${waiter.type}'; see ${logFile}`));
  });

  return {
    process: child,
    pid: child.pid!,
    send: (message) => {
      child.send(message as object);
    },
    next: (type, timeoutMs = 600_000) =>
      new Promise((resolve, reject) => {
        const queued = queue.findIndex((m) => m.type === type);
        if (queued !== -1) {
          resolve(queue.splice(queued, 1)[0] as Extract<Out, { type: typeof type }>);
          return;
        }
        if (exitCode !== undefined) {
          reject(new Error(`${script} has exited (code ${exitCode}); see ${logFile}`));
          return;
        }
        const timer = setTimeout(() => reject(new Error(`${script}: no '${type}' within ${timeoutMs} ms; see ${logFile}`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m as Extract<Out, { type: typeof type }>);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
      }),
    exited: async (timeoutMs = 30_000) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
