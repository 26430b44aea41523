// The worker's start-up guard: the database's balances and slots belong to one Solana cluster
// (recorded on the first run), and a worker pointed at another cluster refuses to start. Its
// slots would be unrelated to the stored ones: every read would be refused as lagging (a
// silent stall) or, worse, accepted against balances of another chain.

import type { Sql } from './db/client';
import { recordCluster } from './db/cluster';
import { readGenesisHash } from './rpc/genesis';
import { retryAtStartup } from './startup-retry';

export class ClusterMismatchError extends Error {
  constructor(recorded: string, served: string) {
    super(
      `the database holds balances from the Solana cluster with genesis hash ${recorded}, but SOLANA_RPC_URL serves ${served}: ` +
        'use a new database for this cluster (DATABASE_URL naming one that does not exist yet is created), or point SOLANA_RPC_URL back at that cluster',
    );
    this.name = 'ClusterMismatchError';
  }
}

export interface ClusterCheckOptions {
  rpcUrl: string;
  timeoutMs: number;
  /** Tries before giving up when the RPC does not answer (see retryAtStartup). */
  attempts?: number;
  /** Waits for the RPC budget's turn before each call. */
  beforeCall?: () => Promise<void>;
}

/**
 * Reads the endpoint's genesis hash, records it when the database has none, and throws
 * ClusterMismatchError when the database's is another. An RPC that does not answer is
 * retried for a while (a provider hiccup must not stop a deploy), then reported.
 */
export async function checkCluster(sql: Sql, { rpcUrl, timeoutMs, attempts, beforeCall }: ClusterCheckOptions): Promise<string> {
  const read = async () => {
    await beforeCall?.();
    return readGenesisHash(rpcUrl, timeoutMs);
  };
  const served = await retryAtStartup("the cluster's genesis hash", read, { attempts, rpcUrl });
  const recorded = await recordCluster(sql, served);
  if (recorded !== served) throw new ClusterMismatchError(recorded, served);
  return served;
}
