// The one place the service talks to Solana RPC: one getMultipleAccounts call for up
// to 100 wallets, its answer checked before it is trusted, and every failure sorted
// into a kind the activity layer maps onto a Temporal retry decision.

import {
  type Address,
  isSolanaError,
  type SolanaError,
  SOLANA_ERROR__JSON_RPC__INVALID_PARAMS,
  SOLANA_ERROR__JSON_RPC__INVALID_REQUEST,
  SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_MIN_CONTEXT_SLOT_NOT_REACHED,
  SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR,
} from '@solana/kit';
import type { Commitment } from '../config';
import { recordRpcRequest, type RpcOutcome } from '../metrics';
import { createRpc } from './client';
import { RpcRedirect } from './http-transport';
import { exactU64 } from '../u64';

export const MAX_ACCOUNTS_PER_CALL = 100;

/** rate_limited and the transient kinds retry; rejected never can succeed. */
export type RpcFailureKind = 'rate_limited' | 'unavailable' | 'timeout' | 'lagging' | 'malformed' | 'rejected';

/** The metric outcome of each kind (src/metrics/definitions.ts documents the outcomes). */
export const RPC_OUTCOME: Record<RpcFailureKind, RpcOutcome> = {
  rate_limited: 'rate_limited',
  unavailable: 'server_error',
  lagging: 'server_error',
  timeout: 'timeout',
  malformed: 'invalid',
  rejected: 'invalid',
};

export class RpcFailure extends Error {
  constructor(
    readonly kind: RpcFailureKind,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RpcFailure';
  }
}

export interface AccountBalance {
  lamports: bigint;
  /** False when the account does not exist on chain (the RPC answered null): 0 lamports, not an error. */
  onChain: boolean;
  /** The owning program; null when the account does not exist. */
  owner: string | null;
  /** The sliced data (BalanceReaderOptions.dataLength bytes at most; none for a system account). */
  data: Uint8Array;
}

export interface BalancesRead {
  slot: bigint;
  balances: AccountBalance[];
}

export interface BalanceReaderOptions {
  url: string;
  commitment: Commitment;
  timeoutMs: number;
  /** The longest Retry-After honoured; a longer one waits this long. */
  maxRetryAfterMs: number;
  /** Bytes of each account's data read from offset 0: 0 for lamports only, TOKEN_SLICE_LENGTH with tracked mints. */
  dataLength?: number;
}

export type BalanceReader = (addresses: readonly string[], minContextSlot?: bigint) => Promise<BalancesRead>;

/**
 * Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms and at most `maxMs`.
 * Anything else (absent, negative, `1e9`, `Infinity`, a date Date.parse only guesses at)
 * gives undefined: the retry policy's own backoff then applies.
 */
export function parseRetryAfter(value: string | null, maxMs: number, now = Date.now()): number | undefined {
  const text = value?.trim() ?? '';
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Math.ceil(Number(text) * 1000);
  // A date names its weekday or month; without a letter, Date.parse reads '5' as the year 2001.
  else if (/[a-z]/i.test(text)) ms = Math.max(0, Date.parse(text) - now);
  else return undefined;
  return Number.isFinite(ms) ? Math.min(ms, maxMs) : undefined;
}

/** 408 Request Timeout and 425 Too Early ask the client to try again; other 4xx never change. */
const TRANSIENT_4XX = new Set([408, 425]);

/**
 * A JSON-RPC error as the server worded it. Not kit's message: with NODE_ENV=production that is
 * the error's context base64-encoded, where a key the server echoed could hide from redaction.
 */
function serverMessage(error: SolanaError): string {
  const { __code: code, __serverMessage: message } = error.context as { __code: number; __serverMessage?: unknown };
  return `JSON-RPC error ${code}${typeof message === 'string' ? `: ${message}` : ''}`;
}

