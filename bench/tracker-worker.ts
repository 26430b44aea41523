// The tracker's workers in a process of their own, so their memory and CPU can be measured:
// the real createWorkers, configured from the environment like `balance-tracker worker`.
// The workflow bundle is built once by the benchmark and read from BENCH_WORKFLOW_BUNDLE, so
// the process's peak memory is the worker's, not the bundler's.

import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { connect } from '../src/db/client';
import { createWorkers, installRuntime } from '../src/worker';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  installRuntime(config.logLevel);
  const bundlePath = process.env.BENCH_WORKFLOW_BUNDLE;
  const workflowBundle = bundlePath ? { code: readFileSync(bundlePath, 'utf8') } : undefined;
  const sql = connect(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const workers = await createWorkers({ config, sql, client, connection, workflowBundle });
  const stop = (): void => workers.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stop') stop();
  });
  // BENCH_MEMORY_LOG_MS: where the worker's memory goes (V8 heap, off-heap buffers, the rest), in its log.
  const memoryLogMs = Number(process.env.BENCH_MEMORY_LOG_MS ?? 0);
  if (memoryLogMs > 0) {
    const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
    setInterval(() => {
      const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
      console.log(JSON.stringify({ msg: 'bench memory (MB)', rss: mb(rss), heapTotal: mb(heapTotal), heapUsed: mb(heapUsed), external: mb(external), arrayBuffers: mb(arrayBuffers) }));
    }, memoryLogMs).unref();
  }
  const running = workers.run();
  process.send?.({ type: 'ready' });
  try {
    await running;
  } finally {
    await clientConnection.close();
    await connection.close();
    await sql.end({ timeout: 5 });
    process.disconnect?.();
  }
}

main().catch((error: unknown) => {
  process.send?.({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
