// `npm start`: the whole service on one machine with no configuration. It starts what is
// not given (a Temporal dev server unless TEMPORAL_ADDRESS is set, the RPC simulator unless
// SOLANA_RPC_URL is set), makes sure Postgres and the database exist, runs the worker, and
// stops everything it started on Ctrl-C.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ClusterMismatchError } from '../../src/cluster';
import { ConfigError, loadConfig } from '../../src/config';
import { log, registerSecrets, setLogLevel } from '../../src/log';
import { PACKAGE_ROOT } from '../../src/package-root';
import { runWorker } from '../../src/worker';
import { startDemoSimulator } from './demo';
import { startDevServer } from './devserver';
import { ensureDatabase } from './postgres';

const USAGE = `usage: npm start [-- --temporal-port N --ui-port N --simulator-port N --data-dir DIR]
  Ports default to 7233 (Temporal), 8233 (Web UI) and 8899 (simulator); 0 picks free ones.`;

function stackOptions() {
  const { values } = parseArgs({
    options: {
      'temporal-port': { type: 'string', default: '7233' },
      'ui-port': { type: 'string', default: '8233' },
      'simulator-port': { type: 'string', default: '8899' },
      'data-dir': { type: 'string', default: join(PACKAGE_ROOT, 'data') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const port = (name: 'temporal-port' | 'ui-port' | 'simulator-port') => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError(`--${name}: expected a port from 0 to 65535, got '${values[name]}'`);
    return n;
  };
  return { temporalPort: port('temporal-port'), uiPort: port('ui-port'), simulatorPort: port('simulator-port'), dataDir: resolve(values['data-dir']) };
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const options = stackOptions();
  let config = loadConfig();
  setLogLevel(config.logLevel);
  registerSecrets(config.rpcUrl);
  mkdirSync(options.dataDir, { recursive: true });
  let webUi: string | null = null;
  let devServerLog: string | null = null;
  const stops: (() => Promise<void>)[] = [];

  try {
    await ensureDatabase(config.databaseUrl);

    if (!process.env.TEMPORAL_ADDRESS) {
      const dev = await startDevServer({
        port: options.temporalPort,
        uiPort: options.uiPort,
        dbFile: join(options.dataDir, 'temporal.sqlite'),
        logFile: join(options.dataDir, 'temporal.log'),
      });
      stops.unshift(() => dev.stop());
      config = { ...config, temporal: { ...config.temporal, address: dev.address } };
      webUi = dev.uiUrl;
      devServerLog = dev.logFile;
      log.info('Temporal dev server running', { address: dev.address, webUi, pid: dev.pid, logFile: dev.logFile });
    }

    if (config.rpcUrl === null) {
      const { sim, seeded } = await startDemoSimulator(config, options.simulatorPort);
      stops.unshift(() => sim.stop());
      config = { ...config, rpcUrl: sim.url };
      log.info('Solana RPC simulator running (SOLANA_RPC_URL not set)', { url: sim.url, slot: sim.world.slot(), genesisHash: sim.world.genesisHash, demoWalletsAdded: seeded });
    }

    process.stderr.write(
      [
        '',
        'solana balance tracker is running.',
        webUi ? `  Temporal Web UI:  ${webUi}/namespaces/${config.temporal.namespace}/workflows` : `  Temporal:         ${config.temporal.address}`,
        ...(devServerLog ? [`  Temporal log:     ${devServerLog}`] : []),
        ...(config.metricsPort !== null ? [`  Metrics:          http://localhost:${config.metricsPort}/metrics`] : []),
        '  Status:           npx balance-tracker status',
        '  Stop:             Ctrl-C',
        '',
      ].join('\n') + '\n',
    );
    await runWorker(config);
  } finally {
    for (const stop of stops) await stop().catch((error) => log.warn('stop failed', { error }));
  }
}

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof ClusterMismatchError) process.stderr.write(`${error.message}\n`);
  else log.error('balance tracker stopped', { error });
  process.exit(1);
});
