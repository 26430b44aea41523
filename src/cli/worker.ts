// `worker`: runs a worker only (the deployment shape with many workers).

import { ClusterMismatchError } from '../cluster';
import { registerSecrets, setLogLevel } from '../log';
import { runWorker } from '../worker';
import type { CommandSpec } from './args';
import { CliError, EXIT } from './errors';

export const workerCommand: CommandSpec = {
  path: ['worker'],
  summary: 'run a worker (workflows, activities and the RPC queue) until Ctrl-C',
  args: '',
  json: false,
  description: `
Runs one worker until SIGINT or SIGTERM: it migrates the database, creates the tier
schedules that are missing (never overwriting an interval an operator changed), starts the
tier workflows that are not running, and then polls the workflow task queue and the RPC
task queue (whose rate limit, RPC_MAX_RPS, holds across all workers). Run as many as needed.

Configuration comes from the environment (see .env.example): SOLANA_RPC_URL is required
(it is a secret and is never logged in full), DATABASE_URL, TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TASK_QUEUE, RPC_MAX_RPS, the tier intervals and LOG_LEVEL. Logs are JSON
lines on stderr when it is not a terminal.

The database records the genesis hash of the cluster its balances came from (on the first
run); a worker whose SOLANA_RPC_URL serves another cluster refuses to start (use a new
database for the other cluster).

Exit status: 0 after a clean shutdown, 2 for invalid configuration, 1 when Postgres or
Temporal cannot be reached, the RPC serves another cluster, or the worker fails.`,
  options: {},
  async run(ctx) {
    const config = ctx.config();
    if (config.rpcUrl === null) {
      throw new CliError('SOLANA_RPC_URL is required to run a worker (an http or https URL of a Solana JSON-RPC endpoint)', EXIT.usage);
    }
    registerSecrets(config.rpcUrl, ...ctx.secrets());
    setLogLevel(config.logLevel);
    // Check both servers with short timeouts first, so a wrong address is one clear line.
    await ctx.db();
    await ctx.temporal();
    await ctx.close();
    try {
      await runWorker(config);
    } catch (error) {
      if (error instanceof ClusterMismatchError) throw new CliError(error.message, EXIT.failure, error);
      throw error;
    }
    return EXIT.ok;
  },
};