function classify(error: unknown, maxRetryAfterMs: number): RpcFailure {
  if (error instanceof RpcFailure) return error;
  if (error instanceof RpcRedirect) return new RpcFailure('rejected', error.message);
  if (isSolanaError(error, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)) {
    const { statusCode, headers } = error.context;
    if (statusCode === 429) {
      return new RpcFailure('rate_limited', 'RPC rate limit (HTTP 429)', parseRetryAfter(headers.get('retry-after'), maxRetryAfterMs));
    }
    if (statusCode >= 500) return new RpcFailure('unavailable', `RPC server error (HTTP ${statusCode})`);
    if (TRANSIENT_4XX.has(statusCode)) return new RpcFailure('unavailable', `RPC asked to try again (HTTP ${statusCode})`);
    // 401/403/404/413...: the same request will get the same answer.
    return new RpcFailure('rejected', `RPC refused the request (HTTP ${statusCode})`);
  }
  if (isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_MIN_CONTEXT_SLOT_NOT_REACHED)) {
    return new RpcFailure('lagging', 'RPC node is behind the slot already stored');
  }
  if (
    isSolanaError(error, SOLANA_ERROR__JSON_RPC__INVALID_PARAMS) ||
    isSolanaError(error, SOLANA_ERROR__JSON_RPC__INVALID_REQUEST) ||
    isSolanaError(error, SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND)
  ) {
    return new RpcFailure('rejected', `RPC rejected the request: ${serverMessage(error)}`);
  }
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return new RpcFailure('timeout', 'RPC request timed out');
  }
  if (error instanceof SyntaxError) return new RpcFailure('malformed', 'RPC answered with a malformed body');
  if (isSolanaError(error)) return new RpcFailure('unavailable', `RPC error: ${serverMessage(error)}`);
  // Network failures (refused, reset). The message of a fetch error names host and port only.
  const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return new RpcFailure('unavailable', `RPC unreachable: ${message}`);
}

/**
 * An answer is trusted only if it has the right shape: one entry per address, u64 lamports, a
 * slot, and that slot no older than the minContextSlot asked for (a node that ignores it is lagging).
 */
function validate(value: unknown, rawSlot: unknown, expected: number, minContextSlot: bigint | undefined): BalancesRead {
  const slot = exactU64(rawSlot);
  if (slot === undefined) throw new RpcFailure('malformed', 'RPC answer has no valid context slot');
  if (minContextSlot !== undefined && slot < minContextSlot) {
    throw new RpcFailure('lagging', `RPC node answered at slot ${slot}, older than the slot already stored (${minContextSlot})`);
  }
  if (!Array.isArray(value)) throw new RpcFailure('malformed', 'RPC answer has no account list');
  if (value.length !== expected) {
    throw new RpcFailure('malformed', `RPC answered ${value.length} accounts for ${expected} addresses`);
  }
  const balances = value.map((account: unknown, i): AccountBalance => {
    if (account === null) return { lamports: 0n, onChain: false, owner: null, data: new Uint8Array() };
    const { lamports: rawLamports, owner, data } = (account ?? {}) as { lamports?: unknown; owner?: unknown; data?: unknown };
    const lamports = exactU64(rawLamports);
    if (lamports === undefined) {
      throw new RpcFailure('malformed', `RPC answer has an invalid lamports value at index ${i}`);
    }
    if (typeof owner !== 'string' || !Array.isArray(data) || typeof data[0] !== 'string' || data[1] !== 'base64') {
      throw new RpcFailure('malformed', `RPC answer has no owner or base64 data at index ${i}`);
    }
    return { lamports, onChain: true, owner, data: new Uint8Array(Buffer.from(data[0], 'base64')) };
  });
  return { slot, balances };
}

export function createBalanceReader({ url, commitment, timeoutMs, maxRetryAfterMs, dataLength = 0 }: BalanceReaderOptions): BalanceReader {
  const rpc = createRpc(url);
  return async (addresses, minContextSlot) => {
    if (addresses.length === 0 || addresses.length > MAX_ACCOUNTS_PER_CALL) {
      throw new RpcFailure('rejected', `a call takes 1 to ${MAX_ACCOUNTS_PER_CALL} addresses, got ${addresses.length}`);
    }
    try {
      const response = await rpc
        .getMultipleAccounts(
          // Callers validated the addresses on entry (src/address.ts); the RPC is the final judge.
          addresses as readonly Address[],
          // Only the bytes needed: none for lamports alone, a token account's mint, owner and amount with tracked mints.
          { encoding: 'base64', dataSlice: { offset: 0, length: dataLength }, commitment, minContextSlot },
        )
        .send({ abortSignal: AbortSignal.timeout(timeoutMs) });
      const read = validate(response?.value, response?.context?.slot, addresses.length, minContextSlot);
      recordRpcRequest('getMultipleAccounts', 'ok');
      return read;
    } catch (error) {
      const failure = classify(error, maxRetryAfterMs);
      recordRpcRequest('getMultipleAccounts', RPC_OUTCOME[failure.kind]);
      throw failure;
    }
  };
}
