// u64, Solana's integer for lamports (and rent epochs): an exact bigint in code, numeric in
// Postgres. The bound is written here once; the simulator and the RPC checks share it.

export const U64_MAX = 2n ** 64n - 1n;

/** A bigint a u64 can hold (an RPC answer's lamports, a balance given to the simulator). */
export function isU64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}

/**
 * A u64 of a parsed JSON answer (src/rpc/http-transport.ts): a bigint, or a number JSON.parse
 * held exactly (a safe integer); undefined for anything else, a rounded number included.
 */
export function exactU64(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  return isU64(value) ? value : undefined;
}
