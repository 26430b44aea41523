// The RPC URL carries the provider's API key. A worker process runs sweeps against a provider
// that fails in every way it can (so error paths log too), at LOG_LEVEL=debug with metrics on;
// then every workflow history the service produced (through the Temporal client), every
// schedule, every log line, every metric line, every database row and the CLI's output are
// searched for the key, and it is nowhere.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../src/address';
import { addWallets } from '../../src/db/wallets';
import { freePort } from '../../src/free-port';
import { requestTierSweep } from '../../src/tier-control';
import { RETIER_SCHEDULE_ID } from '../../src/schedules';
import { tierScheduleId, tierWorkflowId } from '../../src/tiers';
import { promoteWalletsSignal } from '../../workflows/definitions';
import { type Engine, startEngine } from '../helpers/engine';
import { asText, recordFigures, waitFor } from '../helpers/reliability';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const KEY = 'rel-9c4e1f7a2b-SECRET-API-KEY';
const FORMS = [KEY, encodeURIComponent(KEY), Buffer.from(KEY).toString('base64'), KEY.toLowerCase()];
const WALLETS = 3_000;

/** The forms of the key found in `text` (none, we hope). */
const leaks = (text: string) => FORMS.filter((form) => text.includes(form));

describe('the RPC API key', () => {
  let engine: Engine;
  let worker: WorkerProcess;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    engine = await startEngine({
      workers: false,
      rpcPathSuffix: `/v2/${KEY}?api-key=${KEY}`,
      simulator: {
        wallets: WALLETS,
        seed: 'secrets',
        slotMs: 200,
        knobs: { rateLimitRps: 8, errorRate: 0.1, hangRate: 0.03, malformedRate: 0.05, wrongCountRate: 0.1, stringLamportsRate: 0.05, staleSlotRate: 0.05 },
      },
      env: {
        LOG_LEVEL: 'debug',
        METRICS_PORT: String(metricsPort),
        RPC_TIMEOUT: '1s',
        RPC_MAX_RPS: '20',
        // The schedules exist but fire only when the test triggers them.
        TIER_HIGH_INTERVAL: '24h',
        TIER_MEDIUM_INTERVAL: '24h',
        TIER_LOW_INTERVAL: '24h',
        RETIER_INTERVAL: '24h',
      },
    });
    await addWallets(engine.sql, engine.sim.world.addresses(0, WALLETS) as Address[], 'high');
    // A stored address the RPC would refuse: the set-aside path runs too.
    await engine.sql`INSERT INTO wallets (address, tier) VALUES ('0OIl-not-base58', 'high')`;
    worker = spawnWorker(engine.env);
    await worker.ready();
  }, 300_000);

  afterAll(async () => {
    await worker?.stop(10_000);
    await engine?.stop();
  }, 120_000);

  it('is in no workflow history, schedule, log line, metric, database row or CLI output', async () => {
    await requestTierSweep(engine.client, engine.config, 'high', 'secrets');
    await engine.waitForSweeps('high', 1, 300_000);
    await engine.client.workflow.getHandle(tierWorkflowId('high')).signal(promoteWalletsSignal, {
      tier: 'high',
      addresses: [...engine.sim.world.addresses(0, 3), 'not-an-address'],
    });
    // A schedule tick and a re-tiering run, so their workflows' histories exist too.
    await engine.client.schedule.getHandle(tierScheduleId('high')).trigger();
    await engine.client.schedule.getHandle(RETIER_SCHEDULE_ID).trigger();
    await waitFor('a schedule tick and a re-tiering run', async () => {
      let kinds = 0;
      for await (const _ of engine.client.workflow.list({ query: `BalanceWorkflowKind = 'sweep' AND ExecutionStatus = 'Completed'` })) {
        kinds++;
        break;
      }
      for await (const _ of engine.client.workflow.list({ query: `BalanceWorkflowKind = 'retier' AND ExecutionStatus = 'Completed'` })) {
        kinds++;
        break;
      }
      return kinds === 2 ? true : undefined;
    }, 120_000, 1_000);

    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const metrics = await response.text();
    expect(response.status).toBe(200);
    expect(metrics).toMatch(/^balance_tracker_rpc_requests_total\{/m);
    expect(leaks(metrics)).toEqual([]);

    const status = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'balance-tracker.js'), 'status', '--json'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...engine.env },
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });
    expect(status).toContain('"tier"');
    expect(leaks(status)).toEqual([]);

    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    const log = worker.stderr();
    const logLines = log.split('\n').filter(Boolean);
    const artifacts = join(__dirname, '..', '..', 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, 'reliability-secrets-worker.log'), log);
    // The log is real and covers the failure paths: RPC errors were retried and logged.
    const stats = engine.sim.stats();
    expect(stats.httpOutcomes).toMatchObject({ http_429: expect.any(Number), http_5xx: expect.any(Number), malformed: expect.any(Number), lie: expect.any(Number) });
    expect(log).toContain('"worker running"');
    expect(logLines.filter((l) => l.includes('"level":"warn"') && /RPC|rate limit|timed out|malformed/.test(l)).length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes('"level":"debug"')).length).toBeGreaterThan(0);
    expect(leaks(log)).toEqual([]);

    let histories = 0;
    let memoSeen = false;
    const types = new Set<string>();
    for await (const execution of engine.client.workflow.list()) {
      const history = await engine.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      const text = asText(history);
      expect({ workflow: execution.workflowId, leaks: leaks(text) }).toEqual({ workflow: execution.workflowId, leaks: [] });
      // A control: payloads (here a memo) are searched as decoded text, not as opaque bytes.
      memoSeen ||= text.includes("keeps the high tier's balances fresh");
      types.add(execution.type);
      histories++;
    }
    expect(memoSeen).toBe(true);
    expect([...types].sort()).toEqual(['batchWorkflow', 'retierWorkflow', 'sweepTickWorkflow', 'tierWorkflow']);
    let schedules = 0;
    for await (const summary of engine.client.schedule.list()) {
      const description = await engine.client.schedule.getHandle(summary.scheduleId).describe();
      expect(leaks(asText(description))).toEqual([]);
      schedules++;
    }
    expect(schedules).toBe(4);

    const rows = await engine.sql<{ row: string }[]>`
      SELECT t::text AS row FROM wallets t UNION ALL SELECT t::text FROM balance_changes t
      UNION ALL SELECT t::text FROM batch_checks t UNION ALL SELECT t::text FROM retier_runs t`;
    expect(leaks(rows.map((r) => r.row).join('\n'))).toEqual([]);

    recordFigures('secrets', {
      workflowHistoriesSearched: histories,
      schedulesSearched: schedules,
      logLinesSearched: logLines.length,
      metricLinesSearched: metrics.split('\n').length,
      databaseRowsSearched: rows.length,
      rpcRequests: stats.httpRequests,
      rpcOutcomes: stats.httpOutcomes,
      keyFound: 0,
    });
  }, 600_000);
});
