// `npm start` end to end: the local stack comes up with no configuration but a database URL,
// a worker polls the dev server it started, and Ctrl-C leaves no process behind.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './helpers/database';
import { portOpen, processExists } from './helpers/processes';

const ROOT = join(__dirname, '..');

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

describe('npm start', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid && processExists(child.pid)) child.kill('SIGKILL');
  });

  it('starts Temporal, the simulator and a worker, and stops all of them on SIGINT', async () => {
    const db = await freshDatabase('stack');
    const dataDir = await mkdtemp(join(tmpdir(), 'bt-stack-'));
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, RPC_MAX_RPS: '100' };
    for (const name of ['TEMPORAL_ADDRESS', 'SOLANA_RPC_URL', 'TASK_QUEUE']) delete env[name];
    child = spawn(process.execPath, ['--import', 'tsx', 'src/stack/main.ts', '--temporal-port', '0', '--ui-port', '0', '--simulator-port', '0', '--data-dir', dataDir], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: LogLine[] = [];
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      for (const line of chunk.toString().split('\n')) {
        if (line.startsWith('{')) {
          try {
            lines.push(JSON.parse(line) as LogLine);
          } catch {
            // a partial line; the banner and the rest are plain text
          }
        }
      }
    });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const waitFor = async (msg: string) => {
      for (let i = 0; i < 600; i++) {
        const line = lines.find((l) => l.msg === msg);
        if (line) return line;
        if (child!.exitCode !== null) throw new Error(`npm start exited early:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`no '${msg}' log line:\n${stderr}`);
    };

    const temporal = await waitFor('Temporal dev server running');
    const simulator = await waitFor('Solana RPC simulator running (SOLANA_RPC_URL not set)');
    await waitFor('worker running');
    expect(stderr).toContain('solana balance tracker is running.');
    expect(simulator.demoWalletsAdded).toBe(3_000);

    const connection = await Connection.connect({ address: String(temporal.address) });
    try {
      const client = new Client({ connection });
      const queue = await client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: 'balance-tracker' },
        taskQueueType: 1, // workflow tasks
      });
      expect(queue.pollers.length).toBeGreaterThan(0);
      // Visibility lags behind the starts a little.
      let tiers: string[] = [];
      for (let i = 0; i < 100 && tiers.length < 3; i++) {
        tiers = [];
        for await (const w of client.workflow.list({ query: `BalanceWorkflowKind = 'tier' AND ExecutionStatus = 'Running'` })) tiers.push(w.workflowId);
        if (tiers.length < 3) await new Promise((r) => setTimeout(r, 200));
      }
      expect(tiers.sort()).toEqual(['balance-tier-high', 'balance-tier-low', 'balance-tier-medium']);
    } finally {
      await connection.close();
    }

    const devPid = Number(temporal.pid);
    const simPort = Number(new URL(String(simulator.url)).port);
    expect(processExists(devPid)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(processExists(devPid)).toBe(false);
    expect(await portOpen(`127.0.0.1:${simPort}`)).toBe(false);
    expect(await portOpen(String(temporal.address))).toBe(false);
    await rm(dataDir, { recursive: true, force: true });
    await db.drop();
  });
});
