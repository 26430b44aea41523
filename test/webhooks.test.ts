// Webhook delivery end to end, as operators run it: `balance-tracker worker` processes sweep
// simulated wallets and POST the change feed to a real node:http receiver started here. The
// receiver answers 500 at first, then refuses connections for a while, then stores a batch
// without answering while the worker is SIGKILLed; at the end it holds every stored change (compared with change_feed),
// per wallet in slot order, every signature valid, a repeated change only under the same
// idempotency key. A 400 is dead-lettered and `webhooks replay` delivers it; a batch still
// failing past WEBHOOK_MAX_AGE is dead-lettered too. Then the secrets are looked for
// everywhere the service writes: none is found.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { deadLetters, deliveryLag, deliveryState } from '../src/db/webhooks';
import { addWallets } from '../src/db/wallets';
import { freePort } from '../src/free-port';
import { ensureSchedules } from '../src/schedules';
import { requestTierSweep } from '../src/tier-control';
import { TIERS, tierScheduleId } from '../src/tiers';
import { startWebhookDelivery } from '../src/webhooks/control';
import type { WebhookPayload } from '../src/webhooks/send';
import { WEBHOOK_WORKFLOW_ID, webhookProgressQuery } from '../workflows/definitions';
import { runCli } from './helpers/cli';
import { type FeedLine, storedFeed } from './helpers/feed-lines';
import { type Engine, startEngine } from './helpers/engine';
import { asText, recordFigures, waitFor } from './helpers/reliability';
import { type Receiver, startReceiver, verify } from './helpers/webhook-receiver';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process';

const WALLETS = 40;
const SECRET = 'whsec-7d1f0c9e4b2a-SIGNING-SECRET';
const URL_PASSWORD = 'hookpw-5e8a1c3f9b7d';
const URL_TOKEN = 'hooktoken-2c6e9a4f1b8d';
const BASIC = Buffer.from(`hook:${URL_PASSWORD}`).toString('base64');
const SECRETS = [SECRET, URL_PASSWORD, URL_TOKEN, BASIC];
const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));


