// Prometheus metrics: one registry for the service's own metrics, served over HTTP on
// METRICS_PORT at /metrics, followed by the Temporal SDK's runtime metrics (which the SDK's
// own exporter serves on a private 127.0.0.1 port; see installRuntime in src/worker.ts).
//
// Labels are closed sets (RPC method, outcome, tier): no address, URL or key ever becomes a
// label, so nothing secret can reach a scrape.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Sql } from './db/client';
import { type StalenessStart, stalestWallets, type TierStaleness } from './db/metrics';
import { log } from './log';
import { TIERS, type Tier } from './tiers';

export const registry = new Registry();

/**
 * What became of one RPC request (src/rpc/balances.ts sorts every failure into one):
 * - ok: a valid answer;
 * - rate_limited: HTTP 429;
 * - server_error: HTTP 5xx, 408 or 425, a JSON-RPC server error (a node behind the slot already stored
 *   included), or no connection at all;
 * - timeout: no answer within RPC_TIMEOUT;
 * - invalid: the request was refused as invalid (other HTTP 4xx, JSON-RPC invalid params) or the
 *   answer was malformed (not JSON, wrong shape, impossible values).
 */
export const RPC_OUTCOMES = ['ok', 'rate_limited', 'server_error', 'timeout', 'invalid'] as const;
export type RpcOutcome = (typeof RPC_OUTCOMES)[number];

const rpcRequests = new Counter({
  name: 'balance_tracker_rpc_requests_total',
  help: 'Solana RPC requests made, by JSON-RPC method and outcome (ok, rate_limited, server_error, timeout, invalid).',
  labelNames: ['method', 'outcome'] as const,
  registers: [registry],
});

const walletsChecked = new Counter({
  name: 'balance_tracker_wallets_checked_total',
  help: 'Wallet balances read and recorded, by tier.',
  labelNames: ['tier'] as const,
  registers: [registry],
});

const walletsChanged = new Counter({
  name: 'balance_tracker_wallets_changed_total',
  help: 'Checked wallets whose balance (or existence on chain) had changed, by tier.',
  labelNames: ['tier'] as const,
  registers: [registry],
});

