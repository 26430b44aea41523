// A Temporal server persisting to Postgres (tools/stack/cluster.ts) for a test: random ports and
// databases of its own (bt_cluster_<random> and its _visibility twin) on the run's Postgres,
// dropped again by stop(). The first use on a machine builds the server (minutes).

import { randomUUID } from 'node:crypto';
import { startTemporalCluster, type TemporalCluster } from '../../tools/stack/cluster';

export interface TestCluster extends TemporalCluster {
  /** Stops the server and drops its databases. */
  remove(): Promise<void>;
}

/** `postgresAdminUrl`: a URL of the `postgres` database (in a test file, inject('postgresAdminUrl')). Not read here: the global setup imports this module too. */
export async function startTestCluster(postgresAdminUrl: string): Promise<TestCluster> {
  const cluster = await startTemporalCluster({ port: 0, postgresUrl: postgresAdminUrl, databasePrefix: `bt_cluster_${randomUUID().slice(0, 8)}` });
  return Object.assign(cluster, {
    async remove() {
      await cluster.stop();
      await cluster.dropDatabases();
    },
  });
}
