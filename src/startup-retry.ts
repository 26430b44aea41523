// What a worker reads from the RPC before it starts (the cluster's genesis hash, the tracked
// mints) is retried for a while when the RPC does not answer: a provider hiccup must not stop a
// deploy. Not Temporal work (no worker runs yet), so the backoff is this one loop.

import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './log';
import { redactText } from './redact';

export interface StartupRetryOptions {
  /** Tries before giving up (1 s apart, doubling to 15 s: 8 tries span about a minute). */
  attempts?: number;
  /** Secrets to mask in the reported reason (the RPC URL). */
  secrets: readonly string[];
  /** An error no retry can fix (a mint that is not a mint) is thrown at once. */
  isFinal?: (error: unknown) => boolean;
}

export async function retryAtStartup<T>(what: string, read: () => Promise<T>, { attempts = 8, secrets, isFinal = () => false }: StartupRetryOptions): Promise<T> {
  for (let attempt = 1, pauseMs = 1_000; ; attempt++, pauseMs = Math.min(pauseMs * 2, 15_000)) {
    try {
      return await read();
    } catch (error) {
      if (isFinal(error)) throw error;
      const reason = redactText(error instanceof Error ? error.message : String(error), secrets);
      if (attempt >= attempts) throw new Error(`cannot read ${what} from SOLANA_RPC_URL after ${attempts} tries: ${reason}`);
      log.warn(`cannot read ${what} yet; retrying`, { attempt, reason });
      await sleep(pauseMs);
    }
  }
}
