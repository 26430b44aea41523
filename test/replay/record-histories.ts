// `npm run record:histories`: runs real workflows of every type on a throwaway stack (an
// in-memory dev server, a fresh Postgres database, the simulator, the real workers) and
// writes their histories to test/histories/, which test/replay/replay.test.ts replays against
// the current workflow code. Re-record after an intentional workflow change (README,
// "Changing workflow code"). Files under test/histories/pre-*/ are not touched: they are
// histories kept from before a patched() change, replayed until that patch is deprecated.
//
// What is recorded (one file each):
//   tier-first-run      a tier workflow's first run: a promotion by signal (one bad address),
//                       one by update (and one the update's validator refused), a sweep
//                       asked for by a tick, two requests that coalesce behind a running
//                       sweep, and the continue-as-new that carries the pending one
//   tier-carried-run    the run it continued as, with the carried sweep done (still running)
//   batch               one batch child of a sweep
//   tick                a schedule tick asking the tier to sweep
//   retier              a re-tiering
//   webhooks            webhook delivery (still running): a batch refused (400, dead-lettered),
//                       one retried after a 500, the rest delivered, then waiting for changes

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Address } from '../../src/address';
import { loadConfig } from '../../src/config';
import { connect } from '../../src/db/client';
import { migrate } from '../../src/db/migrate';
import { addWallets } from '../../src/db/wallets';
import { log } from '../../src/log';
import { ensureSchedules } from '../../src/schedules';
import { KIND_KEY, TIER_KEY } from '../../src/search-attributes';
import { startSimulator } from '../../tools/simulator/server';
import { startDevServer } from '../../tools/stack/devserver';
import { dropDatabase, ensureDatabase } from '../../tools/stack/postgres';
import { TIERS, tierScheduleId, tierWorkflowId } from '../../src/tiers';
import { ensureTemporalCli } from '../../tools/toolchain/binaries';
import { bundleWorkflows, createWorkers, installRuntime } from '../../src/worker';
import { batchWorkflowId, progressQuery, promoteWalletsSignal, promoteWalletsUpdate, requestSweepSignal, type TierProgress } from '../../workflows/definitions';
import { DEFAULT_POSTGRES_ADMIN_URL } from '../global-setup';
import { waitFor } from '../helpers/reliability';
import { startReceiver } from '../helpers/webhook-receiver';
import { deadLetters, deliveryState } from '../../src/db/webhooks';
import { freePort } from '../../src/free-port';
import { startWebhookDelivery } from '../../src/webhooks/control';
import { WEBHOOK_WORKFLOW_ID, webhookProgressQuery } from '../../workflows/definitions';

export const HISTORIES_DIR = join(__dirname, '..', 'histories');

const run = promisify(execFile);
const WALLETS = 250;
const TIER = 'high';

