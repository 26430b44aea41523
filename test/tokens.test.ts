// Token balances end to end: real dev server, Postgres and workers over the simulator, with two
// tracked mints (one per token program) read in the same getMultipleAccounts calls as the wallets.

import { setTimeout as sleep } from 'node:timers/promises';
import { getAddressDecoder } from '@solana/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { findAssociatedTokenPda } from '@solana-program/token';
import { address } from '@solana/kit';
import { writeBatch } from '../src/db/checks';
import { createAtaResolver } from '../src/db/token-accounts';
import { retier } from '../src/db/segmentation';
import { addWallets } from '../src/db/wallets';
import { registry } from '../src/metrics';
import { readMints, readTrackedMints } from '../src/rpc/mints';
import { requestTierSweep } from '../src/tier-control';
import { attemptTimeoutMs } from '../src/rpc/attempt';
import { TOKEN_2022_PROGRAM_ADDRESS } from '../src/tokens';
import { batchWorkflowId } from '../workflows/definitions';
import type { MintSpec } from '../tools/simulator/world';
import { runCli } from './helpers/cli';
import { type Engine, startEngine } from './helpers/engine';

const WALLETS = 250;
const USDC_LIKE: MintSpec = { address: getAddressDecoder().decode(new Uint8Array(32).fill(0xb1)), program: 'token', decimals: 6 };
const T22: MintSpec = { address: getAddressDecoder().decode(new Uint8Array(32).fill(0xb2)), program: 'token-2022', decimals: 9 };
const MINTS = [USDC_LIKE, T22];

interface TokenRow {
  walletId: number;
  address: string;
  mint: string;
  amount: bigint;
  onChain: boolean;
  slot: bigint;
}

const tokenRows = (engine: Engine) =>
  engine.sql<TokenRow[]>`
    SELECT t.wallet_id, w.address, t.mint, t.amount, t.on_chain, t.slot
    FROM token_balances t JOIN wallets w ON w.id = t.wallet_id ORDER BY t.wallet_id, t.mint`;
