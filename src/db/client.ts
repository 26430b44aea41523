// The one place a Postgres connection is made, and the one place values are converted:
// rows come out with camelCase keys and with each column's type already the code's.

import postgres from 'postgres';
import { NUMERIC, type WalletId } from './types';

/** A pool as connect makes it: its parameters may be bigint (see connect's types). */
export type Sql = postgres.Sql<{ bigint: bigint; lamports: bigint }>;
export type Tx = postgres.TransactionSql<{ bigint: bigint; lamports: bigint }>;

const INT8 = 20;
const INT8_ARRAY = 1016;

/** int8 columns named `id`, `…Id` or `…Ids` (after camelCase) hold row ids. */
const ID_COLUMN = /^id$|Ids?$/;

function walletId(value: bigint): WalletId {
  const id = Number(value);
  if (!Number.isSafeInteger(id)) throw new RangeError(`row id ${value} is beyond 2^53`);
  return id;
}

function ids(value: unknown, column: postgres.Column<string>): unknown {
  if (value === null || !ID_COLUMN.test(column.name)) return value;
  if (column.type === INT8) return walletId(value as bigint);
  if (column.type === INT8_ARRAY) return (value as bigint[]).map(walletId);
  return value;
}

export interface DbOptions {
  /** Connections in the pool. */
  max?: number;
  /** A tag shown in pg_stat_activity. */
  appName?: string;
  /** Seconds an unused connection stays open; by default until the pool ends. */
  idleTimeout?: number;
  /**
   * Commits without waiting for the WAL flush (synchronous_commit = off): for the RPC budget's
   * row alone, whose last few updates a crash may lose (see src/db/rpc-budget.ts).
   */
  asyncCommit?: boolean;
}

export function connect(url: string, { max = 10, appName = 'balance-tracker', idleTimeout, asyncCommit = false }: DbOptions = {}): Sql {
  return postgres(url, {
    max,
    idle_timeout: idleTimeout,
    onnotice: () => {},
    connection: { application_name: appName, ...(asyncCommit ? { synchronous_commit: 'off' } : {}) },
    // Fail fast when the server is down: Temporal retries the activity, not the driver.
    connect_timeout: 10,
    types: {
      // int8 (slots, counts) as exact bigint. A bigint parameter is sent as int8.
      bigint: postgres.BigInt,
      // numeric holds u64 lamports, exact bigint both ways (BigInt refuses a fraction rather than
      // round it). u64 outgrows int8, so lamports are sent as numeric: sql.typed(x, NUMERIC), or
      // sql.array(xs, NUMERIC) for a list.
      lamports: { to: NUMERIC, from: [NUMERIC], serialize: (x: bigint) => x.toString(), parse: (x: string) => BigInt(x) },
    },
    transform: { column: { from: postgres.toCamel }, value: { from: ids } },
  });
}
