import type { Client } from '@temporalio/client';
import type { Config } from '../src/config';
import type { Sql } from '../src/db/client';
import type { BalanceReader } from '../src/rpc/balances';

/** What activities need from the worker process. Secrets stay here, never in workflow inputs. */
export interface ActivityDeps {
  sql: Sql;
  client: Client;
  config: Config;
  readBalances: BalanceReader;
}
