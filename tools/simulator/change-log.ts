// Every balance change, append-only, in typed arrays: (slot, lamports) plus a link to
// the same wallet's previous change. Each wallet's changes form a backward chain from
// its newest entry, so "balance at slot S" walks back only over changes newer than S.
// 16 bytes per change; no object per change or per wallet.

const INITIAL_CAPACITY = 1 << 14;

export class ChangeLog {
  private slots = new Uint32Array(INITIAL_CAPACITY);
  private lamports = new BigUint64Array(INITIAL_CAPACITY);
  private previous = new Int32Array(INITIAL_CAPACITY);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends a change chained after entry `previous` (-1 for a wallet's first); returns its entry. */
  append(previous: number, slot: number, lamports: bigint): number {
    if (this.count === this.slots.length) this.grow();
    const entry = this.count++;
    this.slots[entry] = slot;
    this.lamports[entry] = lamports;
    this.previous[entry] = previous;
    return entry;
  }

  /** The newest entry at or before `slot` in the chain ending at `newest`, or -1. */
  findAt(newest: number, slot: number): number {
    let entry = newest;
    while (entry !== -1 && this.slots[entry]! > slot) entry = this.previous[entry]!;
    return entry;
  }

  lamportsOf(entry: number): bigint {
    return this.lamports[entry]!;
  }

  slotOf(entry: number): number {
    return this.slots[entry]!;
  }

  /** The same wallet's previous entry, or -1. */
  previousOf(entry: number): number {
    return this.previous[entry]!;
  }

  private grow(): void {
    const capacity = this.slots.length * 2;
    const slots = new Uint32Array(capacity);
    slots.set(this.slots);
    const lamports = new BigUint64Array(capacity);
    lamports.set(this.lamports);
    const previous = new Int32Array(capacity);
    previous.set(this.previous);
    this.slots = slots;
    this.lamports = lamports;
    this.previous = previous;
  }
}
