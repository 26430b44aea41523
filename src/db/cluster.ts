// The cluster this database's data came from (migration 006).

import type { Sql } from './client';

/**
 * Records `genesisHash` as the database's cluster when none is recorded yet, and returns the
 * recorded one (the given hash on a first run). Safe for workers starting at once.
 */
export async function recordCluster(sql: Sql, genesisHash: string): Promise<string> {
  await sql`INSERT INTO cluster (genesis_hash) VALUES (${genesisHash}) ON CONFLICT (id) DO NOTHING`;
  return (await recordedCluster(sql))!;
}

/** The recorded cluster's genesis hash, or null before a worker first ran. */
export async function recordedCluster(sql: Sql): Promise<string | null> {
  const [row] = await sql<{ genesisHash: string }[]>`SELECT genesis_hash FROM cluster`;
  return row?.genesisHash ?? null;
}
