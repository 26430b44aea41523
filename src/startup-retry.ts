// What a worker reads from the RPC before it starts (the cluster's genesis hash, the tracked
// mints) is retried for a while when the RPC does not answer: a provider hiccup must not stop a
// deploy. Not Temporal work (no worker runs yet), so the backoff is this one loop.

import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './log';
import { redactText, urlSecrets } from './redact';
import { RpcRedirect } from './rpc/http-transport';

export interface StartupRetryOptions {
  /** Tries before giving up (1 s apart, doubling to 15 s: 8 tries span about a minute). */
  attempts?: number;
  /** The URL read from: every secret of it is masked in the reported reason (node:http's errors name the host). */
  rpcUrl: string;
  /** An error no retry can fix (a mint that is not a mint) is thrown at once, as a redirect always is. */
  isFinal?: (error: unknown) => boolean;
}

export async function retryAtStartup<T>(what: string, read: () => Promise<T>, { attempts = 8, rpcUrl, isFinal = () => false }: StartupRetryOptions): Promise<T> {
  const secrets = urlSecrets(rpcUrl);
  for (let attempt = 1, pauseMs = 1_000; ; attempt++, pauseMs = Math.min(pauseMs * 2, 15_000)) {
    try {
      return await read();
    } catch (error) {
      if (error instanceof RpcRedirect || isFinal(error)) throw error;
      const reason = redactText(error instanceof Error ? error.message : String(error), secrets);
      if (attempt >= attempts) throw new Error(`cannot read ${what} from SOLANA_RPC_URL after ${attempts} tries: ${reason}`);
      log.warn(`cannot read ${what} yet; retrying`, { attempt, reason });
      await sleep(pauseMs);
    }
  }
}
