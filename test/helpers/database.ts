// Throwaway databases on the run's Postgres (see test/global-setup.ts). Empty: a test that
// needs the schema runs the migrations itself.

import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { dropDatabase, ensureDatabase } from '../../tools/stack/postgres';

export interface FreshDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database on the run's Postgres, or on the server of `adminUrl` (a URL of its `postgres` database). */
export async function freshDatabase(prefix: string, adminUrl: string = inject('postgresAdminUrl')): Promise<FreshDatabase> {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 30);
  const name = `bt_test_${clean}_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  return { url: url.toString(), name, drop: () => dropDatabase(url.toString()) };
}
