import { createHash } from 'node:crypto';
import { getBase58Decoder } from '@solana/kit';

/** Deterministic, valid, distinct Solana addresses for tests (kit's decoder turns bytes into base58 text). */
export function testAddresses(count: number, label = 'test'): string[] {
  const base58 = getBase58Decoder();
  return Array.from({ length: count }, (_, i) => base58.decode(createHash('sha256').update(`${label}:${i}`).digest()));
}
