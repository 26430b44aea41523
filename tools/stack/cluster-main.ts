// `npm run stack:cluster`: the production shape on this machine. The Temporal server persisting
// to the Postgres of DATABASE_URL (databases `temporal` and `temporal_visibility`, as compose
// has them), set up as compose sets it up (tools/stack/cluster.ts), and N worker processes
// (`balance-tracker worker`) sharing one RPC budget; the RPC simulator unless SOLANA_RPC_URL
// is set. Ctrl-C stops everything it started.

import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config';
import { log, registerSecrets, setLogLevel } from '../../src/log';
import { PACKAGE_ROOT } from '../../src/package-root';
import { configSecrets } from '../../src/redact';
import { startTemporalCluster } from './cluster';
import { startDemoSimulator } from './demo';
import { ensureDatabase } from './postgres';
import { WORKER_NODE_FLAGS } from '../../src/worker-flags';

const USAGE = `usage: npm run stack:cluster [-- --workers N --temporal-port N --simulator-port N --data-dir DIR]
  --workers N          worker processes (default 2)
  --temporal-port N    the Temporal frontend (default 7233); 0 picks free ports for all its services
  --simulator-port N   the RPC simulator when SOLANA_RPC_URL is not set (default 8899)
  --data-dir DIR       where temporal-server.log goes (default data/)`;

class UsageError extends Error {}

function options() {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2' },
      'temporal-port': { type: 'string', default: '7233' },
      'simulator-port': { type: 'string', default: '8899' },
      'data-dir': { type: 'string', default: join(PACKAGE_ROOT, 'data') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const integer = (name: 'workers' | 'temporal-port' | 'simulator-port', min: number, max: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got '${values[name]}'\n${USAGE}`);
    return n;
  };
  return {
    workers: integer('workers', 1, 64),
    temporalPort: integer('temporal-port', 0, 65_535),
    simulatorPort: integer('simulator-port', 0, 65_535),
    dataDir: resolve(values['data-dir']),
  };
}

async function main(): Promise<void> {
  const opts = options();
  let config = loadConfig();
  setLogLevel(config.logLevel);
  registerSecrets(...configSecrets(config));
  const stops: (() => Promise<void>)[] = [];
  const workers: ChildProcess[] = [];
  try {
    await ensureDatabase(config.databaseUrl);
    log.info('starting the Temporal server on Postgres (the first run builds it: minutes)');
    const cluster = await startTemporalCluster({ port: opts.temporalPort, postgresUrl: config.databaseUrl, logFile: join(opts.dataDir, 'temporal-server.log') });
    stops.unshift(() => cluster.stop());
    log.info('Temporal server running', { address: cluster.address, pid: cluster.pid, databases: cluster.databases, log: cluster.logFile });

    if (config.rpcUrl === null) {
      const { sim, seeded } = await startDemoSimulator(config, opts.simulatorPort);
      stops.unshift(() => sim.stop());
      config = { ...config, rpcUrl: sim.url };
      log.info('Solana RPC simulator running (SOLANA_RPC_URL not set)', { url: sim.url, demoWalletsAdded: seeded });
    }

    const env = { ...process.env, TEMPORAL_ADDRESS: cluster.address, TEMPORAL_NAMESPACE: cluster.namespace, SOLANA_RPC_URL: config.rpcUrl! };
    const exited: Promise<void>[] = [];
    for (let i = 0; i < opts.workers; i++) {
      const worker = spawn(process.execPath, [...WORKER_NODE_FLAGS, join(PACKAGE_ROOT, 'bin', 'balance-tracker.js'), 'worker'], { cwd: PACKAGE_ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
      workers.push(worker);
      exited.push(
        new Promise((done) =>
          worker.once('exit', (code, signal) => {
            (code === 0 ? log.info : log.warn)('worker process exited', { pid: worker.pid, code, signal });
            done();
          }),
        ),
      );
    }
    process.stderr.write(
      [
        '',
        `solana balance tracker is running: ${opts.workers} worker processes on the Temporal server at ${cluster.address} (Postgres persistence).`,
        `  Workers:  ${workers.map((w) => w.pid).join(', ')}`,
        '  Status:   TEMPORAL_ADDRESS=' + cluster.address + ' npx balance-tracker status',
        '  Stop:     Ctrl-C',
        '',
      ].join('\n') + '\n',
    );
    const stopWorkers = () => {
      for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
    };
    process.once('SIGINT', stopWorkers);
    process.once('SIGTERM', stopWorkers);
    // Runs until every worker has exited (Ctrl-C stops them cleanly).
    await Promise.all(exited);
  } finally {
    for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    for (const stop of stops) await stop().catch((error) => log.warn('stop failed', { error }));
  }
}

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof UsageError) process.stderr.write(`${error.message}\n`);
  else log.error('stack:cluster stopped', { error });
  process.exit(1);
});
