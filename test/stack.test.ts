// `npm start` end to end: the local stack comes up with no configuration but a database URL,
// a worker polls the dev server it started, Ctrl-C leaves no process behind, and a restart on
// the same database and data directory sweeps at once (the simulator's slot never goes back);
// a worker pointed at another cluster is refused. It runs the build, as `npm start` does (the
// stack project's global setup builds dist/ first).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/client';
import { startSimulator } from '../tools/simulator/server';
import { freshDatabase } from './helpers/database';
import { portOpen, processExists } from './helpers/processes';
import { spawnWorker } from './helpers/worker-process';

const ROOT = join(__dirname, '..');

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

interface Stack {
  child: ChildProcess;
  lines: LogLine[];
  stderr(): string;
  waitFor(msg: string): Promise<LogLine>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

function startStack(databaseUrl: string, dataDir: string, extraEnv: Record<string, string> = {}): Stack {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, RPC_MAX_RPS: '100', ...extraEnv };
  for (const name of ['TEMPORAL_ADDRESS', 'SOLANA_RPC_URL', 'TASK_QUEUE']) delete env[name];
  const child = spawn(process.execPath, ['dist/tools/stack/main.js', '--temporal-port', '0', '--ui-port', '0', '--simulator-port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      if (!line.startsWith('{')) continue; // the banner and the rest are plain text
      lines.push(JSON.parse(line) as LogLine);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (msg: string) => {
    for (let i = 0; i < 600; i++) {
      const line = lines.find((l) => l.msg === msg);
      if (line) return line;
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no '${msg}' log line:\n${stderr}`);
  };
  return { child, lines, stderr: () => stderr, waitFor, exited };
}

async function until<T>(what: string, probe: () => Promise<T | null>, tries = 480): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('npm start', () => {
  afterAll(() => {
    for (const child of children) if (child.pid && processExists(child.pid)) child.kill('SIGKILL');
  });

  it('starts Temporal, the simulator and a worker, and stops all of them on SIGINT', async () => {
    const db = await freshDatabase('stack');
    const dataDir = await mkdtemp(join(tmpdir(), 'bt-stack-'));
    const stack = startStack(db.url, dataDir);
    const temporal = await stack.waitFor('Temporal dev server running');
    const simulator = await stack.waitFor('Solana RPC simulator running (SOLANA_RPC_URL not set)');
    await stack.waitFor('worker running');
    expect(stack.stderr()).toContain('solana balance tracker is running.');
    expect(stack.stderr()).toContain(`Temporal log:     ${join(dataDir, 'temporal.log')}`);
    expect(simulator.demoWalletsAdded).toBe(3_000);
    // The demo wallets are pinned to their tiers, a third each: re-tiering does not undo the demo.
    const sql = connect(db.url, { max: 1 });
    const pinned = await sql<{ tier: string; n: bigint }[]>`
      SELECT tier, count(*) AS n FROM wallets WHERE pinned_until > now() + interval '50 years' GROUP BY tier ORDER BY tier`;
    await sql.end();
    expect(pinned.map((r) => [r.tier, Number(r.n)])).toEqual([['high', 1_000], ['low', 1_000], ['medium', 1_000]]);
    // The RPC worker serves no workflows by design: the SDK's warning about it is not shown.
    expect(stack.stderr()).not.toContain('No workflows registered');

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
      // Readable in the Web UI's list: a static summary, not only an id.
      const described = await client.workflow.getHandle('balance-tier-high').describe();
      expect(await described.staticSummary()).toBe("high tier: sweeps on balance-sweep-high's ticks, answers the progress query");
    } finally {
      await connection.close();
    }

    const devPid = Number(temporal.pid);
    const simPort = Number(new URL(String(simulator.url)).port);
    expect(processExists(devPid)).toBe(true);
    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(stack.lines.map((l) => l.msg)).toContain('worker stopped');
    expect(processExists(devPid)).toBe(false);
    expect(await portOpen(`127.0.0.1:${simPort}`)).toBe(false);
    expect(await portOpen(String(temporal.address))).toBe(false);
    await rm(dataDir, { recursive: true, force: true });
    await db.drop();
  });

  it('sweeps at once after a restart on the same database, and refuses a worker on another cluster', async () => {
    const db = await freshDatabase('stack_restart');
    const dataDir = await mkdtemp(join(tmpdir(), 'bt-stack-'));
    const sql = connect(db.url, { max: 1 });
    const env = { TIER_HIGH_INTERVAL: '5s' };
    try {
      const first = startStack(db.url, dataDir, env);
      const firstSim = await first.waitFor('Solana RPC simulator running (SOLANA_RPC_URL not set)');
      await first.waitFor('worker running');
      await until('a high sweep of the first run', async () => {
        const [row] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM batch_checks WHERE tier = 'high'`;
        return row!.n >= 10n ? row : null; // 1,000 demo wallets: 10 batches, one sweep
      });
      first.child.kill('SIGINT');
      expect(await first.exited).toBe(0);
      const [stored] = await sql<{ slot: bigint }[]>`SELECT max(slot) AS slot FROM batch_checks`;
      const [cluster] = await sql<{ genesisHash: string }[]>`SELECT genesis_hash FROM cluster`;
      expect(cluster!.genesisHash).toBe(firstSim.genesisHash);

      const restartedAt = new Date();
      const second = startStack(db.url, dataDir, env);
      const secondSim = await second.waitFor('Solana RPC simulator running (SOLANA_RPC_URL not set)');
      // The clock did not go back: the new simulator starts past every slot already stored.
      expect(BigInt(secondSim.slot as number)).toBeGreaterThan(BigInt(stored!.slot));
      expect(secondSim.genesisHash).toBe(firstSim.genesisHash);
      const temporal = await second.waitFor('Temporal dev server running');
      await second.waitFor('worker running');
      await until('a high sweep after the restart', async () => {
        const [row] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM batch_checks WHERE tier = 'high' AND checked_at > ${restartedAt}`;
        return row!.n >= 10n ? row : null;
      });
      // No batch had to wait for the node to catch up with the stored slots.
      expect(second.stderr()).not.toContain('behind the slot');

      // Another cluster (another seed: another genesis hash) against the same database.
      const other = await startSimulator({ port: 0, wallets: 10, seed: 'another cluster' });
      try {
        const refused = spawnWorker({
          DATABASE_URL: db.url,
          TEMPORAL_ADDRESS: String(temporal.address),
          TASK_QUEUE: 'bt-other-cluster',
          SOLANA_RPC_URL: other.url,
        });
        const exit = await refused.exited;
        expect(exit.code).toBe(1);
        const errors = refused.stderr().split('\n').filter((l) => l.startsWith('error: '));
        expect(errors).toEqual([
          `error: the database holds balances from the Solana cluster with genesis hash ${firstSim.genesisHash}, but SOLANA_RPC_URL serves ${other.world.genesisHash}: ` +
            'use a new database for this cluster (DATABASE_URL naming one that does not exist yet is created), or point SOLANA_RPC_URL back at that cluster',
        ]);
        const [kept] = await sql<{ genesisHash: string }[]>`SELECT genesis_hash FROM cluster`;
        expect(kept!.genesisHash).toBe(firstSim.genesisHash);
      } finally {
        await other.stop();
      }
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    } finally {
      await sql.end();
      await rm(dataDir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
