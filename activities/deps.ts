import type { Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { Sql } from '../src/db/client';
import type { AtaResolver } from '../src/db/token-accounts';
import type { BalanceReader } from '../src/rpc/balances';
import type { Pacer } from '../src/rpc/pacer';
import type { TrackedMint } from '../src/tokens';

/** What activities need from the worker process. Secrets stay here, never in workflow inputs. */
export interface ActivityDeps {
  sql: Sql;
  client: Client;
  config: Config;
  readBalances: BalanceReader;
  /** Every RPC call of the activities waits for its turn of the budget shared by all workers. */
  pace: Pacer;
  /** The tracked mints as read from chain at start (none: SOL only). */
  mints: readonly TrackedMint[];
  /** The wallets' ATAs for the tracked mints (derived once, kept in Postgres). */
  atasOf: AtaResolver;
}
