// Prometheus metrics scraped over HTTP while real sweeps run: our counters, histogram and
// staleness gauges, the Temporal SDK's runtime metrics behind them, and no secret anywhere.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import type { Sql } from '../src/db/client';
import { type StalenessStart, stalestWallets } from '../src/db/metrics';
import { addWallets } from '../src/db/wallets';
import { freePort } from '../src/free-port';
import { type MetricsServer, startMetricsServer } from '../src/metrics';
import { requestTierSweep } from '../src/tier-control';
import { TIERS, type Tier } from '../src/tiers';
import { installRuntime } from '../src/worker';
import { type Engine, startEngine } from './helpers/engine';
import { testAddresses } from './helpers/addresses';

const API_KEY = 'm3tr1cs-K3Y-0a1b2c3d4e';
const HIGH = 450;
const LOW = 30;

/** The samples of a scrape, keyed `name{labels}` exactly as exposed. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+?(?:\{.*\})?) (\S+)(?: \d+)?$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

/**
 * One sample's value. A series that is not exported fails the test (it is not a 0), unless
 * `absentIsZero`: only for a histogram before its first observation, which has no series yet.
 */
function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}, { absentIsZero = false } = {}): number {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const key = text ? `${name}{${text}}` : name;
  const value = samples.get(key);
  if (value !== undefined) return value;
  if (absentIsZero) return 0;
  throw new Error(`the scrape has no series ${key}`);
}

async function scrape(url: string): Promise<{ text: string; samples: Map<string, number>; contentType: string | null }> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, samples: parse(text), contentType: response.headers.get('content-type') };
}

/** The stalest wallet's last check per tier, one wallet at a time: the definition, slowly. */
async function bruteForceOldest(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<{ tier: Tier; age: number }[]>`
    SELECT w.tier, extract(epoch FROM now() - min(GREATEST(w.tier_since,
      (SELECT max(b.read_at) FROM batch_checks b
       WHERE b.tier = w.tier AND b.read_at > w.tier_since AND w.id BETWEEN b.from_id AND b.to_id))))::float8 AS age
    FROM wallets w WHERE w.invalid_reason IS NULL GROUP BY w.tier`;
  return Object.fromEntries(rows.map((r) => [r.tier, r.age]));
}

