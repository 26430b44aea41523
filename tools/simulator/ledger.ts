// One family of accounts' amounts over time (the wallets' lamports, the token accounts'
// amounts): each account's amount before the first slot, its current amount, and every
// change in a ChangeLog. null is "no account" (a system account at 0 lamports is deleted;
// a token account can exist holding 0, or be closed or never created).

import { ChangeLog } from './change-log';

export class Ledger {
  private readonly log = new ChangeLog();
  private initial: BigUint64Array;
  private initialPresent: Uint8Array;
  private current: BigUint64Array;
  private currentPresent: Uint8Array;
  /** Newest change-log entry per account, -1 when it never changed. */
  private newest: Int32Array;

  constructor(capacity: number) {
    this.initial = new BigUint64Array(capacity);
    this.initialPresent = new Uint8Array(capacity);
    this.current = new BigUint64Array(capacity);
    this.currentPresent = new Uint8Array(capacity);
    this.newest = new Int32Array(capacity).fill(-1);
  }

  get capacity(): number {
    return this.newest.length;
  }

  /** Changes recorded since the start. */
  get changeCount(): number {
    return this.log.size;
  }

  /** Sets an account's amount since before the first slot. */
  setInitial(index: number, amount: bigint | null): void {
    this.initial[index] = amount ?? 0n;
    this.initialPresent[index] = amount === null ? 0 : 1;
    this.current[index] = amount ?? 0n;
    this.currentPresent[index] = amount === null ? 0 : 1;
  }

  currentOf(index: number): bigint | null {
    return this.currentPresent[index] === 1 ? this.current[index]! : null;
  }

  amountAt(index: number, slot: number): bigint | null {
    const entry = this.log.findAt(this.newest[index]!, slot);
    if (entry !== -1) return this.log.amountOf(entry);
    return this.initialPresent[index] === 1 ? this.initial[index]! : null;
  }

  record(index: number, slot: number, amount: bigint | null): void {
    this.newest[index] = this.log.append(this.newest[index]!, slot, amount);
    this.current[index] = amount ?? 0n;
    this.currentPresent[index] = amount === null ? 0 : 1;
  }

  /** An account's changes in slots (fromSlot, toSlot], oldest first. */
  changesBetween(index: number, fromSlot: number, toSlot: number): { slot: number; amount: bigint | null }[] {
    const out: { slot: number; amount: bigint | null }[] = [];
    for (let entry = this.log.findAt(this.newest[index]!, toSlot); entry !== -1 && this.log.slotOf(entry) > fromSlot; entry = this.log.previousOf(entry)) {
      out.push({ slot: this.log.slotOf(entry), amount: this.log.amountOf(entry) });
    }
    return out.reverse();
  }

  /** Room for at least `accounts` accounts (new ones start absent). */
  ensureCapacity(accounts: number): void {
    const old = this.newest.length;
    if (accounts <= old) return;
    const capacity = Math.max(accounts, old * 2);
    this.initial = grown(this.initial, capacity, (n) => new BigUint64Array(n));
    this.initialPresent = grown(this.initialPresent, capacity, (n) => new Uint8Array(n));
    this.current = grown(this.current, capacity, (n) => new BigUint64Array(n));
    this.currentPresent = grown(this.currentPresent, capacity, (n) => new Uint8Array(n));
    this.newest = grown(this.newest, capacity, (n) => new Int32Array(n).fill(-1));
  }
}

/** `array` with room for `capacity` items (itself when it has it); `make` makes an empty one. */
export function grown<T extends BigUint64Array | Uint8Array | Int32Array>(array: T, capacity: number, make: (n: number) => T): T {
  if (array.length >= capacity) return array;
  const bigger = make(capacity);
  bigger.set(array as never);
  return bigger;
}
