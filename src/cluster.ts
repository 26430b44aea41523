// The worker's start-up guard: the database's balances and slots belong to one Solana cluster
// (recorded on the first run), and a worker pointed at another cluster refuses to start. Its
// slots would be unrelated to the stored ones: every read would be refused as lagging (a
// silent stall) or, worse, accepted against balances of another chain.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from './db/client';
import { recordCluster } from './db/cluster';
import { log } from './log';
import { redactText } from './redact';
import { readGenesisHash } from './rpc/genesis';

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
  /** Tries before giving up when the RPC does not answer (1 s apart, doubling to 15 s). */
  attempts?: number;
}

/**
 * Reads the endpoint's genesis hash, records it when the database has none, and throws
 * ClusterMismatchError when the database's is another. An RPC that does not answer is
 * retried for a while (a provider hiccup must not stop a deploy), then reported.
 */
export async function checkCluster(sql: Sql, { rpcUrl, timeoutMs, attempts = 8 }: ClusterCheckOptions): Promise<string> {
  let served: string | undefined;
  for (let attempt = 1, pauseMs = 1_000; served === undefined; attempt++, pauseMs = Math.min(pauseMs * 2, 15_000)) {
    try {
      served = await readGenesisHash(rpcUrl, timeoutMs);
    } catch (error) {
      const reason = redactText(error instanceof Error ? error.message : String(error), [rpcUrl]);
      if (attempt >= attempts) throw new Error(`cannot read the cluster's genesis hash from SOLANA_RPC_URL after ${attempts} tries: ${reason}`);
      log.warn('cannot read the cluster genesis hash yet; retrying', { attempt, reason });
      await sleep(pauseMs);
    }
  }
  const recorded = await recordCluster(sql, served);
  if (recorded !== served) throw new ClusterMismatchError(recorded, served);
  return served;
}
