// Vitest global setup: one Temporal dev server (in memory, headless, random ports) and a
// running Postgres for the whole run. With TEST_TEMPORAL=cluster, the Temporal server persisting
// to Postgres instead (tools/stack/cluster.ts): the same tests, on the server users deploy. Test files reach them through inject():
//   inject('temporalAddress')   host:port of the dev server
//   inject('postgresAdminUrl')  a URL of the `postgres` database, for creating test databases
//   inject('workflowBundleCode') the workflow bundle, made once (seconds of CPU) for every file's workers
// Parallel createLocal() calls race, so no test file starts its own server for the engine.

import type { TestProject } from 'vitest/node';
import { log } from '../src/log';
import { bundleWorkflows } from '../src/worker';
import { ensureDatabase } from '../tools/stack/postgres';
import { startDevServer } from '../tools/stack/devserver';
import { ensureTemporalCli } from '../tools/toolchain/binaries';
import { startTestCluster } from './helpers/cluster';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    postgresAdminUrl: string;
    workflowBundleCode: string;
  }
}

export const DEFAULT_POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgresAdminUrl = process.env.TEST_DATABASE_ADMIN_URL || DEFAULT_POSTGRES_ADMIN_URL;
  const [temporalPath, bundle] = await Promise.all([ensureTemporalCli(), bundleWorkflows(), ensureDatabase(postgresAdminUrl)]);
  project.provide('postgresAdminUrl', postgresAdminUrl);
  project.provide('workflowBundleCode', bundle.code);
  if (process.env.TEST_TEMPORAL === 'cluster') {
    const cluster = await startTestCluster(postgresAdminUrl);
    log.info('test Temporal server (Postgres persistence) ready', { address: cluster.address, pid: cluster.pid });
    project.provide('temporalAddress', cluster.address);
    return () => cluster.remove();
  }
  const server = await startDevServer({ port: 0, headless: true, temporalPath });
  log.info('test dev server ready', { address: server.address, pid: server.pid });
  project.provide('temporalAddress', server.address);
  return () => server.stop();
}
