import { createHash } from 'node:crypto';
import { base58Encode } from '../../src/address';

/** Deterministic, valid, distinct Solana addresses for tests. */
export function testAddresses(count: number, label = 'test'): string[] {
  return Array.from({ length: count }, (_, i) => base58Encode(createHash('sha256').update(`${label}:${i}`).digest()));
}
