// Which cluster an RPC endpoint serves: its genesis hash (getGenesisHash), the one value that
// tells devnet, mainnet and a reset local validator apart.

import { createSolanaRpc } from '@solana/kit';

/** The endpoint's genesis hash (base58); throws the SDK's error when it cannot answer. */
export async function readGenesisHash(url: string, timeoutMs: number): Promise<string> {
  const hash = await createSolanaRpc(url).getGenesisHash().send({ abortSignal: AbortSignal.timeout(timeoutMs) });
  if (typeof hash !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(hash)) throw new Error('getGenesisHash answered something that is not a base58 hash');
  return hash;
}
