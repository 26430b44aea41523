// A seedable world of system wallets, and optionally their token accounts, whose balances
// change slot by slot.
//
// - N wallets with addresses drawn from the seed; some do not exist (0 lamports, which
//   the RPC shows as a null account: a system account at 0 lamports is deleted), and a few
//   hold more than 2^53 lamports (odd, so a round trip through a JS number cannot hide).
// - A busy fraction changes often, the rest rarely. Each slot draws how many wallets of
//   each group change (Poisson) and picks them at random: the cost per slot follows the
//   number of changes, not the number of wallets.
// - Every change is kept, so the balance at any past slot is known exactly.
// - The slot follows the wall clock (`slotMs`) and/or `advance()`. Changes are a pure
//   function of the seed and the slot sequence; they are generated lazily, on the first
//   read after a slot passes, so the world needs no timer.
// - With mints, each generated wallet has an associated token account (ATA) per mint at its
//   derived address; some were never created, a few hold more than 2^53 (one per mint u64
//   max), and they change, close and reappear at the wallets' rates, drawn from their own
//   random stream (adding mints leaves the lamports' history as it was). Mints never change.

import { createHash } from 'node:crypto';
import { base58Decode, base58Encode, checkAddress } from '../../src/address';
import { AddressTable } from './address-table';
import { grown, Ledger } from './ledger';
import { createRng, type Rng } from './random';
import { associatedTokenAddress, rentExemptMinimum, TOKEN_PROGRAMS, type TokenProgram } from './token-accounts';

export const U64_MAX = 2n ** 64n - 1n;
/** Rent-exempt minimum of an account with no data, the least a system wallet holds. */
const RENT_EXEMPT_MINIMUM = rentExemptMinimum(0);
/** Slots are stored as u32; this leaves 2^31 slots (27 years at 400 ms) of headroom. */
const MAX_START_SLOT = 2 ** 31;
const MAX_ADVANCE = 1_000_000;
/** Token accounts record their mint in a byte. */
const MAX_MINTS = 255;
/** ATAs derived at once while a world is made (each derivation is a few async hashes). */
const DERIVE_BATCH = 64;
/** Slot 0 of `wallClockSlot`: mainnet-beta's launch day. */
const WALL_CLOCK_EPOCH_MS = Date.UTC(2020, 2, 16);

/**
 * The slot a cluster that began at a fixed instant and made one slot per `slotMs` is at now,
 * as a real cluster's slot follows time. A world started at it on every run (the local stack
 * does) never goes back to a slot an earlier run already served, however long it was down.
 */
export function wallClockSlot(nowMs: number, slotMs: number = WORLD_DEFAULTS.slotMs): number {
  checkInteger('slotMs', slotMs, 1, 3_600_000);
  return Math.min(MAX_START_SLOT, Math.max(0, Math.floor((nowMs - WALL_CLOCK_EPOCH_MS) / slotMs)));
}

export interface WorldOptions {
  /** Wallets generated from the seed. */
  wallets?: number;
  seed?: string | number;
  /** Milliseconds per slot on the wall clock; 0 stops the clock (slots move only by `advance`). */
  slotMs?: number;
  startSlot?: number;
  /** Fraction of wallets that change often. */
  busyFraction?: number;
  /** Chance per slot that a given busy wallet changes. */
  busyChangeRate?: number;
  /** Chance per slot that a given other wallet changes. */
  idleChangeRate?: number;
  /** Fraction of wallets, and of their token accounts, that do not exist at the start. */
  missingFraction?: number;
  /**
   * Mints whose ATAs every generated wallet has (a world with mints is made by World.create).
   * A number: that many mints made from the seed, alternating SPL Token (6 decimals) and
   * Token-2022 (9 decimals).
   */
  mints?: number | readonly MintSpec[];
  /** Clock source in milliseconds (tests). */
  now?: () => number;
}

export const WORLD_DEFAULTS = {
  wallets: 1000,
  seed: 'solana-sim',
  slotMs: 400,
  startSlot: 300_000_000,
  busyFraction: 0.02,
  // A busy wallet changes about every 100 slots (40 s); another about every 50,000 (5.5 h).
  busyChangeRate: 0.01,
  idleChangeRate: 0.00002,
  missingFraction: 0.05,
  mints: 0,
} as const;

export interface MintSpec {
  address: string;
  program: TokenProgram;
  /** u8, as in the mint account. */
  decimals: number;
}

