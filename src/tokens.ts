// Token balances: a tracked mint's program and decimals, and the check a token account passes
// before its amount is trusted (each wallet's ATA for a mint: src/db/token-accounts.ts). Layouts,
// program ids and ATA derivation come from @solana-program/token: Token-2022's base account and
// mint layouts are SPL Token's, and its ATAs derive the same way with its own program id (see
// README, "Tokens", for why @solana-program/token-2022 is not a dependency).

import { getTokenDecoder, getTokenSize, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { address } from '@solana/kit';
import { type AccountBalance, MAX_ACCOUNTS_PER_CALL, RpcFailure } from './rpc/balances';

export const TOKEN_2022_PROGRAM_ADDRESS = address('TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb');
export const TOKEN_PROGRAMS: readonly string[] = [TOKEN_PROGRAM_ADDRESS, TOKEN_2022_PROGRAM_ADDRESS];

/** The bytes read of each account: a token account's mint (0..32), owner (32..64) and amount (64..72). */
export const TOKEN_SLICE_LENGTH = 72;

/** Calls a batch of `wallets` makes: each wallet is read with its ATA for every tracked mint, 100 accounts a call. */
export function callsFor(wallets: number, mints: number): number {
  return Math.ceil((wallets * (1 + mints)) / MAX_ACCOUNTS_PER_CALL);
}

export interface TrackedMint {
  address: string;
  /** The mint account's owner: SPL Token or Token-2022. */
  program: string;
  decimals: number;
}

export interface TokenObservation {
  mint: string;
  amount: bigint;
  /** False when the ATA does not exist (never created, or closed): amount 0. */
  onChain: boolean;
}

const tokenDecoder = getTokenDecoder();

/**
 * The amount an ATA read holds, after checking it is what was asked for: owned by the mint's
 * program, of this mint and this wallet, with the sliced bytes present. Anything else is a
 * malformed answer (retried), never a balance. A missing account is 0, not an error.
 */
export function tokenObservation(account: AccountBalance, wallet: string, mint: TrackedMint): TokenObservation {
  if (!account.onChain) return { mint: mint.address, amount: 0n, onChain: false };
  const { owner, data } = account;
  if (owner !== mint.program) throw new RpcFailure('malformed', `RPC answered a token account of ${mint.address} owned by ${owner}, not ${mint.program}`);
  if (data.length < TOKEN_SLICE_LENGTH) throw new RpcFailure('malformed', `RPC answered ${data.length} bytes of a token account, fewer than ${TOKEN_SLICE_LENGTH}`);
  // The slice decoded with the published layout: the bytes after the amount are not read (zero).
  const padded = new Uint8Array(getTokenSize());
  padded.set(data.subarray(0, TOKEN_SLICE_LENGTH));
  const token = tokenDecoder.decode(padded);
  if (token.mint !== mint.address || token.owner !== wallet) {
    throw new RpcFailure('malformed', `RPC answered a token account of mint ${token.mint} and owner ${token.owner} for the ATA of ${wallet} for ${mint.address}`);
  }
  return { mint: mint.address, amount: token.amount, onChain: true };
}
