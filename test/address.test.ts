import { describe, expect, it } from 'vitest';
import { getBase58Codec, isAddress } from '@solana/kit';
import { checkAddress } from '../src/address';
import { testAddresses } from './helpers/addresses';

describe('address validation', () => {
  it('accepts real addresses', () => {
    for (const a of ['11111111111111111111111111111111', 'So11111111111111111111111111111111111111112', ...testAddresses(50)]) {
      expect(checkAddress(a)).toEqual({ ok: true, address: a });
    }
  });

  it('agrees with kit on what an address is (its fast path never accepts what kit refuses)', () => {
    const codec = getBase58Codec();
    const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    let seed = 17;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const texts: string[] = ['1'.repeat(32), '1'.repeat(33), 'z'.repeat(43), 'z'.repeat(44), '2'.repeat(44), `1${'z'.repeat(43)}`];
    for (let i = 0; i < 3_000; i++) {
      // Byte strings of 30 to 34 bytes with leading zeros now and then, encoded: lengths kit accepts and refuses.
      const bytes = Uint8Array.from({ length: 30 + random(5) }, (_, j) => (j < random(3) ? 0 : random(256)));
      texts.push(codec.decode(bytes));
      texts.push(Array.from({ length: 31 + random(15) }, () => alphabet[random(58)]).join(''));
    }
    for (const text of texts) expect(checkAddress(text).ok, text).toBe(isAddress(text));
  });

  it.each([
    ['', 'empty address'],
    ['abc', 'too short: 3 characters'],
    ['1'.repeat(45), 'too long: 45 characters'],
    ['1'.repeat(10_000_000), 'too long: 10000000 characters'],
    ['0'.repeat(32), "invalid character '0' (U+0030) at position 1"],
    [`${'2'.repeat(40)}l`, "invalid character 'l' (U+006C) at position 41"],
    [` ${testAddresses(1)[0]}`, 'contains whitespace (U+0020 at position 1)'],
    [`${testAddresses(1)[0]}\u200b`, 'invalid character U+200B'],
    ["'; DROP TABLE wallets; --", "invalid character '''"],
    ['z'.repeat(44), 'decodes to 33 bytes'],
    ['2'.repeat(32), 'decodes to 23 bytes'],
  ])('refuses %j: %s', (text, reason) => {
    const result = checkAddress(text);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it('base58 round-trips bytes, leading zeros included', () => {
    const bytes = Uint8Array.from([0, 0, 1, 2, 255, ...new Array(27).fill(7)]);
    const base58 = getBase58Codec();
    expect(base58.encode(base58.decode(bytes))).toEqual(bytes);
  });
});
