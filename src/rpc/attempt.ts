// How long one attempt of a batch group's RPC activity may take: each of its calls may wait for
// its turn and then for the RPC, so the attempt's start-to-close timeout grows with the calls it
// makes (1 + tracked mints per full batch, BATCHES_PER_ACTIVITY batches).

import { MAX_BATCH } from '../db/checks';
import { callsFor } from '../tokens';

/**
 * How long a call may wait for its turn of the shared RPC budget (src/rpc/pacer.ts) before the
 * attempt gives itself back to Temporal's queue. Temporal starts attempts at the pacer's rate,
 * so a turn normally comes within about a second (its burst after an idle spell).
 */
export const MAX_CALL_DELAY_MS = 2_000;

/** Reading the batches' wallets and writing their results, with room for a busy database. */
const ATTEMPT_IO_MS = 30_000;

/** An attempt's start-to-close timeout: never under a minute, and room for every call to wait its turn and time out. */
export function attemptTimeoutMs(rpcTimeoutMs: number, mints: number, batches: number): number {
  return Math.max(60_000, batches * callsFor(MAX_BATCH, mints) * (rpcTimeoutMs + MAX_CALL_DELAY_MS) + ATTEMPT_IO_MS);
}