describe('metrics', () => {
  let engine: Engine;
  let metrics: MetricsServer;
  let sdkMetricsUrl: string | null;

  beforeAll(async () => {
    // The runtime (once per process) must exist with its exporter before the engine connects.
    ({ sdkMetricsUrl } = installRuntime('warn', { sdkMetricsBindAddress: `127.0.0.1:${await freePort()}` }));
    engine = await startEngine({
      simulator: { wallets: HIGH, seed: 11 },
      env: { TIER_HIGH_INTERVAL: '1s', BATCHES_PER_CHILD: '2', SWEEP_CONCURRENCY: '3' },
      rpcPathSuffix: `/v2/${API_KEY}?api-key=${API_KEY}`,
    });
    await addWallets(engine.sql, engine.sim.world.addresses(0, HIGH) as Address[], 'high');
    await addWallets(engine.sql, testAddresses(LOW, 'metrics-low') as Address[], 'low');
    metrics = await startMetricsServer({
      port: 0,
      host: '127.0.0.1',
      sql: engine.sql,
      tierIntervalsMs: engine.config.tierIntervalsMs,
      stalenessTtlMs: 0,
      sdkMetricsUrl,
    });
  });
  afterAll(async () => {
    await metrics?.close();
    await engine?.stop();
  });

  it('counts a sweep: RPC requests by outcome, wallets checked and changed, batch durations', async () => {
    const before = (await scrape(metrics.url)).samples;
    await requestTierSweep(engine.client, engine.config, 'high', 'metrics test');
    const progress = await engine.waitForSweeps('high', 1);
    const calls = Math.ceil(HIGH / 100);
    expect(progress.lastSweep).toMatchObject({ walletsChecked: HIGH, rpcCalls: calls });
    const after = (await scrape(metrics.url)).samples;

    const delta = (name: string, labels: Record<string, string>, options?: { absentIsZero: boolean }) =>
      sample(after, name, labels) - sample(before, name, labels, options);
    expect(delta('balance_tracker_rpc_requests_total', { method: 'getMultipleAccounts', outcome: 'ok' })).toBe(calls);
    expect(delta('balance_tracker_rpc_requests_total', { method: 'getMultipleAccounts', outcome: 'rate_limited' })).toBe(0);
    expect(delta('balance_tracker_wallets_checked_total', { tier: 'high' })).toBe(HIGH);
    // The first read of a wallet is a change (from unknown to its balance).
    expect(delta('balance_tracker_wallets_changed_total', { tier: 'high' })).toBe(HIGH);
    expect(delta('balance_tracker_wallets_checked_total', { tier: 'low' })).toBe(0);
    // This is the tier's first batch: its histogram series appear with it.
    const first = { absentIsZero: true };
    expect(delta('balance_tracker_batch_duration_seconds_count', { tier: 'high' }, first)).toBe(calls);
    expect(delta('balance_tracker_batch_duration_seconds_bucket', { le: '+Inf', tier: 'high' }, first)).toBe(calls);
    expect(delta('balance_tracker_batch_duration_seconds_sum', { tier: 'high' }, first)).toBeGreaterThan(0);
  });

  it('counts 429 answers as rate_limited, and the retried requests as ok', async () => {
    const before = (await scrape(metrics.url)).samples;
    // Every wallet is due again after half the 1 s interval; then at most 1 request per second passes.
    await sleep(700);
    engine.sim.resetStats();
    engine.sim.setKnobs({ rateLimitRps: 1, retryAfterSeconds: 1 });
    try {
      await requestTierSweep(engine.client, engine.config, 'high', 'metrics test, rate limited');
      await engine.waitForSweeps('high', 2, 90_000);
    } finally {
      engine.sim.setKnobs({ rateLimitRps: 0, retryAfterSeconds: 0 });
    }
    const after = (await scrape(metrics.url)).samples;
    const rpc = (outcome: string) =>
      sample(after, 'balance_tracker_rpc_requests_total', { method: 'getMultipleAccounts', outcome }) -
      sample(before, 'balance_tracker_rpc_requests_total', { method: 'getMultipleAccounts', outcome });
    expect(rpc('ok')).toBe(Math.ceil(HIGH / 100));
    expect(rpc('rate_limited')).toBeGreaterThanOrEqual(1);
    expect(rpc('rate_limited')).toBe(engine.sim.stats().httpOutcomes.http_429 ?? -1);
    expect(rpc('server_error') + rpc('timeout') + rpc('invalid')).toBe(0);
  });

  it('exposes the stalest-wallet age and the wallet count of every tier', async () => {
    const { samples } = await scrape(metrics.url);
    for (const tier of TIERS) {
      expect(samples.has(`balance_tracker_stalest_wallet_age_seconds{tier="${tier}"}`)).toBe(true);
      expect(sample(samples, 'balance_tracker_stalest_wallet_age_seconds', { tier })).toBeGreaterThanOrEqual(0);
    }
    expect(sample(samples, 'balance_tracker_wallets', { tier: 'high' })).toBe(HIGH);
    expect(sample(samples, 'balance_tracker_wallets', { tier: 'low' })).toBe(LOW);
    expect(sample(samples, 'balance_tracker_wallets', { tier: 'medium' })).toBe(0);
    expect(sample(samples, 'balance_tracker_stalest_wallet_age_seconds', { tier: 'medium' })).toBe(0);
  });

  it('flags a tier whose stalest wallet is older than twice its interval', async () => {
    const interval = engine.config.tierIntervalsMs.medium;
    const [address] = testAddresses(1, 'metrics-stale');
    await engine.sql`INSERT INTO wallets (address, tier, tier_since) VALUES (${address!}, 'medium', now() - ${(3 * interval) / 1000} * interval '1 second')`;
    // A scrape answers from the previous query and refreshes behind it (at most every 20 query
    // durations): a later scrape sees the wallet.
    const staleness = async (tier: Tier, expected: number) => {
      let value = -1;
      for (let i = 0; i < 40 && value !== expected; i++) {
        value = sample((await scrape(metrics.url)).samples, 'balance_tracker_tier_stale', { tier });
        if (value !== expected) await sleep(250);
      }
      return value;
    };
    try {
      expect(await staleness('medium', 1)).toBe(1);
      const { samples } = await scrape(metrics.url);
      expect(sample(samples, 'balance_tracker_tier_stale', { tier: 'low' })).toBe(0);
      expect(samples.has('balance_tracker_tier_stale{tier="high"}')).toBe(true);
    } finally {
      await engine.sql`DELETE FROM wallets WHERE address = ${address!}`;
    }
    expect(await staleness('medium', 0)).toBe(0);
  });

  it('computes the stalest age exactly as the per-wallet definition, whatever horizon it starts from', async () => {
    // A wallet moved into the tier after its last check counts from the move; a wallet set
    // aside is never checked again and does not count.
    await engine.sql`UPDATE wallets SET tier = 'low', tier_since = clock_timestamp() WHERE id = (SELECT min(id) FROM wallets WHERE tier = 'high')`;
    await engine.sql`UPDATE wallets SET invalid_reason = 'test' WHERE id = (SELECT max(id) FROM wallets WHERE tier = 'low')`;
    const [clock] = await engine.sql<{ now: string }[]>`SELECT now()::text AS now`;
    // A start after the real answer (now) must be widened until it holds.
    const starts: StalenessStart[] = [{ horizonMs: 1 }, { horizonMs: 2_000 }, { horizonMs: 3_600_000 }, { since: clock!.now }];
    for (const start of starts) {
      // One transaction: now() is the same instant for both queries.
      await engine.sql.begin(async (tx) => {
        const fast = await stalestWallets(tx as unknown as Sql, { high: start, medium: start, low: start });
        const slow = await bruteForceOldest(tx as unknown as Sql);
        for (const tier of ['high', 'low'] as const) {
          expect(fast[tier].stalestAgeSeconds, `${tier}, ${JSON.stringify(start)}`).toBeCloseTo(slow[tier]!, 6);
          // Its own result is a start that holds.
          const again = await stalestWallets(tx as unknown as Sql, { high: { since: fast.high.oldest! }, medium: start, low: { since: fast.low.oldest! } });
          expect(again[tier]).toEqual(fast[tier]);
        }
        expect(fast).toMatchObject({ high: { wallets: HIGH - 1 }, medium: { wallets: 0, stalestAgeSeconds: null }, low: { wallets: LOW } });
      });
    }
  });

  it('appends the Temporal SDK runtime metrics and never exposes the RPC URL or its key', async () => {
    const { text, contentType } = await scrape(metrics.url);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(/^temporal_\w+/m);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{.*\}/m);
    expect(text).toMatch(/^# TYPE balance_tracker_rpc_requests_total counter$/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('api-key');
    expect(text).not.toContain(engine.sim.url);
    // Every metric family is declared once: the two expositions do not collide.
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(types.map((l) => l.split(' ')[2])).size).toBe(types.length);

    expect((await fetch(metrics.url.replace('/metrics', '/nope'))).status).toBe(404);
  });
});

