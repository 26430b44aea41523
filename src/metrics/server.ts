// The Prometheus endpoint: /metrics on METRICS_PORT, the service's metrics followed by the
// Temporal SDK's (sdk-bridge.ts).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sql } from '../db/client';
import { log } from '../log';
import { TIERS, type Tier } from '../tiers';
import { recordRpcBudget, startSeries } from './definitions';
import { registry } from './registry';
import { scrape } from './sdk-bridge';
import { serveStaleness, StalenessCache } from './staleness';
import { serveWebhookGauges, startWebhookSeries } from './webhooks';

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
  /** WEBHOOK_URL is set: serve the delivery gauges (with `sql`). */
  webhooks?: boolean;
}

export interface MetricsServer {
  port: number;
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  startSeries();
  startWebhookSeries();
  if (options.rpcMaxRps !== undefined) recordRpcBudget(options.rpcMaxRps);
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
  const stopStaleness = cache ? serveStaleness(cache) : () => {};
  const stopWebhooks = options.sql && options.webhooks ? serveWebhookGauges(options.sql) : () => {};
  const port = (server.address() as AddressInfo).port;
  const shownHost = !options.host || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  return {
    port,
    url: `http://${shownHost}:${port}/metrics`,
    close: async () => {
      stopStaleness();
      stopWebhooks();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cache?.idle();
    },
  };
}
