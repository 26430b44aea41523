// Ensures the Temporal CLI and tctl (building them once if needed) and prints their paths:
//   temporal=/path/to/temporal
//   tctl=/path/to/tctl
// Used by `npm test`, `npm start` and .ci/run. `--temporal-only` skips tctl; `--cluster` also
// ensures the Temporal server and its SQL tool (`npm run stack:cluster`, the cluster tests).

import { ensureTctl, ensureTemporalCli, ensureTemporalServer, ensureTemporalSqlTool } from './binaries';

async function main(): Promise<void> {
  const temporalOnly = process.argv.includes('--temporal-only');
  const temporal = await ensureTemporalCli();
  process.stdout.write(`temporal=${temporal}\n`);
  if (!temporalOnly) {
    const tctl = await ensureTctl();
    process.stdout.write(`tctl=${tctl}\n`);
  }
  if (process.argv.includes('--cluster')) {
    process.stdout.write(`temporal-server=${await ensureTemporalServer()}\n`);
    process.stdout.write(`temporal-sql-tool=${await ensureTemporalSqlTool()}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