async function main(): Promise<void> {
  installRuntime('warn');
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL || DEFAULT_POSTGRES_ADMIN_URL;
  const [temporalPath] = await Promise.all([ensureTemporalCli(), ensureDatabase(adminUrl)]);
  const server = await startDevServer({ port: 0, headless: true, temporalPath });
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/bt_record_histories_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(dbUrl.toString());
  const sql = connect(dbUrl.toString(), { max: 5 });
  const sim = await startSimulator({ port: 0, slotMs: 0, wallets: WALLETS, seed: 'histories' });
  const clientConnection = await Connection.connect({ address: server.address });
  const connection = await NativeConnection.connect({ address: server.address });
  const receiver = await startReceiver(await freePort());
  try {
    await migrate(sql);
    const config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: dbUrl.toString(),
      SOLANA_RPC_URL: sim.url,
      TASK_QUEUE: 'record-histories',
      RPC_MAX_RPS: '1000',
      // Several children and batches per sweep; every wallet due again 1 s after a sweep.
      BATCHES_PER_CHILD: '1',
      SWEEP_CONCURRENCY: '2',
      TIER_HIGH_INTERVAL: '2s',
      WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hook`,
      WEBHOOK_SECRET: 'record-histories-signing-secret',
      WEBHOOK_MAX_BACKOFF: '1s',
    });
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    const addresses = sim.world.addresses(0, WALLETS) as Address[];
    await addWallets(sql, addresses.slice(0, WALLETS - 3), TIER);
    await addWallets(sql, addresses.slice(WALLETS - 3), 'medium');
    // Real schedules, paused: the tier reads them, and sweeps happen only when asked for here.
    await ensureSchedules(client, config);
    for (const tier of TIERS) await client.schedule.getHandle(tierScheduleId(tier)).pause('recording histories');

    const workers = await createWorkers({ config, sql, client, connection, workflowBundle: await bundleWorkflows() });
    const running = workers.run();
    try {
      const tierHandle = await client.workflow.start('tierWorkflow', {
        workflowId: tierWorkflowId(TIER),
        taskQueue: config.temporal.taskQueue,
        args: [{ tier: TIER, sweepsPerRun: 2 }],
        typedSearchAttributes: [
          { key: TIER_KEY, value: TIER },
          { key: KIND_KEY, value: 'tier' },
        ],
      });
      const progress = () => client.workflow.getHandle(tierWorkflowId(TIER)).query(progressQuery);
      const until = (what: string, done: (p: TierProgress) => boolean) =>
        waitFor(what, async () => {
          const p = await progress();
          return done(p) ? p : undefined;
        }, 60_000, 200);

      await tierHandle.signal(promoteWalletsSignal, { tier: TIER, addresses: [...addresses.slice(WALLETS - 3), 'not-an-address'] });
      await until('the promotion', (p) => p.promotions.length === 1);
      const refused = await tierHandle.executeUpdate(promoteWalletsUpdate, { args: [{ tier: TIER, addresses: ['not-an-address'] }] }).then(
        () => false,
        () => true,
      );
      if (!refused) throw new Error('the promoteWallets update took an invalid address');
      const byUpdate = await tierHandle.executeUpdate(promoteWalletsUpdate, { args: [{ tier: TIER, addresses: addresses.slice(0, 2) }] });
      if (byUpdate.unchanged !== 2) throw new Error(`unexpected promotion report: ${JSON.stringify(byUpdate)}`);

      const tick = await client.workflow.start('sweepTickWorkflow', {
        workflowId: 'record-histories-tick',
        taskQueue: config.temporal.taskQueue,
        args: [{ tier: TIER }],
      });
      await tick.result();
      const first = await until('the first sweep', (p) => p.totals.sweeps === 1);

      // Past half the interval, so the next sweep reads every wallet again; then three
      // requests at once: one sweeps, one waits, one folds into the waiting one.
      await sleep(1_100);
      for (const reason of ['record 2', 'record 3', 'record 3 (coalesced)']) await tierHandle.signal(requestSweepSignal, { reason });
      await until('the carried sweep in the second run', (p) => p.runs === 2 && p.totals.sweeps === 3 && p.current === null);

      const retier = await client.workflow.start('retierWorkflow', { workflowId: 'record-histories-retier', taskQueue: config.temporal.taskQueue });
      await retier.result();

      // The sweeps stored changes: the first batch is refused, the next answered 500 once.
      receiver.fail(400, 1);
      await startWebhookDelivery(client, config);
      await waitFor('a dead letter', async () => ((await deadLetters(sql)).length === 1 ? true : undefined), 60_000, 200);
      receiver.fail(500, 1);
      await waitFor('every change delivered, the workflow waiting', async () => {
        const state = await deliveryState(sql);
        const p = await client.workflow.getHandle(WEBHOOK_WORKFLOW_ID).query(webhookProgressQuery);
        return state.undelivered === 0n && p.state === 'waiting' && receiver.requests.some((r) => r.status === 500) ? true : undefined;
      }, 60_000, 200);

      const batchId = batchWorkflowId(first.lastSweep!.sweepId, 0);
      mkdirSync(HISTORIES_DIR, { recursive: true });
      const record = (name: string, handle: WorkflowHandle, runId?: string) => save(temporalPath, server.address, name, handle, runId);
      await record('tier-first-run', tierHandle, tierHandle.firstExecutionRunId);
      await record('tier-carried-run', client.workflow.getHandle(tierWorkflowId(TIER)));
      await record('batch', client.workflow.getHandle(batchId));
      await record('tick', tick);
      await record('retier', retier);
      await record('webhooks', client.workflow.getHandle(WEBHOOK_WORKFLOW_ID));
      await client.workflow.getHandle(tierWorkflowId(TIER)).terminate('histories recorded');
      await client.workflow.getHandle(WEBHOOK_WORKFLOW_ID).terminate('histories recorded');
    } finally {
      workers.shutdown();
      await running;
    }
  } finally {
    await connection.close();
    await clientConnection.close();
    await receiver.stop();
    await sim.stop();
    await sql.end({ timeout: 5 });
    await dropDatabase(dbUrl.toString());
    await server.stop();
  }
}

/** The history as `temporal workflow show --output json` writes it, with the workflow id added. */
async function save(temporalPath: string, address: string, name: string, handle: WorkflowHandle, runId?: string): Promise<void> {
  const args = ['workflow', 'show', '--address', address, '--workflow-id', handle.workflowId, '--output', 'json'];
  if (runId) args.push('--run-id', runId);
  const { stdout } = await run(temporalPath, args, { maxBuffer: 256 * 1024 * 1024 });
  const history = JSON.parse(stdout) as { events: unknown[] };
  const file = join(HISTORIES_DIR, `${name}.json`);
  // The workflow id is not in the events, and a replay needs it (child ids derive from it).
  writeFileSync(file, `${JSON.stringify({ workflowId: handle.workflowId, ...history }, null, 2)}\n`);
  log.info('history recorded', { file, events: history.events.length });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
