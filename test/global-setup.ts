// Vitest global setup: one Temporal dev server (in memory, headless, random ports) and a
// running Postgres for the whole run. Test files reach them through inject():
//   inject('temporalAddress')   host:port of the dev server
//   inject('postgresAdminUrl')  a URL of the `postgres` database, for creating test databases
// Parallel createLocal() calls race, so no test file starts its own server for the engine.

import type { TestProject } from 'vitest/node';
import { log } from '../src/log';
import { ensureDatabase } from '../src/stack/postgres';
import { startDevServer } from '../src/stack/devserver';
import { ensureTemporalCli } from '../src/toolchain/binaries';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    postgresAdminUrl: string;
  }
}

export const DEFAULT_POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgresAdminUrl = process.env.TEST_DATABASE_ADMIN_URL || DEFAULT_POSTGRES_ADMIN_URL;
  const [temporalPath] = await Promise.all([ensureTemporalCli(), ensureDatabase(postgresAdminUrl)]);
  const server = await startDevServer({ port: 0, headless: true, temporalPath });
  log.info('test dev server ready', { address: server.address, pid: server.pid });

  project.provide('temporalAddress', server.address);
  project.provide('postgresAdminUrl', postgresAdminUrl);

  return async () => {
    await server.stop();
  };
}
