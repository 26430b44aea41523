// The one place a Postgres connection is made.

import postgres from 'postgres';

export type Sql = postgres.Sql;

export interface DbOptions {
  /** Connections in the pool. */
  max?: number;
  /** A tag shown in pg_stat_activity. */
  appName?: string;
}

export function connect(url: string, { max = 10, appName = 'balance-tracker' }: DbOptions = {}): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connection: { application_name: appName },
    // Fail fast when the server is down: Temporal retries the activity, not the driver.
    connect_timeout: 10,
    // numeric (lamports) and int8 arrive as text; they are turned into bigint where read.
    types: { bigint: postgres.BigInt },
  });
}
