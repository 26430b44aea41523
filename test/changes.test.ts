// `balance-tracker changes` as operators run it (the built bin in a child process) over a real
// engine sweeping simulated wallets: --json prints the feed exactly, and --follow streams every
// change in order, with no gap and no repeat across a restart with --after <last position>.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { requestTierSweep } from '../src/tier-control';
import { type Engine, startEngine } from './helpers/engine';
import { runCli } from './helpers/cli';
import { type FeedLine, storedFeed } from './helpers/feed-lines';

const WALLETS = 60;
const BIN = join(__dirname, '..', 'bin', 'balance-tracker.js');

/** `changes --follow --json` running in the background: its lines so far, and a way to stop it. */
function follow(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'changes', '--follow', '--json', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = (): FeedLine[] => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FeedLine);
  return {
    lines,
    async waitFor(count: number, timeoutMs = 30_000): Promise<void> {
      for (const deadline = Date.now() + timeoutMs; lines().length < count; await sleep(50)) {
        if (Date.now() > deadline) throw new Error(`follow printed ${lines().length} of ${count} changes; stderr: ${err}`);
      }
    },
    async stop(): Promise<{ code: number | null; stderr: string }> {
      child.kill('SIGTERM');
      return { code: await exited, stderr: err };
    },
  };
}

describe('changes', () => {
  let engine: Engine;
  let env: Record<string, string>;
  let addresses: string[];
  let sweeps = 0;

  /** Changes some balances on chain and sweeps them into Postgres. */
  async function changeAndSweep(count: number, round: number): Promise<void> {
    addresses.slice(round, round + count).forEach((a, i) => engine.sim.world.setBalance(a, 10_000_000n * BigInt(round + 1) + BigInt(i)));
    // Reads are at 'confirmed', one slot behind the newest; past half the 1s interval every wallet is due.
    engine.sim.world.advance(2, { changes: false });
    await sleep(700);
    await requestTierSweep(engine.client, engine.config, 'high', 'changes test');
    await engine.waitForSweeps('high', ++sweeps);
  }

  beforeAll(async () => {
    engine = await startEngine({ simulator: { wallets: WALLETS, seed: 5 }, env: { TIER_HIGH_INTERVAL: '1s', SEGMENTATION: 'off' } });
    env = { DATABASE_URL: engine.config.databaseUrl };
    addresses = engine.sim.world.addresses(0, WALLETS);
    // One wallet above 2^53 lamports: the amount must stay exact.
    engine.sim.world.setBalance(addresses[0]!, 2n ** 60n + 7n);
    await addWallets(engine.sql, addresses as Address[], 'high');
  });
  afterAll(() => engine?.stop());

  it('--follow streams every change in order, with no gap across a restart with --after', async () => {
    const first = follow(env);
    await changeAndSweep(0, 0); // first observations of every wallet
    await first.waitFor(WALLETS);
    await changeAndSweep(7, 1);
    await first.waitFor(WALLETS + 7);
    // The follower's LISTEN connection is cut: postgres.js listens again, and the follow goes on.
    const cut = await engine.sql<{ ok: boolean }[]>`
      SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE application_name = 'balance-tracker-cli' AND query ILIKE 'listen%'`;
    expect(cut.map((r) => r.ok)).toEqual([true]);
    await changeAndSweep(4, 4);
    await first.waitFor(WALLETS + 7 + 4);
    const stopped = await first.stop();
    expect(stopped).toEqual({ code: 0, stderr: '' });
    const seen = first.lines();
    const last = seen.at(-1)!.position;

    // Changes stored while nobody follows, then a new follower from the last position.
    await changeAndSweep(5, 2);
    const second = follow(env, ['--after', last]);
    await changeAndSweep(9, 3);
    const total = (await storedFeed(engine.sql)).length;
    expect(total).toBe(WALLETS + 7 + 4 + 5 + 9);
    await second.waitFor(total - seen.length);
    expect((await second.stop()).code).toBe(0);

    const streamed = [...seen, ...second.lines()];
    expect(streamed).toEqual(await storedFeed(engine.sql));
    // Positions strictly rise; each wallet's changes come in slot order, amounts exact.
    expect(streamed.every((c, i) => i === 0 || BigInt(c.position) > BigInt(streamed[i - 1]!.position))).toBe(true);
    const slots = new Map<string, bigint>();
    for (const c of streamed) {
      expect(BigInt(c.slot)).toBeGreaterThan(slots.get(c.wallet) ?? -1n);
      slots.set(c.wallet, BigInt(c.slot));
    }
    expect(streamed.find((c) => c.wallet === addresses[0])!.amount).toBe((2n ** 60n + 7n).toString());
    const history = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM balance_changes`;
    expect(BigInt(streamed.length)).toBe(history[0]!.n);
  });

  it('--json prints the feed after a position, one object per line; --limit stops early; text is a table', async () => {
    const feed = await storedFeed(engine.sql);
    const all = await runCli(['changes', '--json'], env);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as FeedLine)).toEqual(feed);
    const some = await runCli(['changes', '--json', '--after', feed[9]!.position, '--limit', '5'], env);
    expect(some.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as FeedLine)).toEqual(feed.slice(10, 15));
    const text = await runCli(['changes', '--after', feed.at(-2)!.position], env);
    const rows = text.stdout.split('\n').filter(Boolean);
    expect(rows[0]!.split(/\s+/).filter(Boolean)).toEqual(['POSITION', 'WALLET', 'ASSET', 'SLOT', 'AMOUNT', 'PREVIOUS', 'OBSERVED']);
    expect(rows.slice(1).map((r) => r.trim().split(/\s+/).slice(0, 4))).toEqual([feed.at(-1)!].map((c) => [c.position, c.wallet, 'SOL', c.slot]));
    const none = await runCli(['changes', '--after', feed.at(-1)!.position], env);
    expect(none).toEqual({ code: 0, stdout: `no changes after position ${feed.at(-1)!.position}\n`, stderr: '' });
  });

  it('--help documents the options, the JSON line and the exit statuses', async () => {
    const help = await runCli(['changes', '--help'], env);
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    for (const text of ['Usage: balance-tracker changes', '--after <position>', '--follow', '--limit <n>', '--json', '"position"', 'Exit status']) expect(help.stdout).toContain(text);
  });

  it('a bad --after or --limit is a usage error, exit 2', async () => {
    for (const args of [['--after', 'abc'], ['--after', '-1'], ['--after', '99999999999999999999'], ['--limit', '0']]) {
      const result = await runCli(['changes', ...args], env);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^error: balance-tracker changes: --(after|limit) must be .*\(see balance-tracker changes --help\)\n$/);
    }
  });
});
