// The wallets' 32-byte public keys in one flat byte array, with an open-addressing
// hash index from key to wallet number. A million wallets cost 32 MB of keys plus an
// 8 MB index, instead of a million strings and a Map; base58 text is made on demand.

const KEY_BYTES = 32;

export class AddressTable {
  private keys: Uint8Array;
  /** Wallet number + 1 per bucket; 0 marks an empty bucket. Size is a power of two. */
  private buckets: Int32Array;
  private mask: number;
  private shift: number;
  private count = 0;

  constructor(expected: number) {
    const capacity = Math.max(16, expected);
    this.keys = new Uint8Array(capacity * KEY_BYTES);
    const size = bucketCount(capacity);
    this.buckets = new Int32Array(size);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size);
  }

  get size(): number {
    return this.count;
  }

  /** The key of wallet `index` (a view: copy it before keeping it). */
  key(index: number): Uint8Array {
    return this.keys.subarray(index * KEY_BYTES, (index + 1) * KEY_BYTES);
  }

  find(key: Uint8Array): number {
    for (let bucket = this.hash(key); ; bucket = (bucket + 1) & this.mask) {
      const entry = this.buckets[bucket]!;
      if (entry === 0) return -1;
      if (this.equals(entry - 1, key)) return entry - 1;
    }
  }

  /** Adds a key and returns its wallet number, or -1 when the key is already present. */
  add(key: Uint8Array): number {
    if (key.length !== KEY_BYTES) throw new RangeError(`a key is ${KEY_BYTES} bytes, got ${key.length}`);
    if (this.find(key) !== -1) return -1;
    const index = this.count;
    if ((index + 1) * KEY_BYTES > this.keys.length) {
      const grown = new Uint8Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    this.keys.set(key, index * KEY_BYTES);
    this.count++;
    if (this.count * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    else this.place(index);
    return index;
  }

  private place(index: number): void {
    let bucket = this.hash(this.key(index));
    while (this.buckets[bucket] !== 0) bucket = (bucket + 1) & this.mask;
    this.buckets[bucket] = index + 1;
  }

  private rehash(size: number): void {
    this.buckets = new Int32Array(size);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size);
    for (let i = 0; i < this.count; i++) this.place(i);
  }

  private hash(key: Uint8Array): number {
    // Fold all 32 bytes (keys added by hand need not be random), then take the
    // well-mixed high bits of a Fibonacci multiplication.
    let word = 0;
    for (let i = 0; i < KEY_BYTES; i += 4) {
      word = Math.imul(word ^ (key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24)), 0x9e3779b1);
    }
    return word >>> this.shift;
  }

  private equals(index: number, key: Uint8Array): boolean {
    const offset = index * KEY_BYTES;
    for (let i = 0; i < KEY_BYTES; i++) if (this.keys[offset + i] !== key[i]) return false;
    return true;
  }
}

/** Power of two holding `capacity` keys at a load factor of at most 1/2. */
function bucketCount(capacity: number): number {
  let size = 16;
  while (size < capacity * 2) size *= 2;
  return size;
}
