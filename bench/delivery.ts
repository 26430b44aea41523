// Webhook delivery lag for the benchmark's steady state (bench/tracker-run.ts): a receiver that
// accepts every batch, the environment that points the tracker at it, and the lag percentiles
// over the changes delivered in a phase, from webhook_deliveries (delivered_at of a change's
// batch minus the change's observed_at). createWorkers does not start workflows (`balance-tracker
// worker` does), so the run starts delivery itself.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sql } from '../src/db/client';
import { deliveryLag } from '../src/db/webhooks';

export { startWebhookDelivery } from '../src/webhooks/control';

export interface DeliveryReceiver {
  url: string;
  /** Batches and changes received so far. */
  received(): { batches: number; changes: number };
  stop(): Promise<void>;
}

/** Answers 200 to every POST, reading (and counting) the body like a real consumer would. */
export async function startDeliveryReceiver(): Promise<DeliveryReceiver> {
  let batches = 0;
  let changes = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      batches++;
      changes += (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { changes: unknown[] }).changes.length;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bench`,
    received: () => ({ batches, changes }),
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export const webhookEnv = (url: string): Record<string, string> => ({ WEBHOOK_URL: url, WEBHOOK_SECRET: 'bench-webhook-signing-secret' });

/** p50 / p99 / max delivery lag in seconds over the changes delivered in [from, to). */
export async function deliveryLagFigures(sql: Sql, from: Date, to: Date) {
  const lag = await deliveryLag(sql, from, to);
  return { changesDelivered: lag.changes, p50Seconds: lag.p50, p99Seconds: lag.p99, maxSeconds: lag.max };
}