export interface Mint extends MintSpec {
  /** Not modeled: u64 max, which no holder's amount can exceed. */
  supply: bigint;
}

/** What an address holds at a slot, as a validator would serve it. */
export type WorldAccount =
  | { kind: 'system'; lamports: bigint }
  | { kind: 'mint'; mint: Mint }
  | { kind: 'token'; mint: Mint; owner: string; amount: bigint };

/** Passed by World.create, which derives the ATAs the constructor cannot (derivation is async). */
const DERIVING = Symbol('deriving');

const IDLE = 0;
const BUSY = 1;
/** Added by hand: changes only through setBalance. */
const MANUAL = 2;

export class World {
  readonly seed: string;
  readonly slotMs: number;
  readonly startSlot: number;
  /** The cluster's identity (getGenesisHash): the same seed is the same cluster. */
  readonly genesisHash: string;
  readonly mints: readonly Mint[];
  private readonly table: AddressTable;
  /** Lamports per wallet number. */
  private readonly lamports: Ledger;
  private kind: Uint8Array;
  private readonly busy: Int32Array;
  /** Wallets made from the seed occupy numbers [0, generated); idle draws come from there. */
  private readonly generated: number;
  private readonly busyChangeRate: number;
  private readonly idleChangeRate: number;
  private readonly changes: Rng;
  private readonly now: () => number;
  private readonly epoch: number;
  /** Newest slot whose changes exist. */
  private head: number;
  private manualSlots = 0;
  /** setBalance values waiting for the next slot. */
  private readonly pending = new Map<number, bigint | null>();
  private readonly mintTable: AddressTable;
  /** Token account addresses; generated wallet w's ATA for mint m is number w * mints + m. */
  private readonly tokenTable: AddressTable;
  /** Amount per token account number (null: never created, or closed). */
  private readonly tokens: Ledger;
  private tokenWallet: Int32Array;
  private tokenMint: Uint8Array;
  /** Token accounts of wallets added by hand, by `${wallet}/${mint}`. */
  private readonly manualTokens = new Map<string, number>();
  private readonly tokenChanges: Rng;
  /** setTokenAmount values waiting for the next slot. */
  private readonly pendingTokens = new Map<number, bigint | null>();

  /** A world with mints needs World.create. */
  constructor(options: WorldOptions = {}, deriving?: typeof DERIVING) {
    const o = { ...WORLD_DEFAULTS, ...options };
    checkInteger('wallets', o.wallets, 0, 50_000_000);
    checkInteger('slotMs', o.slotMs, 0, 3_600_000);
    checkInteger('startSlot', o.startSlot, 0, MAX_START_SLOT);
    checkFraction('busyFraction', o.busyFraction);
    checkFraction('busyChangeRate', o.busyChangeRate);
    checkFraction('idleChangeRate', o.idleChangeRate);
    checkFraction('missingFraction', o.missingFraction);
    this.seed = String(o.seed);
    this.slotMs = o.slotMs;
    this.startSlot = o.startSlot;
    this.genesisHash = base58Encode(createHash('sha256').update(`${this.seed}/genesis`).digest());
    this.head = o.startSlot;
    this.busyChangeRate = o.busyChangeRate;
    this.idleChangeRate = o.idleChangeRate;
    this.now = options.now ?? Date.now;
    this.epoch = this.now();
    this.changes = createRng(`${this.seed}/changes`);
    this.tokenChanges = createRng(`${this.seed}/token-changes`);
    this.mints = mintsOf(o.mints, this.seed);
    if (this.mints.length > 0 && deriving !== DERIVING) throw new RangeError('a world with mints is made by World.create (ATA derivation is async)');

    const n = o.wallets;
    this.generated = n;
    this.table = new AddressTable(n);
    this.lamports = new Ledger(Math.max(16, n));
    this.kind = new Uint8Array(this.lamports.capacity);

    const rng = createRng(`${this.seed}/world`);
    const key = new Uint8Array(32);
    const words = new Uint32Array(key.buffer);
    const initial = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      do {
        for (let w = 0; w < 8; w++) words[w] = rng.u32();
      } while (this.table.add(key) === -1);
      initial[i] = rng.float() < o.missingFraction ? 0n : randomBalance(rng);
    }
    const whales = whaleCount(n);
    for (let i = 0; i < whales; i++) initial[rng.int(n)] = whaleBalance(rng);
    for (let i = 0; i < n; i++) this.lamports.setInitial(i, initial[i] === 0n ? null : initial[i]!);

