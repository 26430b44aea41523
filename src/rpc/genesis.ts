// Which cluster an RPC endpoint serves: its genesis hash (getGenesisHash), the one value that
// tells devnet, mainnet and a reset local validator apart.

import { isBlockhash } from '@solana/kit';
import { createRpc } from './client';

/** The endpoint's genesis hash (base58); throws the SDK's error when it cannot answer. */
export async function readGenesisHash(url: string, timeoutMs: number): Promise<string> {
  const hash = await createRpc(url).getGenesisHash().send({ abortSignal: AbortSignal.timeout(timeoutMs) });
  if (typeof hash !== 'string' || !isBlockhash(hash)) throw new Error('getGenesisHash answered something that is not a base58 hash');
  return hash;
}
