// The simulator's token accounts, checked against the programs' published layouts: account
// bytes are decoded with @solana-program/token's decoders, ATA addresses derived with its
// findAssociatedTokenPda, and program ids, sizes and rent written out as mainnet has them.

import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { AccountState, findAssociatedTokenPda, getMintDecoder, getTokenDecoder } from '@solana-program/token';
import { address, createSolanaRpc, getBase58Encoder, isSome, type Address } from '@solana/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { base58Encode } from '../src/address';
import { simulatorControl } from '../tools/simulator/client';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../tools/simulator/server';
import { World, type MintSpec } from '../tools/simulator/world';

const TOKEN = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
const TOKEN_2022 = address('TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb');
const U64_MAX = 18446744073709551615n;
/** getMinimumBalanceForRentExemption on mainnet for 82, 165 and 170 bytes. */
const RENT = { mint: 1_461_600n, token: 2_039_280n, token2022Ata: 2_074_080n };

const USDC_LIKE: MintSpec = { address: base58Encode(new Uint8Array(32).fill(0xa1)), program: 'token', decimals: 6 };
const T22: MintSpec = { address: base58Encode(new Uint8Array(32).fill(0xa2)), program: 'token-2022', decimals: 9 };
const PROGRAM_OF = { token: TOKEN, 'token-2022': TOKEN_2022 } as const;

let sim: SimulatorHandle | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  sim = await startSimulator({ port: 0, slotMs: 0, wallets: 40, seed: 'tokens-test', mints: [USDC_LIKE, T22], missingFraction: 0.3, ...options });
  return sim;
}

async function ata(wallet: string, mint: MintSpec): Promise<Address> {
  const [pda] = await findAssociatedTokenPda({ owner: address(wallet), mint: address(mint.address), tokenProgram: PROGRAM_OF[mint.program] });
  return pda;
}

async function rpcCall(url: string, method: string, params: unknown): Promise<{ result?: { context: { slot: number }; value: unknown }; error?: { code: number; message: string } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await response.json()) as never;
}

interface RawAccount {
  lamports: number;
  data: [string, string] | string;
  owner: string;
  space: number;
}

/** getMultipleAccounts over raw JSON at processed commitment, with the config given. */
async function accounts(url: string, keys: string[], config: object = {}): Promise<{ slot: number; value: (RawAccount | null)[] }> {
  const reply = await rpcCall(url, 'getMultipleAccounts', [keys, { commitment: 'processed', encoding: 'base64', ...config }]);
  if (reply.error) throw new Error(reply.error.message);
  return { slot: reply.result!.context.slot, value: reply.result!.value as (RawAccount | null)[] };
}