    // Partial Fisher–Yates: exactly round(n * busyFraction) distinct busy wallets.
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    this.busy = new Int32Array(Math.round(n * o.busyFraction));
    for (let i = 0; i < this.busy.length; i++) {
      const j = i + rng.int(n - i);
      const picked = order[j]!;
      order[j] = order[i]!;
      this.busy[i] = picked;
      this.kind[picked] = BUSY;
    }

    this.mintTable = new AddressTable(this.mints.length);
    for (const mint of this.mints) {
      if (this.mintTable.add(keyOf(mint.address)) === -1) throw new RangeError(`mint ${mint.address} is listed twice`);
      if (this.table.find(keyOf(mint.address)) !== -1) throw new RangeError(`mint ${mint.address} is also a wallet`);
    }
    // The ATAs' amounts now, their addresses in World.create.
    const tokenCount = n * this.mints.length;
    this.tokenTable = new AddressTable(tokenCount);
    this.tokens = new Ledger(Math.max(16, tokenCount));
    this.tokenWallet = new Int32Array(this.tokens.capacity);
    this.tokenMint = new Uint8Array(this.tokens.capacity);
    const tokenRng = createRng(`${this.seed}/tokens`);
    for (let j = 0; j < tokenCount; j++) {
      const mint = j % this.mints.length;
      this.tokenWallet[j] = Math.floor(j / this.mints.length);
      this.tokenMint[j] = mint;
      this.tokens.setInitial(j, tokenRng.float() < o.missingFraction ? null : randomTokenAmount(tokenRng, this.mints[mint]!.decimals));
    }
    for (let m = 0; m < this.mints.length; m++) {
      for (let k = 0; k < whales; k++) this.tokens.setInitial(tokenRng.int(n) * this.mints.length + m, k === 0 ? U64_MAX : whaleBalance(tokenRng));
    }
  }

  /** A world with or without mints: its ATAs are derived before it is handed out. */
  static async create(options: WorldOptions = {}): Promise<World> {
    const world = new World(options, DERIVING);
    const count = world.generated * world.mints.length;
    for (let from = 0; from < count; from += DERIVE_BATCH) {
      const batch = [];
      for (let j = from; j < Math.min(count, from + DERIVE_BATCH); j++) batch.push(world.deriveAta(world.tokenWallet[j]!, world.tokenMint[j]!));
      for (const ata of await Promise.all(batch)) {
        if (world.tokenTable.add(keyOf(ata)) === -1 || world.table.find(keyOf(ata)) !== -1) throw new RangeError(`ATA ${ata} collides with another account`);
      }
    }
    return world;
  }

  get size(): number {
    return this.table.size;
  }

  /** Changes recorded since the start, lamports and token amounts. */
  get changeCount(): number {
    return this.lamports.changeCount + this.tokens.changeCount;
  }

  /** The newest slot (what `processed` commitment sees). */
  slot(): number {
    const target = this.startSlot + this.manualSlots + (this.slotMs > 0 ? Math.floor((this.now() - this.epoch) / this.slotMs) : 0);
    while (this.head < target) this.generateSlot(++this.head, true);
    return this.head;
  }

  /** Moves `slots` slots forward now, with the model's random changes unless `changes` is false. */
  advance(slots = 1, { changes = true }: { changes?: boolean } = {}): number {
    checkInteger('slots', slots, 0, MAX_ADVANCE);
    this.slot();
    for (let i = 0; i < slots; i++) this.generateSlot(++this.head, changes);
    this.manualSlots += slots;
    return this.head;
  }

  has(address: string): boolean {
    return this.table.find(keyOf(address)) !== -1;
  }

  /** The account at the address with this 32-byte key at `slot`; null when there is none. */
  accountAt(key: Uint8Array, slot: number): WorldAccount | null {
    const wallet = this.table.find(key);
    if (wallet !== -1) {
      const lamports = this.lamports.amountAt(wallet, slot);
      return lamports === null ? null : { kind: 'system', lamports };
    }
    if (this.mints.length === 0) return null;
    const token = this.tokenTable.find(key);
    if (token !== -1) {
      const amount = this.tokens.amountAt(token, slot);
      if (amount === null) return null;
      return { kind: 'token', mint: this.mints[this.tokenMint[token]!]!, owner: base58Encode(this.table.key(this.tokenWallet[token]!)), amount };
    }
    const mint = this.mintTable.find(key);
    return mint === -1 ? null : { kind: 'mint', mint: this.mints[mint]! };
  }

  /**
   * The true balance of a wallet at a slot already reached; null when the account did not exist.
   * The slot may be a bigint, as slots read back from a database are.
   */
  balanceAt(address: string, slot: number | bigint): bigint | null {
    const index = this.table.find(keyOf(address));
    const reached = this.reached(slot);
    return index === -1 ? null : this.lamports.amountAt(index, reached);
  }

  /**
   * The true amount of the wallet's ATA for the mint at a slot already reached; null when the
   * ATA did not exist then (never created, or closed). The oracle for token balances.
   */
  tokenAmountAt(wallet: string, mint: string, slot: number | bigint): bigint | null {
    const token = this.tokenIndex(this.table.find(keyOf(wallet)), this.knownMint(mint));
    const reached = this.reached(slot);
    return token === -1 ? null : this.tokens.amountAt(token, reached);
  }

  /**
   * Adds a wallet that has held `lamports` (null: does not exist) since before the first
   * slot. It changes only through setBalance, and has no token accounts until setTokenAmount.
   * Throws when the address is already present.
   */
  addWallet(address: string, lamports: bigint | null): void {
    const key = keyOf(address);
    const amount = checkAmount('lamports', lamports);
    if (this.tokenTable.find(key) !== -1 || this.mintTable.find(key) !== -1) throw new RangeError(`${address} is a token account or mint`);
    const index = this.table.add(key);
    if (index === -1) throw new RangeError(`wallet ${address} already exists`);
    this.lamports.ensureCapacity(index + 1);
    this.kind = grown(this.kind, this.lamports.capacity, (n) => new Uint8Array(n));
    this.lamports.setInitial(index, amount === 0n ? null : amount);
    this.kind[index] = MANUAL;
  }

  /** Sets a wallet's balance from the next slot on (adding it if unknown); returns that slot. */
  setBalance(address: string, lamports: bigint | null): number {
    const amount = checkAmount('lamports', lamports);
    this.pending.set(this.walletIndex(address), amount === 0n ? null : amount);
    return this.slot() + 1;
  }

  /**
   * Sets the amount of the wallet's ATA for the mint from the next slot on (null: closes it),
   * creating the ATA and adding the wallet when unknown; returns that slot.
   */
  async setTokenAmount(wallet: string, mint: string, amount: bigint | null): Promise<number> {
    const value = amount === null ? null : checkAmount('amount', amount);
    const mintIndex = this.knownMint(mint);
    const walletIndex = this.walletIndex(wallet);
    let token = this.tokenIndex(walletIndex, mintIndex);
    if (token === -1) {
      const ata = keyOf(await this.deriveAta(walletIndex, mintIndex));
      if (this.table.find(ata) !== -1) throw new RangeError(`the ATA of ${wallet} for ${mint} is a wallet in this world`);
      token = this.tokenIndex(walletIndex, mintIndex); // another call may have added it meanwhile
      if (token === -1) {
        token = this.tokenTable.add(ata);
        this.tokens.ensureCapacity(token + 1);
        this.tokenWallet = grown(this.tokenWallet, this.tokens.capacity, (n) => new Int32Array(n));
        this.tokenMint = grown(this.tokenMint, this.tokens.capacity, (n) => new Uint8Array(n));
        this.tokenWallet[token] = walletIndex;
        this.tokenMint[token] = mintIndex;
        this.manualTokens.set(`${walletIndex}/${mintIndex}`, token);
      }
    }
    this.pendingTokens.set(token, value);
    return this.slot() + 1;
  }

  /** Addresses of wallets [offset, offset + limit), in a stable order. */
  addresses(offset: number, limit: number): string[] {
    checkInteger('offset', offset, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('limit', limit, 0, Number.MAX_SAFE_INTEGER);
    const out: string[] = [];
    const end = Math.min(this.table.size, offset + limit);
    for (let i = offset; i < end; i++) out.push(base58Encode(this.table.key(i)));
    return out;
  }

  /** Addresses of the wallets that change often (benchmarks tier them as an operator would). */
  busyAddresses(): string[] {
    return Array.from(this.busy, (index) => base58Encode(this.table.key(index)));
  }

  /**
   * Every balance change in slots (fromSlot, toSlot], oldest first per wallet (for benchmarks
   * measuring how soon a change reaches a store). Costs O(wallets + changes after fromSlot).
   */
  changesBetween(fromSlot: number, toSlot: number): { address: string; slot: number; lamports: bigint }[] {
    return this.between(this.lamports, this.table.size, fromSlot, toSlot, (index, slot, amount) => ({
      address: base58Encode(this.table.key(index)),
      slot,
      lamports: amount ?? 0n,
    }));
  }

  /**
   * Every change of a wallet's ATA in slots (fromSlot, toSlot], oldest first per ATA; amount
   * null: closed. Costs O(token accounts + changes after fromSlot).
   */
  tokenChangesBetween(fromSlot: number, toSlot: number): { wallet: string; mint: string; slot: number; amount: bigint | null }[] {
    return this.between(this.tokens, this.tokenTable.size, fromSlot, toSlot, (token, slot, amount) => ({
      wallet: base58Encode(this.table.key(this.tokenWallet[token]!)),
      mint: this.mints[this.tokenMint[token]!]!.address,
      slot,
      amount,
    }));
  }

  private between<T>(ledger: Ledger, accounts: number, fromSlot: number, toSlot: number, make: (account: number, slot: number, amount: bigint | null) => T): T[] {
    checkInteger('fromSlot', fromSlot, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('toSlot', toSlot, 0, Number.MAX_SAFE_INTEGER);
    this.slot();
    const out: T[] = [];
    for (let account = 0; account < accounts; account++) {
      for (const { slot, amount } of ledger.changesBetween(account, fromSlot, toSlot)) out.push(make(account, slot, amount));
    }
    return out;
  }

  private reached(slot: number | bigint): number {
    if (typeof slot === 'bigint') slot = Number(slot);
    checkInteger('slot', slot, 0, Number.MAX_SAFE_INTEGER);
    const head = this.slot();
    if (slot > head) throw new RangeError(`slot ${slot} has not been reached yet: the newest slot is ${head}`);
    return slot;
  }

  /** The wallet's number, adding it (without lamports) when unknown. */
  private walletIndex(address: string): number {
    const index = this.table.find(keyOf(address));
    if (index !== -1) return index;
    this.addWallet(address, null);
    return this.table.find(keyOf(address));
  }

  private knownMint(address: string): number {
    const index = this.mintTable.find(keyOf(address));
    if (index === -1) throw new RangeError(`mint ${address} is not in this world`);
    return index;
  }

  /** The token account number of the wallet's ATA for the mint; -1 when never created. */
  private tokenIndex(wallet: number, mint: number): number {
    if (wallet === -1 || mint === -1) return -1;
    if (wallet < this.generated) return wallet * this.mints.length + mint;
    return this.manualTokens.get(`${wallet}/${mint}`) ?? -1;
  }

  private deriveAta(wallet: number, mint: number): Promise<string> {
    const { address, program } = this.mints[mint]!;
    return associatedTokenAddress(base58Encode(this.table.key(wallet)), address, program);
  }

  private generateSlot(slot: number, changes: boolean): void {
    if (changes) {
      this.drawChanges(this.changes, 1, (index) => this.change(index, slot));
      if (this.mints.length > 0) this.drawChanges(this.tokenChanges, this.mints.length, (token) => this.changeToken(token, slot));
    }
    for (const [index, lamports] of this.pending) this.lamports.record(index, slot, lamports);
    this.pending.clear();
    for (const [token, amount] of this.pendingTokens) this.tokens.record(token, slot, amount);
    this.pendingTokens.clear();
  }

  /**
   * Picks which accounts change in a slot, `width` accounts per generated wallet (account
   * number = wallet * width + k), at the busy and idle wallets' rates.
   */
  private drawChanges(rng: Rng, width: number, change: (account: number) => void): void {
    // A second draw only when a wallet has several accounts: one keeps the lamports' stream as it always was.
    const pick = (wallet: number): number => (width === 1 ? wallet : wallet * width + rng.int(width));
    const busy = this.busy;
    for (let k = rng.poisson(busy.length * width * this.busyChangeRate); k > 0; k--) change(pick(busy[rng.int(busy.length)]!));
    const idle = (this.generated - busy.length) * width;
    if (idle > 0) {
      for (let k = rng.poisson(idle * this.idleChangeRate); k > 0; k--) {
        let account: number;
        do account = rng.int(this.generated * width);
        while (this.kind[Math.floor(account / width)] !== IDLE);
        change(account);
      }
    }
  }

  private change(index: number, slot: number): void {
    const before = this.lamports.currentOf(index) ?? 0n;
    const after = nextBalance(before, this.changes);
    if (after !== before) this.lamports.record(index, slot, after === 0n ? null : after);
  }

  private changeToken(token: number, slot: number): void {
    const before = this.tokens.currentOf(token);
    const after = nextTokenAmount(before, this.tokenChanges, this.mints[this.tokenMint[token]!]!.decimals);
    if (after !== before) this.tokens.record(token, slot, after);
  }
}

/** Log-uniform between 0.01 and 1,000 SOL: many small wallets, a few large ones. */
function randomBalance(rng: Rng): bigint {
  return BigInt(Math.floor(10 ** (7 + rng.float() * 5)));
}

/** Above 2^53 and odd: exact only if nothing on the way rounds it through a double. */
function whaleBalance(rng: Rng): bigint {
  return ((1n << 53n) + (BigInt(rng.u32()) << 20n) + BigInt(rng.u32() & 0xfffff)) | 1n;
}

function nextBalance(before: bigint, rng: Rng): bigint {
  if (before === 0n) return randomBalance(rng); // funded: the account comes into existence
  if (rng.float() < 0.005) return 0n; // emptied: the account is closed
  const delta = BigInt(Math.max(1, Math.floor(Number(before) * rng.float() * 0.3)));
  if (rng.float() < 0.5) {
    const after = before - delta;
    return after < RENT_EXEMPT_MINIMUM ? RENT_EXEMPT_MINIMUM : after;
  }
  const after = before + delta;
  return after > U64_MAX ? U64_MAX : after;
}

/** A few per 10,000 accounts (at least one), as big as the type allows. */
function whaleCount(accounts: number): number {
  return accounts === 0 ? 0 : Math.max(1, Math.round(accounts / 10_000));
}

/** Log-uniform from 1 to 10^(decimals + 6) base units (a million tokens), within a double's exact range. */
function randomTokenAmount(rng: Rng, decimals: number): bigint {
  return BigInt(Math.floor(10 ** (rng.float() * Math.min(15, decimals + 6))));
}

/** A token account's next amount: created, closed (emptied and closed in one transaction), or moved. */
function nextTokenAmount(before: bigint | null, rng: Rng, decimals: number): bigint | null {
  if (before === null) return randomTokenAmount(rng, decimals);
  if (rng.float() < 0.02) return null;
  const delta = BigInt(Math.max(1, Math.floor(Number(before) * rng.float() * 0.3)));
  if (rng.float() < 0.5) return before > delta ? before - delta : 0n;
  const after = before + delta;
  return after > U64_MAX ? U64_MAX : after;
}

/** The world's mints: checked when listed, made from the seed when counted. */
function mintsOf(mints: number | readonly MintSpec[], seed: string): Mint[] {
  if (typeof mints === 'number') {
    checkInteger('mints', mints, 0, MAX_MINTS);
    const rng = createRng(`${seed}/mints`);
    return Array.from({ length: mints }, (_, i) => {
      const key = Uint8Array.from({ length: 32 }, () => rng.int(256));
      return { address: base58Encode(key), program: TOKEN_PROGRAMS[i % 2]!, decimals: i % 2 === 0 ? 6 : 9, supply: U64_MAX };
    });
  }
  if (!Array.isArray(mints) || mints.length > MAX_MINTS) throw new RangeError(`mints must be a count or a list of at most ${MAX_MINTS} mints`);
  return mints.map(({ address, program, decimals }, i) => {
    keyOf(address);
    if (!(TOKEN_PROGRAMS as readonly string[]).includes(program)) throw new RangeError(`mints[${i}].program must be one of ${TOKEN_PROGRAMS.join(', ')}, got ${JSON.stringify(program)}`);
    checkInteger(`mints[${i}].decimals`, decimals, 0, 255);
    return { address, program, decimals, supply: U64_MAX };
  });
}

function keyOf(address: string): Uint8Array {
  const check = checkAddress(address);
  if (!check.ok) throw new RangeError(`invalid address ${JSON.stringify(address)}: ${check.reason}`);
  return base58Decode(address)!;
}

/** A u64 amount; null (no account) is 0 here, which is how lamports see it. */
function checkAmount(name: string, amount: bigint | null): bigint {
  if (amount === null) return 0n;
  if (typeof amount !== 'bigint' || amount < 0n || amount > U64_MAX) {
    throw new RangeError(`${name} must be a bigint from 0 to 2^64-1 or null, got ${String(amount)}`);
  }
  return amount;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

function checkFraction(name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${name} must be a number from 0 to 1, got ${String(value)}`);
  }
}