const count = async (engine: Engine, table: 'token_changes' | 'token_balances') =>
  Number((await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM ${engine.sql(table)}`)[0]!.n);

/** A token counter's value for tier high in this process's registry (the workers run in it). */
async function tokenMetric(name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => v.labels.tier === 'high')?.value ?? 0;
}

describe('token balances', () => {
  let engine: Engine;
  let wallets: string[];
  let firstSweep: TokenRow[];

  beforeAll(async () => {
    engine = await startEngine({
      simulator: { wallets: WALLETS, seed: 'tokens-e2e', mints: MINTS, missingFraction: 0.1 },
      // BATCH_TIMEOUT above the attempts' start-to-close timeout, which Temporal caps at it.
      // Ten batches an attempt: its timeout (below) stays under BATCH_TIMEOUT, which would cap it.
      env: { TIER_HIGH_INTERVAL: '1s', TRACKED_MINTS: MINTS.map((m) => m.address).join(','), BATCHES_PER_CHILD: '2', BATCHES_PER_ACTIVITY: '10', BATCH_TIMEOUT: '10m' },
    });
    wallets = engine.sim.world.addresses(0, WALLETS);
    // An exact amount above 2^53 in the Token-2022 ATA of the first wallet.
    await engine.sim.world.setTokenAmount(wallets[0]!, T22.address, 2n ** 53n + 1n);
    engine.sim.world.advance(2, { changes: false });
    await addWallets(engine.sql, wallets as Address[], 'high');
    engine.sim.resetStats();
  });
  afterAll(() => engine?.stop());

  it('records each mint with its program and decimals, read from chain at start', async () => {
    const mints = await engine.sql<{ address: string; tokenProgram: string; decimals: number }[]>`
      SELECT address, token_program, decimals FROM mints ORDER BY decimals`;
    expect(mints).toEqual([
      { address: USDC_LIKE.address, tokenProgram: 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', decimals: 6 },
      { address: T22.address, tokenProgram: TOKEN_2022_PROGRAM_ADDRESS, decimals: 9 },
    ]);
  });

  it('reads every wallet and its 2 ATAs in exactly ceil(N × 3 / 100) calls, amounts exact, missing ATAs 0', async () => {
    await requestTierSweep(engine.client, engine.config, 'high', 'test');
    const progress = await engine.waitForSweeps('high', 1);
    const calls = Math.ceil((WALLETS * 3) / 100);
    expect(progress.lastSweep).toMatchObject({ due: WALLETS, walletsChecked: WALLETS, batchesFailed: 0, rpcCalls: calls });
    expect(engine.sim.stats().methods).toEqual({ getMultipleAccounts: { ok: calls } });
    // Each batch makes 3 calls, each allowed its turn and RPC_TIMEOUT (10 s): the attempt's timeout grows with them.
    const history = await engine.client.workflow.getHandle(batchWorkflowId(progress.lastSweep!.sweepId, 0)).fetchHistory();
    const scheduled = history.events!.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkBatches' ? [e.activityTaskScheduledEventAttributes] : []));
    expect(scheduled.length).toBeGreaterThan(0);
    const timeoutMs = attemptTimeoutMs(10_000, 2, engine.config.batchesPerActivity);
    expect(timeoutMs).toBeGreaterThan(attemptTimeoutMs(10_000, 0, engine.config.batchesPerActivity));
    expect(scheduled.map((a) => Number(a.startToCloseTimeout!.seconds))).toEqual(scheduled.map(() => timeoutMs / 1000));

    const rows = await tokenRows(engine);
    expect(rows).toHaveLength(WALLETS * MINTS.length);
    let missing = 0;
    for (const row of rows) {
      const truth = engine.sim.world.tokenAmountAt(row.address, row.mint, row.slot);
      if (truth === null) missing++;
      expect({ amount: row.amount, onChain: row.onChain }).toEqual({ amount: truth ?? 0n, onChain: truth !== null });
    }
    expect(missing).toBeGreaterThan(0);
    expect(rows.find((r) => r.address === wallets[0] && r.mint === T22.address)!.amount).toBe(9007199254740993n);
    // The world's whales hold u64::MAX.
    expect(rows.some((r) => r.amount === 2n ** 64n - 1n)).toBe(true);
    expect(await count(engine, 'token_changes')).toBe(WALLETS * MINTS.length);
    expect(await tokenMetric('balance_tracker_token_accounts_checked_total')).toBe(WALLETS * MINTS.length);
    expect(await tokenMetric('balance_tracker_token_accounts_changed_total')).toBe(WALLETS * MINTS.length);
    firstSweep = rows;
  });

  it('derives each ATA once and keeps it: the next sweep and any worker read it from Postgres', async () => {
    const stored = await engine.sql<{ walletId: number; mint: string; tokenProgram: string; address: string }[]>`
      SELECT wallet_id, mint, token_program, address FROM token_accounts ORDER BY wallet_id, mint`;
    expect(stored).toHaveLength(WALLETS * MINTS.length);
    const [one] = await engine.sql<{ id: number; address: string }[]>`SELECT id, address FROM wallets ORDER BY id LIMIT 1`;
    for (const mint of MINTS) {
      const program = mint.program === 'token' ? 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA' : TOKEN_2022_PROGRAM_ADDRESS;
      const [ata] = await findAssociatedTokenPda({ owner: address(one!.address), mint: address(mint.address), tokenProgram: address(program) });
      expect(stored.find((r) => r.walletId === one!.id && r.mint === mint.address)).toMatchObject({ tokenProgram: program, address: ata });
    }
    // The resolver answers from the table (a marked row comes back as stored) and derives only
    // what is missing or was derived under another program (then replaced).
    const mints = await readMints({ url: engine.sim.url, commitment: 'confirmed', timeoutMs: 5_000 }, MINTS.map((m) => m.address));
    const marker = wallets[7]!;
    await engine.sql`UPDATE token_accounts SET address = ${marker} WHERE wallet_id = ${one!.id} AND mint = ${mints[0]!.address}`;
    await engine.sql`UPDATE token_accounts SET token_program = 'elsewhere' WHERE wallet_id = ${one!.id} AND mint = ${mints[1]!.address}`;
    const [atas] = await createAtaResolver(engine.sql)([{ id: one!.id, address: one!.address }], mints);
    const [t22] = await findAssociatedTokenPda({ owner: address(one!.address), mint: address(mints[1]!.address), tokenProgram: address(mints[1]!.program) });
    expect(atas).toEqual([marker, t22]);
    const after = await engine.sql<{ tokenProgram: string; address: string }[]>`
      SELECT token_program, address FROM token_accounts WHERE wallet_id = ${one!.id} ORDER BY mint = ${mints[0]!.address} DESC`;
    expect(after).toEqual([{ tokenProgram: mints[0]!.program, address: marker }, { tokenProgram: mints[1]!.program, address: t22 }]);
    // Put back the true ATA: the next tests sweep this wallet.
    const [usdc] = await findAssociatedTokenPda({ owner: address(one!.address), mint: address(mints[0]!.address), tokenProgram: address(mints[0]!.program) });
    await engine.sql`UPDATE token_accounts SET address = ${usdc} WHERE wallet_id = ${one!.id} AND mint = ${mints[0]!.address}`;
  });

  it('picks up a change, an appearance and a closed ATA on the next sweep, with history only for them', async () => {
    const world = engine.sim.world;
    const slot = BigInt(world.slot());
    const present = firstSweep.filter((r) => r.onChain && r.mint === USDC_LIKE.address && r.address !== wallets[0]);
    const absent = firstSweep.find((r) => !r.onChain)!;
    const [changed, closed] = present;
    await world.setTokenAmount(changed!.address, USDC_LIKE.address, 2n ** 60n + 7n);
    await world.setTokenAmount(closed!.address, USDC_LIKE.address, null);
    await world.setTokenAmount(absent.address, absent.mint, 5n);
    world.advance(2, { changes: false });
    await sleep(700); // past half the interval: every wallet is due again
    engine.sim.resetStats();
    await requestTierSweep(engine.client, engine.config, 'high', 'test');
    await engine.waitForSweeps('high', 2);
    expect(engine.sim.stats().methods).toEqual({ getMultipleAccounts: { ok: Math.ceil((WALLETS * 3) / 100) } });
    expect(await tokenMetric('balance_tracker_token_accounts_checked_total')).toBe(2 * WALLETS * MINTS.length);
    expect(await tokenMetric('balance_tracker_token_accounts_changed_total')).toBe(WALLETS * MINTS.length + 3);

    const rows = await tokenRows(engine);
    const find = (r: TokenRow) => rows.find((x) => x.walletId === r.walletId && x.mint === r.mint)!;
    expect(find(changed!)).toMatchObject({ amount: 2n ** 60n + 7n, onChain: true });
    expect(find(closed!)).toMatchObject({ amount: 0n, onChain: false });
    expect(find(absent)).toMatchObject({ amount: 5n, onChain: true });
    for (const r of [changed!, closed!, absent]) expect(find(r).slot).toBeGreaterThan(slot);
    const unchanged = rows.filter((r) => ![changed, closed, absent].some((c) => c!.walletId === r.walletId && c!.mint === r.mint));
    expect(unchanged.every((r) => firstSweep.some((f) => f.walletId === r.walletId && f.mint === r.mint && f.slot === r.slot && f.amount === r.amount))).toBe(true);

    const history = await engine.sql<{ walletId: number; mint: string; amount: bigint; onChain: boolean; previousAmount: bigint | null }[]>`
      SELECT wallet_id, mint, amount, on_chain, previous_amount FROM token_changes WHERE previous_amount IS NOT NULL ORDER BY wallet_id, mint`;
    expect(history).toEqual(
      [
        { walletId: changed!.walletId, mint: USDC_LIKE.address, amount: 2n ** 60n + 7n, onChain: true, previousAmount: changed!.amount },
        { walletId: closed!.walletId, mint: USDC_LIKE.address, amount: 0n, onChain: false, previousAmount: closed!.amount },
        { walletId: absent.walletId, mint: absent.mint, amount: 5n, onChain: true, previousAmount: 0n },
      ].sort((a, b) => a.walletId - b.walletId || a.mint.localeCompare(b.mint)),
    );

    // The change feed carries every token change too (asset = the mint), once each, and per
    // (wallet, mint) in slot order: sorted by position within each pair, it is the history.
    type FeedRow = { walletId: number; asset: string; slot: bigint; amount: bigint; previous: bigint | null };
    const feed = await engine.sql<(FeedRow & { position: bigint })[]>`
      SELECT position, wallet_id, asset, slot, amount, previous FROM change_feed WHERE asset <> 'SOL'`;
    const byPair = (a: FeedRow, b: FeedRow) => a.walletId - b.walletId || a.asset.localeCompare(b.asset);
    const fed = [...feed].sort((a, b) => byPair(a, b) || Number(a.position - b.position)).map(({ position: _p, ...row }) => row);
    const stored = await engine.sql<FeedRow[]>`
      SELECT wallet_id, mint AS asset, slot, amount, previous_amount AS previous FROM token_changes`;
    expect(fed).toEqual([...stored].sort((a, b) => byPair(a, b) || Number(a.slot - b.slot)));
  });

  it('writes nothing twice when a batch is replayed, nor an older read over a newer one', async () => {
    const [batch] = await engine.sql<{ batchKey: string; fromId: number; toId: number; plannedAt: string; readAt: string; slot: bigint; walletIds: number[] }[]>`
      SELECT batch_key, from_id, to_id, planned_at::text, read_at::text, slot, wallet_ids FROM batch_checks ORDER BY planned_at, batch_key LIMIT 1`;
    const before = { history: await count(engine, 'token_changes'), rows: await tokenRows(engine) };
    const ids = new Set(batch!.walletIds.map(Number));
    // The first sweep's batch again, as it read then: its key is recorded and its slot is older.
    const result = await writeBatch(engine.sql, {
      batchKey: batch!.batchKey,
      tier: 'high',
      fromId: batch!.fromId,
      toId: batch!.toId,
      plannedAt: batch!.plannedAt,
      readAt: batch!.readAt,
      slot: batch!.slot,
      observations: [],
      tokens: firstSweep.filter((r) => ids.has(r.walletId)).map((r) => ({ id: r.walletId, mint: r.mint, amount: r.amount, onChain: r.onChain, slot: r.slot })),
    });
    expect(result).toMatchObject({ tokensChanged: 0, tokenHistoryRows: 0, recorded: false });
    expect(await count(engine, 'token_changes')).toBe(before.history);
    expect(await tokenRows(engine)).toEqual(before.rows);
  });

  it('are shown by wallets show and list: raw u64 as a decimal string, the UI amount exact from the decimals', async () => {
    const env = { DATABASE_URL: engine.env.DATABASE_URL! };
    const shown = await runCli(['wallets', 'show', wallets[0]!, '--json'], env);
    expect(shown.code).toBe(0);
    const json = JSON.parse(shown.stdout) as { tokens: { mint: string; amount: string; uiAmount: string; decimals: number; onChain: boolean; slot: string }[] };
    const stored = (await tokenRows(engine)).filter((r) => r.address === wallets[0]);
    expect(json.tokens).toEqual(
      stored.map((r) => ({
        mint: r.mint,
        amount: r.amount.toString(),
        uiAmount: r.mint === T22.address ? '9007199.254740993' : expect.stringMatching(/^\d+\.\d{6}$/),
        decimals: r.mint === T22.address ? 9 : 6,
        onChain: r.onChain,
        slot: r.slot.toString(),
      })),
    );
    const human = await runCli(['wallets', 'show', wallets[0]!], env);
    expect(human.stdout).toMatch(new RegExp(`${T22.address}\\s+9007199\\.254740993\\s+9007199254740993\\s+9\\s`));
    const status = await runCli(['status', '--json'], engine.env);
    expect(status.code).toBe(0);
    const { tokens } = JSON.parse(status.stdout) as { tokens: { mint: string; decimals: number; accounts: number; onChain: number; changesLastHour: number; tracked: boolean }[] };
    const all = await tokenRows(engine);
    expect(tokens.map(({ mint, decimals, accounts, onChain, tracked }) => ({ mint, decimals, accounts, onChain, tracked }))).toEqual(
      [USDC_LIKE, T22]
        .map((m) => ({ mint: m.address, decimals: m.decimals, accounts: WALLETS, onChain: all.filter((r) => r.mint === m.address && r.onChain).length, tracked: true }))
        .sort((a, b) => (a.mint < b.mint ? -1 : 1)),
    );
    expect(tokens.reduce((n, t) => n + t.changesLastHour, 0)).toBe(3);
    expect((await runCli(['status'], engine.env)).stdout).toMatch(new RegExp(`Tokens: ${T22.address} \\(Token-2022, 9 decimals\\): 250 ATAs read`));
    const listed = await runCli(['wallets', 'list', '--json', '--limit', '3'], env);
    const list = JSON.parse(listed.stdout) as { wallets: { address: string; tokens: { mint: string; amount: string }[] }[] };
    expect(list.wallets).toHaveLength(3);
    for (const w of list.wallets) {
      const rows = (await tokenRows(engine)).filter((r) => r.address === w.address);
      expect(w.tokens.map((t) => [t.mint, t.amount])).toEqual(rows.map((r) => [r.mint, r.amount.toString()]));
    }
  });

  it('treats a token account owned by another program as a malformed answer: retried, never stored', async () => {
    const target = (await tokenRows(engine)).find((r) => r.onChain && r.mint === T22.address && r.address !== wallets[0])!;
    await engine.sim.world.setTokenAmount(target.address, T22.address, 424242n);
    engine.sim.world.advance(2, { changes: false });
    await sleep(700);
    engine.sim.setKnobs({ wrongOwnerRate: 1 });
    engine.sim.resetStats();
    await requestTierSweep(engine.client, engine.config, 'high', 'test');
    await sleep(1_500);
    const during = (await tokenRows(engine)).find((r) => r.walletId === target.walletId && r.mint === T22.address)!;
    expect(during).toEqual(target);
    // The lying answers were served, and refused.
    expect(engine.sim.stats().httpOutcomes.lie).toBeGreaterThan(0);
    engine.sim.setKnobs({ wrongOwnerRate: 0 });
    const progress = await engine.waitForSweeps('high', 3);
    expect(progress.lastSweep).toMatchObject({ batchesFailed: 0, walletsChecked: WALLETS });
    for (const row of await tokenRows(engine)) {
      const truth = engine.sim.world.tokenAmountAt(row.address, row.mint, row.slot);
      expect({ amount: row.amount, onChain: row.onChain }).toEqual({ amount: truth ?? 0n, onChain: truth !== null });
    }
    expect((await tokenRows(engine)).find((r) => r.walletId === target.walletId && r.mint === T22.address)!.amount).toBe(424242n);
  });

  it('counts token changes as activity when re-tiering', async () => {
    await sleep(1_100);
    // Busy from one change in the hour, idle after a second without one: only the wallets whose
    // tokens changed (their lamports never did) are busy.
    await retier(engine.sql, { ...engine.config.segmentation, windowMs: 3_600_000, highMinChanges: 1, quietAfterMs: 1_000 });
    const tiers = await engine.sql<{ id: number; tier: string }[]>`SELECT id, tier FROM wallets ORDER BY id`;
    const busy = new Set((await engine.sql<{ walletId: number }[]>`SELECT DISTINCT wallet_id FROM token_changes WHERE previous_amount IS NOT NULL`).map((r) => r.walletId));
    expect(busy.size).toBeGreaterThan(0);
    expect(tiers.filter((t) => t.tier === 'high').map((t) => t.id)).toEqual([...busy].sort((a, b) => a - b));
    expect(tiers.filter((t) => t.tier === 'low')).toHaveLength(WALLETS - busy.size);
  });
});

describe('tracked mints', () => {
  it('are refused when missing or not a mint, and read with their program and decimals otherwise', async () => {
    const { startSimulator } = await import('../tools/simulator/server');
    const sim = await startSimulator({ port: 0, slotMs: 0, wallets: 5, seed: 'mints', mints: MINTS });
    try {
      const rpc = { url: sim.url, commitment: 'confirmed' as const, timeoutMs: 5_000 };
      const wallet = sim.world.addresses(0, 1)[0]!;
      const [ata] = await findAssociatedTokenPda({ owner: address(wallet), mint: address(USDC_LIKE.address), tokenProgram: address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA') });
      const nowhere = getAddressDecoder().decode(new Uint8Array(32).fill(0xb3));
      expect(await readMints(rpc, [T22.address, USDC_LIKE.address])).toEqual([
        { address: T22.address, program: TOKEN_2022_PROGRAM_ADDRESS, decimals: 9 },
        { address: USDC_LIKE.address, program: 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', decimals: 6 },
      ]);
      await expect(readMints(rpc, [nowhere])).rejects.toThrow(`TRACKED_MINTS: ${nowhere} does not exist on this cluster`);
      await expect(readMints(rpc, [wallet])).rejects.toThrow(/is not a mint: it is owned by 11111111111111111111111111111111/);
      await expect(readMints(rpc, [ata])).rejects.toThrow(/is not a mint: a 165-byte account of Tokenkeg/);
    } finally {
      await sim.stop();
    }
  });

  it('stop a worker from starting when one is missing, and the worker leaves no connection to Postgres open', async () => {
    const nowhere = getAddressDecoder().decode(new Uint8Array(32).fill(0xb4));
    const engine = await startEngine({ workers: false, simulator: { wallets: 5, seed: 'mints', mints: MINTS }, env: { TRACKED_MINTS: nowhere } });
    try {
      await expect(engine.startWorkers()).rejects.toThrow(`TRACKED_MINTS: ${nowhere} does not exist on this cluster`);
      // The pacer's connection took the turn for the mints' call before the refusal.
      const left = await engine.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'balance-tracker-rpc-budget'`;
      expect(left).toEqual([{ n: 0 }]);
      expect(engine.sim.stats().httpRequests).toBe(1);
    } finally {
      await engine.stop();
    }
  });

  it('are read at a worker start once an RPC that answers 503 recovers; a mint that is not one stops it at the first answer', async () => {
    const { startSimulator } = await import('../tools/simulator/server');
    const sim = await startSimulator({ port: 0, slotMs: 0, wallets: 5, seed: 'mints', mints: MINTS, knobs: { errorRate: 1, errorStatus: 503 } });
    try {
      const rpc = { url: sim.url, commitment: 'confirmed' as const, timeoutMs: 5_000 };
      // Retried 1 s, then 2 s later: the provider recovers in between.
      const reading = readTrackedMints(rpc, [USDC_LIKE.address, T22.address]);
      await sleep(1_500);
      expect(sim.stats().httpRequests).toBe(2);
      sim.setKnobs({ errorRate: 0 });
      expect((await reading).map((m) => m.decimals)).toEqual([6, 9]);
      expect(sim.stats().httpRequests).toBe(3);

      const wallet = sim.world.addresses(0, 1)[0]!;
      await expect(readTrackedMints(rpc, [wallet])).rejects.toThrow(/is not a mint/);
      expect(sim.stats().httpRequests).toBe(4);
      // An RPC that never recovers is reported after the tries.
      sim.setKnobs({ errorRate: 1 });
      await expect(readTrackedMints(rpc, [USDC_LIKE.address], { attempts: 2 })).rejects.toThrow(/^cannot read the tracked mints from SOLANA_RPC_URL after 2 tries: /);
    } finally {
      await sim.stop();
    }
  });
});
