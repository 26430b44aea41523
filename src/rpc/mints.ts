// Reads the tracked mints once, when a worker starts: each mint account's owner tells its token
// program (SPL Token or Token-2022), its layout its decimals. A mint that is not there, or not a
// mint, stops the worker with a message naming it: tracking it could only ever read zeros.

import { getMintDecoder, getMintSize, getTokenSize } from '@solana-program/token';
import type { Address } from '@solana/kit';
import type { Commitment } from '../config';
import { retryAtStartup, type StartupRetryOptions } from '../startup-retry';
import { TOKEN_PROGRAMS, TOKEN_2022_PROGRAM_ADDRESS, type TrackedMint } from '../tokens';
import { MAX_ACCOUNTS_PER_CALL } from './balances';
import { createRpc } from './client';

/** Token-2022 marks an account with extensions by a type byte after the base account's size. */
const TOKEN_2022_MINT_TYPE = 1;

export class MintError extends Error {
  constructor(message: string) {
    super(`TRACKED_MINTS: ${message}`);
    this.name = 'MintError';
  }
}

function isMintData(program: string, data: Uint8Array): boolean {
  if (data.length === getMintSize()) return true;
  return program === TOKEN_2022_PROGRAM_ADDRESS && data.length > getTokenSize() && data[getTokenSize()] === TOKEN_2022_MINT_TYPE;
}

interface MintReadOptions {
  url: string;
  commitment: Commitment;
  timeoutMs: number;
}

/** readMints at a worker's start: an RPC that does not answer yet is retried, a mint that is not one stops the worker at once. */
export function readTrackedMints(
  options: MintReadOptions,
  addresses: readonly string[],
  retry: Pick<StartupRetryOptions, 'attempts'> = {},
  /** Waits for the RPC budget's turn before each call. */
  beforeCall: () => Promise<void> = async () => {},
): Promise<TrackedMint[]> {
  const read = async () => {
    await beforeCall();
    return readMints(options, addresses);
  };
  return retryAtStartup('the tracked mints', read, { ...retry, rpcUrl: options.url, isFinal: (error) => error instanceof MintError });
}

export async function readMints(
  { url, commitment, timeoutMs }: MintReadOptions,
  addresses: readonly string[],
): Promise<TrackedMint[]> {
  const rpc = createRpc(url);
  const mints: TrackedMint[] = [];
  for (let i = 0; i < addresses.length; i += MAX_ACCOUNTS_PER_CALL) {
    const chunk = addresses.slice(i, i + MAX_ACCOUNTS_PER_CALL);
    const { value } = await rpc
      // Validated on entry (src/config.ts).
      .getMultipleAccounts(chunk as Address[], { encoding: 'base64', commitment })
      .send({ abortSignal: AbortSignal.timeout(timeoutMs) });
    for (const [j, account] of value.entries()) {
      const mint = chunk[j]!;
      if (account === null) throw new MintError(`${mint} does not exist on this cluster`);
      if (!TOKEN_PROGRAMS.includes(account.owner)) throw new MintError(`${mint} is not a mint: it is owned by ${account.owner}, not by SPL Token or Token-2022`);
      const data = new Uint8Array(Buffer.from(account.data[0], 'base64'));
      if (!isMintData(account.owner, data)) throw new MintError(`${mint} is not a mint: a ${data.length}-byte account of ${account.owner}`);
      const decoded = getMintDecoder().decode(data);
      if (!decoded.isInitialized) throw new MintError(`${mint} is not an initialized mint`);
      mints.push({ address: mint, program: account.owner, decimals: decoded.decimals });
    }
  }
  return mints;
}