const batchDuration = new Histogram({
  name: 'balance_tracker_batch_duration_seconds',
  help: 'Duration of one successful batch check (read the due wallets, one getMultipleAccounts call, one write), by tier.',
  labelNames: ['tier'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

const batchesFailed = new Counter({
  name: 'balance_tracker_batches_failed_total',
  help: 'Batches a finished sweep counted failed (a request that can never succeed, or retried past BATCH_TIMEOUT; their wallets stay due), by tier.',
  labelNames: ['tier'] as const,
  registers: [registry],
});

/** Where the staleness gauges read from; set while a metrics server with a database runs. */
let staleness: StalenessCache | null = null;

new Gauge({
  name: 'balance_tracker_stalest_wallet_age_seconds',
  help: 'Seconds since the least recently checked wallet of the tier was checked (or entered the tier, if never since); 0 for a tier without wallets.',
  labelNames: ['tier'] as const,
  registers: [registry],
  async collect() {
    const ages = await staleness?.get();
    if (!ages) return;
    for (const tier of TIERS) this.set({ tier }, ages[tier]?.stalestAgeSeconds ?? 0);
  },
});

new Gauge({
  name: 'balance_tracker_tier_stale',
  help: "1 when the tier's stalest wallet was checked longer ago than twice the tier's interval (TIER_<TIER>_INTERVAL): sweeps are not keeping up, the schedule is paused, or the node lags; else 0.",
  labelNames: ['tier'] as const,
  registers: [registry],
  async collect() {
    const cache = staleness;
    const ages = await cache?.get();
    if (!cache || !ages) return;
    for (const tier of TIERS) this.set({ tier }, (ages[tier]?.stalestAgeSeconds ?? 0) * 1000 > cache.staleAfterMs[tier] ? 1 : 0);
  },
});

new Gauge({
  name: 'balance_tracker_wallets',
  help: 'Tracked wallets by tier (those set aside as invalid left out).',
  labelNames: ['tier'] as const,
  registers: [registry],
  async collect() {
    const ages = await staleness?.get();
    if (!ages) return;
    for (const tier of TIERS) this.set({ tier }, ages[tier]?.wallets ?? 0);
  },
});

const rpcBudget = new Gauge({
  name: 'balance_tracker_rpc_max_rps',
  help: "The RPC budget (RPC_MAX_RPS): the RPC task queue's rate limit, for all workers together.",
  registers: [registry],
});

export function recordRpcRequest(method: string, outcome: RpcOutcome): void {
  rpcRequests.inc({ method, outcome });
}

export function recordBatch(tier: Tier, { wallets, changed, seconds }: { wallets: number; changed: number; seconds: number }): void {
  walletsChecked.inc({ tier }, wallets);
  walletsChanged.inc({ tier }, changed);
  batchDuration.observe({ tier }, seconds);
}

export function recordSweep(tier: Tier, { batchesFailed: failed }: { batchesFailed: number }): void {
  batchesFailed.inc({ tier }, failed);
}

/** What a scrape shows per tier: the wallet count, and the stalest age extrapolated to now. */
interface StalenessView {
  wallets: number;
  stalestAgeSeconds: number | null;
}

/**
 * The staleness query, run at most once per TTL however often Prometheus scrapes: the TTL is
 * `ttlMs` or 20 times the last query's duration, whichever is longer, so a big database spends
 * at most ~5% of a core on it. Only the first scrape waits for the query; later ones get the
 * latest result at once (a refresh runs behind them), its ages advanced by the time since it
 * ran: between two queries a stale wallet only gets older, unless it is checked meanwhile.
 */
class StalenessCache {
  private value: Record<Tier, TierStaleness> | null = null;
  private at = 0;
  private tookMs = 0;
  private running: Promise<void> | null = null;

  /**
   * `staleAfterMs`: twice each tier's interval. It is also where the query first looks: a
   * wallet older than that is stale whatever its exact age.
   */
  constructor(
    private readonly sql: Sql,
    readonly staleAfterMs: Record<Tier, number>,
    private readonly ttlMs: number,
  ) {}

  private refresh(): Promise<void> {
    this.running ??= (async () => {
      const started = Date.now();
      // The previous result is a horizon that always holds (see src/db/metrics.ts).
      const start = Object.fromEntries(
        TIERS.map((t): [Tier, StalenessStart] => {
          const oldest = this.value?.[t]?.oldest;
          return [t, oldest ? { since: oldest } : { horizonMs: this.staleAfterMs[t] }];
        }),
      ) as Record<Tier, StalenessStart>;
      try {
        this.value = await stalestWallets(this.sql, start);
        this.at = Date.now();
        this.tookMs = this.at - started;
      } catch (error) {
        // The last result (or none) stays in the scrapes; the next scrape tries again.
        log.warn('metrics: stalest-wallet query failed', { error });
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves once no query runs (before the database is closed). */
  async idle(): Promise<void> {
    await this.running;
  }

  async get(): Promise<Record<Tier, StalenessView> | null> {
    if (this.value === null) await this.refresh();
    else if (Date.now() - this.at >= Math.max(this.ttlMs, 20 * this.tookMs)) void this.refresh();
    const value = this.value;
    if (value === null) return null;
    const elapsed = (Date.now() - this.at) / 1000;
    return Object.fromEntries(
      TIERS.map((t) => {
        const tier = value[t];
        const age = tier?.stalestAgeSeconds ?? null;
        return [t, { wallets: tier?.wallets ?? 0, stalestAgeSeconds: age === null ? null : age + elapsed }];
      }),
    ) as Record<Tier, StalenessView>;
  }
}

export interface MetricsServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default: every interface, so Prometheus can scrape from elsewhere. */
  host?: string;
  /** Enables the staleness gauges. */
  sql?: Sql;
  /** The tiers' intervals: a tier is stale past twice its interval, and the staleness query looks that far back first. */
  tierIntervalsMs?: Record<Tier, number>;
  /** How long a staleness result is reused. Default 15 s. */
  stalenessTtlMs?: number;
  /** The Temporal SDK's own exporter (http://127.0.0.1:PORT/metrics), appended to every scrape. */
  sdkMetricsUrl?: string | null;
  /** RPC_MAX_RPS, exported so dashboards can show the budget's use. */
  rpcMaxRps?: number;
}

export interface MetricsServer {
  port: number;
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

let defaultMetrics = false;

/** Our registry's text followed by the SDK's. */
export async function scrape(sdkMetricsUrl?: string | null): Promise<string> {
  const ours = await registry.metrics();
  if (!sdkMetricsUrl) return ours;
  try {
    const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const sdk = await response.text();
    return `${ours.trimEnd()}\n${sdk.trimEnd()}\n`;
  } catch (error) {
    log.warn('metrics: Temporal SDK metrics unavailable', { error });
    return `${ours.trimEnd()}\n# Temporal SDK metrics unavailable\n`;
  }
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  if (!defaultMetrics) {
    defaultMetrics = true;
    collectDefaultMetrics({ register: registry });
    // Every series exists from the first scrape, so rate() and alerts see a 0, not a gap.
    for (const outcome of RPC_OUTCOMES) rpcRequests.inc({ method: 'getMultipleAccounts', outcome }, 0);
    for (const tier of TIERS) {
      walletsChecked.inc({ tier }, 0);
      walletsChanged.inc({ tier }, 0);
      batchesFailed.inc({ tier }, 0);
    }
  }
  if (options.rpcMaxRps !== undefined) rpcBudget.set(options.rpcMaxRps);
  const cache = options.sql
    ? new StalenessCache(
        options.sql,
        Object.fromEntries(TIERS.map((t) => [t, 2 * (options.tierIntervalsMs?.[t] ?? 3_600_000)])) as Record<Tier, number>,
        options.stalenessTtlMs ?? 15_000,
      )
    : null;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(path === '/' ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(path === '/' ? 'balance tracker metrics: /metrics\n' : 'not found\n');
      return;
    }
    const body = await scrape(options.sdkMetricsUrl);
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('metrics: scrape failed', { error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('scrape failed\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`metrics server cannot listen on ${options.host ?? '*'}:${options.port}: ${error.code ?? error.message}`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  if (cache) staleness = cache;
  const port = (server.address() as AddressInfo).port;
  const shownHost = !options.host || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  return {
    port,
    url: `http://${shownHost}:${port}/metrics`,
    close: async () => {
      if (staleness === cache) staleness = null;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cache?.idle();
    },
  };
}

/** A TCP port free on 127.0.0.1 right now (for the SDK's private exporter). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