function bytesOf(account: RawAccount): Uint8Array {
  const [text, encoding] = account.data as [string, string];
  expect(encoding).toBe('base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

describe('mint accounts', () => {
  it('serve the Mint layout with their decimals, owned by SPL Token or Token-2022', async () => {
    const s = await start();
    const rpc = createSolanaRpc(s.url);
    const { value } = await rpc.getMultipleAccounts([address(USDC_LIKE.address), address(T22.address)], { encoding: 'base64' }).send();
    for (const [i, spec] of [USDC_LIKE, T22].entries()) {
      const account = value[i]!;
      expect(account.owner).toBe(PROGRAM_OF[spec.program]);
      expect(account.space).toBe(82n);
      expect(account.lamports).toBe(RENT.mint);
      const mint = getMintDecoder().decode(Buffer.from(account.data[0], 'base64'));
      expect(mint.decimals).toBe(spec.decimals);
      expect(mint.isInitialized).toBe(true);
      expect(isSome(mint.mintAuthority)).toBe(false);
    }
    expect(await simulatorControl(s.url).mints()).toEqual([USDC_LIKE, T22]);
  });

  it('are made from the seed when counted, one per program in turn; a world with mints needs World.create', async () => {
    const world = await World.create({ wallets: 3, seed: 'counted', slotMs: 0, mints: 3 });
    expect(world.mints.map((m) => [m.program, m.decimals])).toEqual([['token', 6], ['token-2022', 9], ['token', 6]]);
    expect((await World.create({ wallets: 3, seed: 'counted', slotMs: 0, mints: 3 })).mints).toEqual(world.mints);
    expect(() => new World({ mints: 1 })).toThrow(/World\.create/);
    await expect(World.create({ mints: [{ ...T22, program: 'token-2023' as never }] })).rejects.toThrow(/program must be one of token, token-2022/);
    await expect(World.create({ mints: [T22, T22] })).rejects.toThrow(/listed twice/);
  });
});

describe('token accounts', () => {
  it("serve each wallet's ATA at findAssociatedTokenPda's address with the Token layout, null where none was created", async () => {
    const s = await start();
    const wallets = s.world.addresses(0, 40);
    for (const spec of [USDC_LIKE, T22]) {
      const keys = await Promise.all(wallets.map((w) => ata(w, spec)));
      const { slot, value } = await accounts(s.url, keys);
      let present = 0;
      for (const [i, account] of value.entries()) {
        const truth = s.world.tokenAmountAt(wallets[i]!, spec.address, slot);
        if (truth === null) {
          expect(account).toBeNull();
          continue;
        }
        present++;
        expect(account!.owner).toBe(PROGRAM_OF[spec.program]);
        const data = bytesOf(account!);
        expect(account!.space).toBe(data.length);
        // Token-2022's ATA program adds ImmutableOwner: the account type (2) at 165, then its TLV.
        expect(data.length).toBe(spec.program === 'token' ? 165 : 170);
        if (spec.program === 'token-2022') expect([...data.subarray(165)]).toEqual([2, 7, 0, 0, 0]);
        expect(BigInt(account!.lamports)).toBe(spec.program === 'token' ? RENT.token : RENT.token2022Ata);
        const token = getTokenDecoder().decode(data.subarray(0, 165));
        expect(token).toMatchObject({ mint: spec.address, owner: wallets[i], amount: truth, state: AccountState.Initialized, delegatedAmount: 0n });
        expect(isSome(token.isNative)).toBe(false);
      }
      expect(present).toBeGreaterThan(10);
      expect(present).toBeLessThan(40);
    }
  });

  it('serve amounts above 2^53 and up to u64 max exactly; the generated world holds such amounts too', async () => {
    const s = await start({ wallets: 5 });
    const holder = base58Encode(new Uint8Array(32).fill(0x42));
    const control = simulatorControl(s.url);
    await control.setTokenAmount(holder, USDC_LIKE.address, U64_MAX);
    const applies = await control.setTokenAmount(holder, T22.address, 2n ** 53n + 1n);
    expect(await control.tokenTruth(holder, T22.address)).toBeNull();
    await control.advance(1, { changes: false });
    const { value } = await accounts(s.url, [await ata(holder, USDC_LIKE), await ata(holder, T22)]);
    expect(getTokenDecoder().decode(bytesOf(value[0]!)).amount).toBe(U64_MAX);
    expect(getTokenDecoder().decode(bytesOf(value[1]!).subarray(0, 165)).amount).toBe(9007199254740993n);
    expect(await control.tokenTruth(holder, T22.address, applies)).toBe(9007199254740993n);
    // The holder was added as a wallet without lamports: its system account does not exist.
    expect(s.world.balanceAt(holder, applies)).toBeNull();

    const world = await World.create({ wallets: 2000, seed: 'whales', slotMs: 0, mints: [USDC_LIKE] });
    const amounts = world.addresses(0, 2000).map((w) => world.tokenAmountAt(w, USDC_LIKE.address, world.startSlot));
    expect(amounts).toContain(U64_MAX);
    expect(amounts).toContain(null);
  });

  it('close, reappear and change over slots, and the oracle knows every past amount', async () => {
    const s = await start({ wallets: 30, busyFraction: 1, busyChangeRate: 0.5, missingFraction: 0.2 });
    const wallets = s.world.addresses(0, 30);
    const keys = (await Promise.all(wallets.map((w) => [ata(w, USDC_LIKE), ata(w, T22)]).flat())) as string[];
    const mintOf = (i: number): MintSpec => (i % 2 === 0 ? USDC_LIKE : T22);
    const amountOf = (account: RawAccount | null): bigint | null => (account === null ? null : getTokenDecoder().decode(bytesOf(account).subarray(0, 165)).amount);
    const before = await accounts(s.url, keys);
    const control = simulatorControl(s.url);
    await control.advance(60);
    const after = await accounts(s.url, keys);
    let changed = 0;
    let closed = 0;
    let appeared = 0;
    for (const [i, key] of keys.entries()) {
      const wallet = wallets[Math.floor(i / 2)]!;
      const [then, now] = [amountOf(before.value[i]!), amountOf(after.value[i]!)];
      expect(await control.tokenTruth(wallet, mintOf(i).address, before.slot)).toBe(then);
      expect(s.world.tokenAmountAt(wallet, mintOf(i).address, after.slot)).toBe(now);
      if (then !== now) changed++;
      if (then !== null && now === null) closed++;
      if (then === null && now !== null) appeared++;
      expect(key).toBe(await ata(wallet, mintOf(i)));
    }
    expect(changed).toBeGreaterThan(30);
    expect(appeared).toBeGreaterThan(0);
    expect(closed).toBeGreaterThan(0);

    // Closing and reopening by hand: null in getMultipleAccounts, then back with the new amount.
    const target = wallets.find((_, w) => after.value[2 * w] !== null)!;
    const key = await ata(target, USDC_LIKE);
    const closesAt = await control.setTokenAmount(target, USDC_LIKE.address, null);
    await control.advance(1, { changes: false });
    expect((await accounts(s.url, [key])).value[0]).toBeNull();
    await control.setTokenAmount(target, USDC_LIKE.address, 0n);
    await control.advance(1, { changes: false });
    expect(amountOf((await accounts(s.url, [key])).value[0]!)).toBe(0n); // reopened empty: exists, holding 0
    expect(await control.tokenTruth(target, USDC_LIKE.address, closesAt)).toBeNull();
    expect(await control.tokenTruth(target, USDC_LIKE.address, closesAt - 1)).toBe(amountOf(after.value[wallets.indexOf(target) * 2]!));
  });

  it('change at the same rates in a world without busy wallets, leaving the lamports as a world without mints has them', async () => {
    const options = { wallets: 500, seed: 'same-lamports', slotMs: 0, idleChangeRate: 0.01 };
    const plain = new World(options);
    const tokens = await World.create({ ...options, mints: [USDC_LIKE, T22] });
    plain.advance(100);
    tokens.advance(100);
    const wallets = plain.addresses(0, 500);
    expect(tokens.addresses(0, 500)).toEqual(wallets);
    for (const w of wallets) expect(tokens.balanceAt(w, tokens.startSlot + 100)).toBe(plain.balanceAt(w, plain.startSlot + 100));
    const tokenChanges = wallets.filter((w) => tokens.tokenAmountAt(w, T22.address, tokens.startSlot) !== tokens.tokenAmountAt(w, T22.address, tokens.startSlot + 100));
    expect(tokenChanges.length).toBeGreaterThan(50);
    // The change list names every (wallet, mint) that changed, each change at its slot, and nothing else.
    const listed = tokens.tokenChangesBetween(tokens.startSlot, tokens.startSlot + 100);
    const last = new Map<string, (typeof listed)[number]>();
    for (const change of listed) {
      expect(change.slot).toBeGreaterThan(tokens.startSlot);
      last.set(`${change.wallet}/${change.mint}`, change); // oldest first per ATA: the last one stands
    }
    for (const change of last.values()) expect(tokens.tokenAmountAt(change.wallet, change.mint, tokens.startSlot + 100)).toBe(change.amount);
    const listedT22 = new Set(listed.filter((c) => c.mint === T22.address).map((c) => c.wallet));
    for (const w of tokenChanges) expect(listedT22.has(w)).toBe(true);
    expect(listed.some((c) => c.amount === null)).toBe(true);
  });
});

describe('dataSlice and encodings', () => {
  it('slice token, mint and system account data as agave does: past the end is cut, an offset past the end is empty', async () => {
    const s = await start();
    const wallet = s.world.addresses(0, 40).find((w) => s.world.balanceAt(w, s.world.slot()) !== null && s.world.tokenAmountAt(w, T22.address, s.world.slot()) !== null)!;
    const keys = [await ata(wallet, T22), T22.address, wallet];
    const full = (await accounts(s.url, keys)).value.map((a) => bytesOf(a!));
    expect(full.map((d) => d.length)).toEqual([170, 82, 0]);
    for (const [offset, length] of [[0, 0], [64, 8], [0, 165], [160, 20], [165, 5], [82, 10], [170, 5], [1000, 10]] as const) {
      const sliced = (await accounts(s.url, keys, { dataSlice: { offset, length } })).value;
      for (const [i, account] of sliced.entries()) {
        expect(bytesOf(account!)).toEqual(full[i]!.slice(Math.min(offset, full[i]!.length), Math.min(offset + length, full[i]!.length)));
        expect(account!.space).toBe(full[i]!.length); // space is the whole account's
      }
    }
    // The amount alone: 8 bytes at offset 64, little-endian u64.
    const [amount] = (await accounts(s.url, [keys[0]!], { dataSlice: { offset: 64, length: 8 } })).value;
    expect(Buffer.from(bytesOf(amount!)).readBigUInt64LE()).toBe(s.world.tokenAmountAt(wallet, T22.address, s.world.slot()));
  });

  it('encode token data as base58 within 128 bytes only, as base64+zstd a zstd decoder reads back, and refuse a sliced jsonParsed', async () => {
    const s = await start();
    const wallet = base58Encode(new Uint8Array(32).fill(0x43));
    await s.world.setTokenAmount(wallet, USDC_LIKE.address, 123_456_789n);
    s.world.advance(1, { changes: false });
    const key = await ata(wallet, USDC_LIKE);
    const [full] = (await accounts(s.url, [key])).value;
    const data = bytesOf(full!);

    const tooLong = await rpcCall(s.url, 'getAccountInfo', [key, { commitment: 'processed' }]); // binary by default
    expect(tooLong.error).toEqual({ code: -32600, message: 'Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.' });
    const base58 = await rpcCall(s.url, 'getAccountInfo', [key, { commitment: 'processed', encoding: 'base58', dataSlice: { offset: 32, length: 40 } }]);
    const [text, label] = (base58.result!.value as RawAccount).data as [string, string];
    expect(label).toBe('base58');
    expect(new Uint8Array(getBase58Encoder().encode(text))).toEqual(data.slice(32, 72));
    const binary = await rpcCall(s.url, 'getAccountInfo', [key, { commitment: 'processed', dataSlice: { offset: 0, length: 128 } }]);
    expect(new Uint8Array(getBase58Encoder().encode((binary.result!.value as RawAccount).data as string))).toEqual(data.slice(0, 128));

    const [zstd] = (await accounts(s.url, [key], { encoding: 'base64+zstd' })).value;
    const [frame, zstdLabel] = zstd!.data as [string, string];
    expect(zstdLabel).toBe('base64+zstd');
    expect(new Uint8Array(execFileSync('zstd', ['-d', '-c'], { input: Buffer.from(frame, 'base64') }))).toEqual(data);

    const sliced = await rpcCall(s.url, 'getMultipleAccounts', [[key], { encoding: 'jsonParsed', dataSlice: { offset: 0, length: 8 } }]);
    expect(sliced.error).toEqual({ code: -32600, message: 'Sliced account data can only be encoded using binary (base 58) or base64 encoding.' });
    const parsed = await rpcCall(s.url, 'getMultipleAccounts', [[key], { commitment: 'processed', encoding: 'jsonParsed' }]);
    expect(parsed.error?.message).toMatch(/does not serve token or mint accounts as jsonParsed/);
    // getBalance of a token account: its rent-exempt lamports.
    expect((await createSolanaRpc(s.url).getBalance(key, { commitment: 'processed' }).send()).value).toBe(RENT.token);
  });
});

describe('lies', () => {
  it("answer a token account owned by the System program, or a wallet owned by SPL Token, at wrongOwnerRate 1", async () => {
    const s = await start({ knobs: { wrongOwnerRate: 1 } });
    const wallet = s.world.addresses(0, 40).find((w) => s.world.balanceAt(w, s.world.slot()) !== null && s.world.tokenAmountAt(w, USDC_LIKE.address, s.world.slot()) !== null)!;
    const key = await ata(wallet, USDC_LIKE);
    const [token] = (await accounts(s.url, [key])).value;
    expect(token!.owner).toBe('11111111111111111111111111111111');
    expect(getTokenDecoder().decode(bytesOf(token!)).mint).toBe(USDC_LIKE.address); // the data still says token account
    const [system] = (await accounts(s.url, [wallet, key])).value;
    expect(system!.owner).toBe(TOKEN);
    expect(s.stats().methods).toEqual({ getMultipleAccounts: { lie: 2 } });
    s.setKnobs({ wrongOwnerRate: 0 });
    expect((await accounts(s.url, [key])).value[0]!.owner).toBe(TOKEN);
  });
});

describe('the control endpoints for tokens', () => {
  it('refuse unknown mints and bad amounts, naming them', async () => {
    const s = await start({ wallets: 2 });
    const control = simulatorControl(s.url);
    const wallet = s.world.addresses(0, 1)[0]!;
    await expect(control.setTokenAmount(wallet, base58Encode(new Uint8Array(32).fill(9)), 1n)).rejects.toThrow(/is not in this world/);
    await expect(control.setTokenAmount(wallet, USDC_LIKE.address, U64_MAX + 1n)).rejects.toThrow(/amount must be a decimal string/);
    await expect(control.tokenTruth(wallet, 'not-base58-0OIl')).rejects.toThrow(/invalid address/);
    await expect(control.tokenTruth(wallet, base58Encode(new Uint8Array(32).fill(9)))).rejects.toThrow(/is not in this world/);
    expect(await control.tokenTruth(base58Encode(new Uint8Array(32).fill(8)), USDC_LIKE.address)).toBeNull();
  });
});

describe('the command line', () => {
  it('makes --mints N mints, prints them, and lists them under /__sim/mints', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/simulator/main.ts', '--port', '0', '--wallets', '3', '--mints', '2', '--seed', 'cli-mints'], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/\S+)[\s\S]*knobs/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('exit', () => reject(new Error(`exited early: ${stdout}`)));
    });
    const mints = await simulatorControl(url).mints();
    expect(mints.map((m) => m.program)).toEqual(['token', 'token-2022']);
    for (const mint of mints) expect(stdout).toContain(`mint ${mint.address} (${mint.program}, ${mint.decimals} decimals)`);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
  });
});