/** Every metric name the Grafana dashboard (deploy/) queries. */
function dashboardMetrics(): string[] {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '..', 'deploy', 'grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const names = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(?:balance_tracker|temporal)_[a-z0-9_]+/g) ?? []));
  return [...new Set(names)].sort();
}

describe('the worker process with METRICS_PORT', () => {
  it('serves our metrics and the SDK\'s on that port until it is stopped', async () => {
    const port = await freePort();
    const engine = await startEngine({ simulator: { wallets: 10, seed: 5 }, rpcPathSuffix: `/v2/${API_KEY}` });
    await engine.stopWorkers();
    const script = "require('./src/worker').runWorker(require('./src/config').loadConfig()).catch((e) => { console.error(e); process.exit(1); })";
    const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['-e', script], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: engine.config.temporal.address,
        TEMPORAL_NAMESPACE: engine.config.temporal.namespace,
        DATABASE_URL: engine.config.databaseUrl,
        SOLANA_RPC_URL: engine.config.rpcUrl!,
        TASK_QUEUE: engine.config.temporal.taskQueue,
        METRICS_PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const scrapeText = () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
    const until = async (what: string, ok: () => Promise<boolean>) => {
      for (let i = 0; i < 300; i++) {
        if (await ok()) return;
        if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${stderr}`);
        await sleep(200);
      }
      const names = [...new Set((await scrapeText()).split('\n').filter((l) => l.startsWith('temporal_workflow')).map((l) => l.split('{')[0]))];
      throw new Error(`no ${what} in the worker's metrics: ${names.join(', ')}`);
    };
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let text = '';
      for (let i = 0; i < 600 && !/^temporal_worker_task_slots_available/m.test(text); i++) {
        if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${stderr}`);
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
        if (!/^temporal_worker_task_slots_available/m.test(text)) await sleep(200);
      }
      expect(text).toMatch(/^# TYPE balance_tracker_wallets_checked_total counter$/m);
      expect(text).toMatch(/^balance_tracker_stalest_wallet_age_seconds\{tier="high"\} /m);
      expect(text).toMatch(/^temporal_worker_task_slots_available\{.*\}/m);
      expect(text).toMatch(/^balance_tracker_rpc_max_rps 50$/m);
      expect(text).toMatch(/^balance_tracker_tier_stale\{tier="high"\} 0$/m);
      expect(text).not.toContain(API_KEY);

      // A sweep whose first attempts fail, so the SDK's per-activity and per-workflow series
      // exist too; then every metric the dashboard queries must be in a scrape.
      await addWallets(engine.sql, engine.sim.world.addresses(0, 10) as Address[], 'high');
      engine.sim.setKnobs({ errorRate: 1 });
      await requestTierSweep(engine.client, engine.config, 'high', 'dashboard metrics');
      await until('a failed checkBatches attempt', async () => /^temporal_activity_execution_failed_total\{.*activity_type="checkBatches"/m.test(await scrapeText()));
      engine.sim.setKnobs({ errorRate: 0 });
      await engine.waitForSweeps('high', 1);
      await until('a finished batch child', async () => /^temporal_workflow_endtoend_latency_bucket\{.*workflow_type="batchWorkflow"/m.test(await scrapeText()));
      const scraped = await scrapeText();
      const missing = dashboardMetrics().filter((name) => !new RegExp(`^${name}(\\{| )`, 'm').test(scraped));
      expect(missing).toEqual([]);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).not.toContain(API_KEY);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await engine.stop();
    }
  });
});
