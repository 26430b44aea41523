// A seedable world of system wallets whose balances change slot by slot.
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

import { createHash } from 'node:crypto';
import { getBase58Codec } from '@solana/kit';
import { checkAddress } from '../../src/address';
import { isU64, U64_MAX } from '../../src/u64';
import { AddressTable } from './address-table';
import { ChangeLog } from './change-log';
import { createRng, type Rng } from './random';

/** Rent-exempt minimum of an account with no data, the least a system wallet holds. */
const RENT_EXEMPT_MINIMUM = 890_880n;
/** Slots are stored as u32; this leaves 2^31 slots (27 years at 400 ms) of headroom. */
const MAX_START_SLOT = 2 ** 31;
const MAX_ADVANCE = 1_000_000;
/** Slot 0 of `wallClockSlot`: mainnet-beta's launch day. */
const WALL_CLOCK_EPOCH_MS = Date.UTC(2020, 2, 16);
/** kit's base58: `decode` makes an address's text from its key bytes, `encode` the reverse. */
const base58 = getBase58Codec();

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
  /** Fraction of wallets that do not exist at the start. */
  missingFraction?: number;
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
} as const;

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
  private readonly table: AddressTable;
  private readonly log = new ChangeLog();
  private initial: BigUint64Array;
  private current: BigUint64Array;
  /** Newest change-log entry per wallet, -1 when it never changed. */
  private newest: Int32Array;
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
  private readonly pending = new Map<number, bigint>();

  constructor(options: WorldOptions = {}) {
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
    this.genesisHash = base58.decode(createHash('sha256').update(`${this.seed}/genesis`).digest());
    this.head = o.startSlot;
    this.busyChangeRate = o.busyChangeRate;
    this.idleChangeRate = o.idleChangeRate;
    this.now = options.now ?? Date.now;
    this.epoch = this.now();
    this.changes = createRng(`${this.seed}/changes`);

    const n = o.wallets;
    this.generated = n;
    this.table = new AddressTable(n);
    this.initial = new BigUint64Array(Math.max(16, n));
    this.current = new BigUint64Array(this.initial.length);
    this.newest = new Int32Array(this.initial.length).fill(-1);
    this.kind = new Uint8Array(this.initial.length);

    const rng = createRng(`${this.seed}/world`);
    const key = new Uint8Array(32);
    const words = new Uint32Array(key.buffer);
    for (let i = 0; i < n; i++) {
      do {
        for (let w = 0; w < 8; w++) words[w] = rng.u32();
      } while (this.table.add(key) === -1);
      this.initial[i] = rng.float() < o.missingFraction ? 0n : randomBalance(rng);
    }
    const whales = n === 0 ? 0 : Math.max(1, Math.round(n / 10_000));
    for (let i = 0; i < whales; i++) this.initial[rng.int(n)] = whaleBalance(rng);
    this.current.set(this.initial);

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
  }

  get size(): number {
    return this.table.size;
  }

  /** Changes recorded since the start. */
  get changeCount(): number {
    return this.log.size;
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

  /** Lamports of the wallet with this 32-byte key at `slot`; 0 when it does not exist. */
  lamportsAt(key: Uint8Array, slot: number): bigint {
    const index = this.table.find(key);
    if (index === -1) return 0n;
    const entry = this.log.findAt(this.newest[index]!, slot);
    return entry === -1 ? this.initial[index]! : this.log.lamportsOf(entry);
  }

  /**
   * The true balance at a slot already reached; null when the account did not exist.
   * The slot may be a bigint, as slots read back from a database are.
   */
  balanceAt(address: string, slot: number | bigint): bigint | null {
    const key = keyOf(address);
    if (typeof slot === 'bigint') slot = Number(slot);
    checkInteger('slot', slot, 0, Number.MAX_SAFE_INTEGER);
    const head = this.slot();
    if (slot > head) throw new RangeError(`slot ${slot} has not been reached yet: the newest slot is ${head}`);
    const lamports = this.lamportsAt(key, slot);
    return lamports === 0n ? null : lamports;
  }

  /**
   * Adds a wallet that has held `lamports` (null: does not exist) since before the first
   * slot. It changes only through setBalance. Throws when the address is already present.
   */
  addWallet(address: string, lamports: bigint | null): void {
    const key = keyOf(address);
    const amount = checkLamports(lamports);
    const index = this.table.add(key);
    if (index === -1) throw new RangeError(`wallet ${address} already exists`);
    this.ensureCapacity(index + 1);
    this.initial[index] = amount;
    this.current[index] = amount;
    this.kind[index] = MANUAL;
  }

  /** Sets a wallet's balance from the next slot on (adding it if unknown); returns that slot. */
  setBalance(address: string, lamports: bigint | null): number {
    const key = keyOf(address);
    const amount = checkLamports(lamports);
    let index = this.table.find(key);
    if (index === -1) {
      this.addWallet(address, null);
      index = this.table.find(key);
    }
    this.pending.set(index, amount);
    return this.slot() + 1;
  }

  /** Addresses of wallets [offset, offset + limit), in a stable order. */
  addresses(offset: number, limit: number): string[] {
    checkInteger('offset', offset, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('limit', limit, 0, Number.MAX_SAFE_INTEGER);
    const out: string[] = [];
    const end = Math.min(this.table.size, offset + limit);
    for (let i = offset; i < end; i++) out.push(base58.decode(this.table.key(i)));
    return out;
  }

  /** Addresses of the wallets that change often (benchmarks tier them as an operator would). */
  busyAddresses(): string[] {
    return Array.from(this.busy, (index) => base58.decode(this.table.key(index)));
  }

  /**
   * Every balance change in slots (fromSlot, toSlot], oldest first per wallet (for benchmarks
   * measuring how soon a change reaches a store). Costs O(wallets + changes after fromSlot).
   */
  changesBetween(fromSlot: number, toSlot: number): { address: string; slot: number; lamports: bigint }[] {
    checkInteger('fromSlot', fromSlot, 0, Number.MAX_SAFE_INTEGER);
    checkInteger('toSlot', toSlot, 0, Number.MAX_SAFE_INTEGER);
    this.slot();
    const out: { address: string; slot: number; lamports: bigint }[] = [];
    for (let index = 0; index < this.table.size; index++) {
      let entry = this.log.findAt(this.newest[index]!, toSlot);
      if (entry === -1 || this.log.slotOf(entry) <= fromSlot) continue;
      const address = base58.decode(this.table.key(index));
      const first = out.length;
      for (; entry !== -1 && this.log.slotOf(entry) > fromSlot; entry = this.log.previousOf(entry)) {
        out.push({ address, slot: this.log.slotOf(entry), lamports: this.log.lamportsOf(entry) });
      }
      reverseFrom(out, first);
    }
    return out;
  }

  private generateSlot(slot: number, changes: boolean): void {
    if (changes) {
      const busy = this.busy;
      for (let k = this.changes.poisson(busy.length * this.busyChangeRate); k > 0; k--) {
        this.change(busy[this.changes.int(busy.length)]!, slot);
      }
      const idle = this.generated - busy.length;
      if (idle > 0) {
        for (let k = this.changes.poisson(idle * this.idleChangeRate); k > 0; k--) {
          let index: number;
          do index = this.changes.int(this.generated);
          while (this.kind[index] !== IDLE);
          this.change(index, slot);
        }
      }
    }
    for (const [index, lamports] of this.pending) this.record(index, slot, lamports);
    this.pending.clear();
  }

  private change(index: number, slot: number): void {
    const before = this.current[index]!;
    const after = nextBalance(before, this.changes);
    if (after !== before) this.record(index, slot, after);
  }

  private record(index: number, slot: number, lamports: bigint): void {
    this.newest[index] = this.log.append(this.newest[index]!, slot, lamports);
    this.current[index] = lamports;
  }

  private ensureCapacity(wallets: number): void {
    const old = this.kind.length;
    if (wallets <= old) return;
    const capacity = Math.max(wallets, old * 2);
    const initial = new BigUint64Array(capacity);
    initial.set(this.initial);
    const current = new BigUint64Array(capacity);
    current.set(this.current);
    const newest = new Int32Array(capacity).fill(-1);
    newest.set(this.newest);
    const kind = new Uint8Array(capacity);
    kind.set(this.kind);
    this.initial = initial;
    this.current = current;
    this.newest = newest;
    this.kind = kind;
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

function reverseFrom<T>(items: T[], from: number): void {
  for (let i = from, j = items.length - 1; i < j; i++, j--) [items[i], items[j]] = [items[j]!, items[i]!];
}

function keyOf(address: string): Uint8Array {
  const check = checkAddress(address);
  if (!check.ok) throw new RangeError(`invalid address ${JSON.stringify(address)}: ${check.reason}`);
  return Uint8Array.from(base58.encode(address));
}

function checkLamports(lamports: bigint | null): bigint {
  if (lamports === null) return 0n;
  if (!isU64(lamports)) {
    throw new RangeError(`lamports must be a bigint from 0 to 2^64-1 or null, got ${String(lamports)}`);
  }
  return lamports;
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
