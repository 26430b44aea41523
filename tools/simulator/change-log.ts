// Every balance change, append-only, in typed arrays: (slot, amount, whether the account
// exists) plus a link to the same account's previous change. Each account's changes form a
// backward chain from its newest entry, so "amount at slot S" walks back only over changes
// newer than S. 17 bytes per change; no object per change or per account.

const INITIAL_CAPACITY = 1 << 14;

export class ChangeLog {
  private slots = new Uint32Array(INITIAL_CAPACITY);
  private amounts = new BigUint64Array(INITIAL_CAPACITY);
  /** 0 when the change removed the account (a token account can exist holding 0). */
  private present = new Uint8Array(INITIAL_CAPACITY);
  private previous = new Int32Array(INITIAL_CAPACITY);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends a change chained after entry `previous` (-1 for an account's first); null: the account is gone. */
  append(previous: number, slot: number, amount: bigint | null): number {
    if (this.count === this.slots.length) this.grow();
    const entry = this.count++;
    this.slots[entry] = slot;
    this.amounts[entry] = amount ?? 0n;
    this.present[entry] = amount === null ? 0 : 1;
    this.previous[entry] = previous;
    return entry;
  }

  /** The newest entry at or before `slot` in the chain ending at `newest`, or -1. */
  findAt(newest: number, slot: number): number {
    let entry = newest;
    while (entry !== -1 && this.slots[entry]! > slot) entry = this.previous[entry]!;
    return entry;
  }

  /** The amount after the change; null when the change removed the account. */
  amountOf(entry: number): bigint | null {
    return this.present[entry] === 1 ? this.amounts[entry]! : null;
  }

  slotOf(entry: number): number {
    return this.slots[entry]!;
  }

  /** The same account's previous entry, or -1. */
  previousOf(entry: number): number {
    return this.previous[entry]!;
  }

  private grow(): void {
    const capacity = this.slots.length * 2;
    const slots = new Uint32Array(capacity);
    slots.set(this.slots);
    const amounts = new BigUint64Array(capacity);
    amounts.set(this.amounts);
    const present = new Uint8Array(capacity);
    present.set(this.present);
    const previous = new Int32Array(capacity);
    previous.set(this.previous);
    this.slots = slots;
    this.amounts = amounts;
    this.present = present;
    this.previous = previous;
  }
}