describe('webhook delivery', () => {
  let engine: Engine;
  let receiver: Receiver;
  let metricsPort: number;
  let cliEnv: Record<string, string>;
  const workers: WorkerProcess[] = [];
  let sweeps = 0;
  let addresses: string[];

  const startWorker = async (env: Record<string, string> = {}) => {
    const worker = spawnWorker({ ...engine.env, ...env });
    workers.push(worker);
    await worker.ready();
    return worker;
  };

  /** Changes `count` balances on chain and sweeps them into Postgres (and so into the feed). */
  async function changeAndSweep(count: number, round: number): Promise<void> {
    addresses.slice(round, round + count).forEach((a, i) => engine.sim.world.setBalance(a, 1_000_000n * BigInt(round + 2) + BigInt(i)));
    engine.sim.world.advance(2, { changes: false });
    // Past half the 1 s interval every wallet is due again.
    await sleep(700);
    await requestTierSweep(engine.client, engine.config, 'high', 'webhooks test');
    await engine.waitForSweeps('high', ++sweeps, 120_000);
  }

  const feed = () => storedFeed(engine.sql);
  const accepted = () => receiver.requests.filter((r) => r.status >= 200 && r.status < 300);
  /** Every change the receiver accepted, first receipt of each position, in receipt order. */
  const acceptedChanges = () => {
    const seen = new Map<string, FeedLine>();
    for (const r of accepted()) for (const c of (JSON.parse(r.body) as WebhookPayload).changes) if (!seen.has(c.position)) seen.set(c.position, c);
    return [...seen.values()];
  };
  const allDelivered = () =>
    waitFor('every change delivered', async () => {
      const s = await deliveryState(engine.sql);
      return s.undelivered === 0n && s.pendingTo === null && s.latest > 0n ? s : undefined;
    }, 180_000, 250);

  beforeAll(async () => {
    const port = await freePort();
    receiver = await startReceiver(port);
    metricsPort = await freePort();
    const webhookEnv = {
      WEBHOOK_URL: `http://hook:${URL_PASSWORD}@127.0.0.1:${port}/in/${URL_TOKEN}`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BATCH_SIZE: '6',
      WEBHOOK_MAX_AGE: '10m',
      WEBHOOK_TIMEOUT: '2s',
      WEBHOOK_MAX_BACKOFF: '2s',
    };
    engine = await startEngine({
      workers: false,
      simulator: { wallets: WALLETS, seed: 'webhooks' },
      env: {
        ...webhookEnv,
        TIER_HIGH_INTERVAL: '1s',
        TIER_MEDIUM_INTERVAL: '24h',
        TIER_LOW_INTERVAL: '24h',
        SEGMENTATION: 'off',
        LOG_LEVEL: 'debug',
        METRICS_PORT: String(metricsPort),
      },
    });
    cliEnv = { DATABASE_URL: engine.config.databaseUrl, TEMPORAL_ADDRESS: engine.env.TEMPORAL_ADDRESS!, TEMPORAL_NAMESPACE: engine.env.TEMPORAL_NAMESPACE!, TASK_QUEUE: engine.env.TASK_QUEUE!, ...webhookEnv };
    addresses = engine.sim.world.addresses(0, WALLETS);
    await addWallets(engine.sql, addresses as Address[], 'high');
    // Sweeps happen when the test asks for them.
    await ensureSchedules(engine.client, engine.config);
    for (const tier of TIERS) await engine.client.schedule.getHandle(tierScheduleId(tier)).pause('webhooks test');
  }, 300_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop(10_000)));
    await engine?.stop();
    await receiver?.stop();
  }, 120_000);

  it('delivers every change through 500s, refused connections and a worker SIGKILLed mid-POST: in order, signed, duplicates under one key', async () => {
    receiver.fail(500, 3);
    // Started before any worker (which then leaves it running) with short runs, so the kill
    // and the retries also cross continue-as-new.
    await startWebhookDelivery(engine.client, engine.config, { eventsPerRun: 40 });
    const first = await startWorker();
    await changeAndSweep(20, 0);
    await waitFor('the 500s answered, then a delivery', async () => (receiver.requests.filter((r) => r.status === 500).length >= 3 && accepted().length >= 1 ? true : undefined), 60_000, 100);

    await receiver.down();
    const failedBefore = (await deliveryState(engine.sql)).failedAttempts;
    await changeAndSweep(15, 1);
    await waitFor('attempts refused', async () => ((await deliveryState(engine.sql)).failedAttempts >= failedBefore + 2n ? true : undefined), 60_000, 100);
    // Back up, but the receiver stores the next batch and never answers it: the worker is
    // killed with that POST in flight, so the batch is sent again, under the same key.
    const held = receiver.holdNext();
    await receiver.up();
    await held;
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const second = await startWorker();
    await changeAndSweep(10, 2);
    await changeAndSweep(10, 3);
    const state = await allDelivered();

    const stored = await feed();
    expect(stored.length).toBeGreaterThan(WALLETS);
    // Every stored change reached the receiver, exactly as stored.
    expect(acceptedChanges().sort((a, b) => Number(BigInt(a.position) - BigInt(b.position)))).toEqual(stored);
    // Per wallet (and asset), in slot order, as first received.
    const lastSlot = new Map<string, bigint>();
    for (const c of acceptedChanges()) {
      const key = `${c.wallet}/${c.asset}`;
      expect(BigInt(c.slot) > (lastSlot.get(key) ?? -1n), `${key} slot ${c.slot}`).toBe(true);
      lastSlot.set(key, BigInt(c.slot));
    }
    for (const r of receiver.requests) {
      expect(verify(r.body, r.signature, SECRET)).toBe(true);
      expect(r.authorization).toBe(`Basic ${BASIC}`);
      expect(r.idempotencyKey).toBe((JSON.parse(r.body) as WebhookPayload).idempotencyKey);
    }
    // A position sent more than once went under one key, in the same body.
    const sent = new Map<string, Set<string>>();
    for (const r of receiver.requests) for (const c of (JSON.parse(r.body) as WebhookPayload).changes) sent.set(c.position, (sent.get(c.position) ?? new Set()).add(r.body));
    expect([...sent.entries()].filter(([, bodies]) => bodies.size > 1)).toEqual([]);
    expect(receiver.requests.length).toBeGreaterThan(accepted().length);
    const positionsAcceptedTwice = accepted().reduce((n, r) => n + (JSON.parse(r.body) as WebhookPayload).changes.length, 0) - stored.length;
    expect(positionsAcceptedTwice).toBeGreaterThan(0);
    expect(state).toMatchObject({ deadLetters: 0, position: state.latest });
    expect(state.failedAttempts).toBeGreaterThanOrEqual(5n);

    // Visible: the workflow's query and Web UI details, the metrics, status.
    const handle = engine.client.workflow.getHandle(WEBHOOK_WORKFLOW_ID);
    const progress = await waitFor('the workflow waiting', async () => {
      const p = await handle.query(webhookProgressQuery);
      return p.state === 'waiting' ? p : undefined;
    }, 30_000);
    expect(progress).toMatchObject({ position: state.latest.toString(), lagSeconds: 0, batch: null });
    // Counted once each across runs, the re-sent batch included.
    expect(progress.changesDelivered).toBe(stored.length);
    expect(progress.runs).toBeGreaterThan(1);
    const metadata = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
    expect(metadata.currentDetails).toContain('**Delivery lag:** 0 s');
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^balance_tracker_webhook_lag_seconds 0$/m);
    expect(metrics).toMatch(/^balance_tracker_webhook_dead_letters 0$/m);
    expect(metrics).toMatch(/^balance_tracker_webhook_attempts_total\{outcome="delivered"\} [1-9]/m);
    const status = await runCli(['status'], cliEnv);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`Webhooks: all delivered; delivered through position ${state.latest} of ${state.latest}`));
    expect(second.pid).not.toBe(first.pid);

    // The benchmark's measure: each change's delivery lag, from webhook_deliveries.
    const lag = await deliveryLag(engine.sql, new Date(0));
    expect(lag.changes).toBe(stored.length);
    expect(lag.p50).toBeGreaterThan(0);
    expect(lag.p99).toBeGreaterThanOrEqual(lag.p50!);
    const byStatus: Record<string, number> = {};
    for (const r of receiver.requests) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    recordFigures('webhook delivery through 500s, refused connections and a SIGKILL', {
      changes: stored.length,
      requestsByStatus: byStatus,
      failedAttempts: state.failedAttempts,
      positionsAcceptedTwice,
      lagSeconds: lag,
    });
  }, 600_000);

  it('a 400 goes to the dead letters, delivery moves on, and `webhooks replay` delivers it with the same body and signature', async () => {
    receiver.fail(400, 1);
    await changeAndSweep(15, 4);
    await allDelivered();
    const [dead] = await deadLetters(engine.sql);
    expect(dead).toMatchObject({ reason: 'rejected', error: expect.stringContaining('answered 400') });
    const refused = receiver.requests.find((r) => r.status === 400)!;
    expect((JSON.parse(refused.body) as WebhookPayload).firstPosition).toBe(dead!.firstPosition.toString());
    // Moved on: the changes after the dead letter were delivered.
    const stored = await feed();
    expect(BigInt(stored.at(-1)!.position)).toBeGreaterThan(dead!.lastPosition);
    expect(acceptedChanges().map((c) => c.position)).toContain(stored.at(-1)!.position);

    // Bad input: a clear error, nothing sent, nothing removed.
    const requestsBefore = receiver.requests.length;
    for (const args of [[], ['--from', '9'], ['--from', '9', '--to', '3'], ['--all', '--from', '1'], ['--from', 'x', '--to', '3']]) {
      const result = await runCli(['webhooks', 'replay', ...args], cliEnv);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/^error: balance-tracker webhooks replay: /);
    }
    const unset = await runCli(['webhooks', 'replay', '--all'], { DATABASE_URL: engine.config.databaseUrl });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('WEBHOOK_URL and WEBHOOK_SECRET must be set');
    expect(receiver.requests.length).toBe(requestsBefore);
    expect(await deadLetters(engine.sql)).toHaveLength(1);
    for (const [path, texts] of [
      ['webhooks', ['status', 'replay']],
      ['webhooks replay', ['--all', '--from <position>', '--to <position>', '--json', 'Exit status', 'same body, idempotency key and signature']],
      ['webhooks status', ['--json', 'Exit status', 'WEBHOOK_MAX_AGE']],
    ] as const) {
      const help = await runCli([...path.split(' '), '--help'], {});
      expect({ path, code: help.code, stderr: help.stderr }).toEqual({ path, code: 0, stderr: '' });
      for (const text of [`Usage: balance-tracker ${path}`, ...texts]) expect(help.stdout).toContain(text);
    }
    const shown = await runCli(['webhooks', 'status'], cliEnv);
    expect(shown.stdout).toContain('1 dead letters');
    expect(shown.stdout).toContain('rejected');

    const replayed = await runCli(['webhooks', 'replay', '--from', dead!.firstPosition.toString(), '--to', dead!.firstPosition.toString()], cliEnv);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain(`delivered positions ${dead!.firstPosition}–${dead!.lastPosition}`);
    const again = receiver.requests.at(-1)!;
    expect(again).toMatchObject({ status: 200, body: refused.body, signature: refused.signature, idempotencyKey: refused.idempotencyKey });
    expect(await deadLetters(engine.sql)).toEqual([]);
    expect(acceptedChanges().sort((a, b) => Number(BigInt(a.position) - BigInt(b.position)))).toEqual(stored);
  }, 300_000);

  it('a batch still failing past WEBHOOK_MAX_AGE is dead-lettered as expired; replay delivers it once the receiver is back', async () => {
    // A worker with a 3 s maximum age takes over (the workflow reads it at each claim).
    await Promise.all(workers.map((w) => w.stop(10_000)));
    await startWorker({ WEBHOOK_MAX_AGE: '3s' });
    receiver.fail(503, 1_000);
    await changeAndSweep(5, 5);
    const dead = await waitFor('an expired dead letter', async () => (await deadLetters(engine.sql)).find((d) => d.reason === 'expired'), 120_000, 250);
    expect(dead.error).toContain('answered 503');
    await allDelivered();
    receiver.fail(200, 0);
    const replayed = await runCli(['webhooks', 'replay', '--all', '--json'], cliEnv);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ replayed: expect.arrayContaining([expect.objectContaining({ delivered: true, error: null })]) });
    expect(await deadLetters(engine.sql)).toEqual([]);
    expect(acceptedChanges().sort((a, b) => Number(BigInt(a.position) - BigInt(b.position)))).toEqual(await feed());
  }, 300_000);

  it('the signing secret and the URL credentials are in no log, history, failure, metric, row or CLI output', async () => {
    const texts: [string, string][] = [];
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    texts.push(['metrics', metrics]);
    for (const args of [['status', '--json'], ['webhooks', 'status', '--json'], ['webhooks', 'status']]) texts.push([args.join(' '), JSON.stringify(await runCli(args, cliEnv))]);
    await Promise.all(workers.map((w) => w.stop(10_000)));
    for (const w of workers) texts.push([`worker ${w.pid} log`, w.stderr() + w.stdout()]);
    // Failure paths were logged (the 500s, refusals and 503s).
    expect(workers.map((w) => w.stderr()).join('')).toMatch(/receiver (answered 50[03]|could not be reached)/);
    let histories = 0;
    for await (const execution of engine.client.workflow.list()) {
      const history = await engine.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      texts.push([`history ${execution.workflowId}`, asText(history)]);
      histories++;
    }
    expect(texts.some(([, t]) => t.includes('answered 500'))).toBe(true);
    expect(histories).toBeGreaterThan(1);
    const rows = await engine.sql`SELECT * FROM webhook_cursor, (SELECT json_agg(d) FROM webhook_dead_letters d) x, (SELECT json_agg(d) FROM webhook_deliveries d) y`;
    texts.push(['rows', JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))]);
    expect(texts.filter(([, text]) => leaks(text).length > 0).map(([where, text]) => ({ where, leaks: leaks(text) }))).toEqual([]);
  }, 300_000);
});
