// Times `balance-tracker wallets import` on a file of N addresses into an empty database,
// with the command's peak memory, when the CLI is there.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, openSync, closeSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { World } from '../tools/simulator/world';
import { createRunDatabase } from './database';
import { ProcessMonitor } from './proc';

export interface ImportReport {
  lines: number;
  measured: boolean;
  /** Why it was not measured, or how it failed. */
  problem: string | null;
  exitCode: number | null;
  seconds: number | null;
  linesPerSecond: number | null;
  walletsInDatabase: number | null;
  peakRssMb: number | null;
  cpuSeconds: number | null;
}

const CLI = resolve(__dirname, '../bin/balance-tracker.js');

export async function measureImport(lines: number, seed: string, tmpDir: string, logDir: string, say: (line: string) => void): Promise<ImportReport> {
  const empty = { lines, exitCode: null, seconds: null, linesPerSecond: null, walletsInDatabase: null, peakRssMb: null, cpuSeconds: null };
  if (!existsSync(CLI) || !existsSync(resolve(__dirname, '../src/cli/import.ts'))) {
    return { ...empty, measured: false, problem: 'bin/balance-tracker.js or its wallets import is not there yet' };
  }
  const file = join(tmpDir, `wallets-${lines}.txt`);
  say(`import: writing ${lines} addresses to ${file}`);
  const world = new World({ wallets: lines, seed: `${seed}/import`, slotMs: 0 });
  const out = createWriteStream(file);
  for (let i = 0; i < lines; i += 10_000) {
    if (!out.write(`${world.addresses(i, 10_000).join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');

  const db = await createRunDatabase('import');
  try {
    say(`import: balance-tracker wallets import (${lines} lines)`);
    const logFd = openSync(join(logDir, 'import.log'), 'a');
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'wallets', 'import', file], {
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    const monitor = new ProcessMonitor(child.pid!, 200);
    const [code] = (await once(child, 'exit')) as [number | null];
    const seconds = (performance.now() - started) / 1000;
    const usage = monitor.summary();
    monitor.stop();
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM wallets`.catch(() => [{ n: 0 }]);
    const wallets = row!.n;
    return {
      lines,
      measured: true,
      problem: code === 0 ? null : `exited with code ${code}; see ${join(logDir, 'import.log')}`,
      exitCode: code,
      seconds: Math.round(seconds * 10) / 10,
      linesPerSecond: Math.round(lines / seconds),
      walletsInDatabase: wallets,
      peakRssMb: usage.hwmMb,
      cpuSeconds: usage.cpuSeconds,
    };
  } finally {
    await db.drop().catch(() => {});
    rmSync(file, { force: true });
  }
}
