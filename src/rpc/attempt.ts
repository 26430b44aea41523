// How long one attempt of a batch group's RPC activity may take: each of its calls may wait for
// its turn and then for the RPC, so the attempt's start-to-close timeout grows with the calls it
// makes (1 + tracked mints per full batch, BATCHES_PER_ACTIVITY batches).

import { MAX_BATCH } from '../db/checks';
import { callsFor } from '../tokens';

/**
 * How late after its start an attempt may still make its RPC call, its wait for this process's
 * pacer included (about a second after an idle spell). The read before it takes milliseconds,
 * or a few hundred while the worker's connection pool is busy. One process's pacer keeps its
 * calls spaced, but several processes each pace only their own: a call that comes this much
 * after the turn Temporal gave it can land together with later turns of other workers, so this
 * bound is also how far the RPC budget can be overdrawn at the provider with several workers
 * (RPC_MAX_RPS × this, on top of Temporal's one-second burst; see README, "The RPC budget").
 */
export const MAX_CALL_DELAY_MS = 2_000;

/** Reading the batches' wallets and writing their results, with room for a busy database. */
const ATTEMPT_IO_MS = 30_000;

/** An attempt's start-to-close timeout: never under a minute, and room for every call to wait its turn and time out. */
export function attemptTimeoutMs(rpcTimeoutMs: number, mints: number, batches: number): number {
  return Math.max(60_000, batches * callsFor(MAX_BATCH, mints) * (rpcTimeoutMs + MAX_CALL_DELAY_MS) + ATTEMPT_IO_MS);
}
