// Webhook delivery's metrics: this worker's POST attempts and dead letters (counters), and the
// service's delivery lag, backlog and stored dead letters, read from Postgres at each scrape
// (three index reads). No label carries the URL: outcomes and reasons are closed sets.

import { Counter, Gauge } from 'prom-client';
import type { Sql } from '../db/client';
import { type DeadReason, deliveryState } from '../db/webhooks';
import { log } from '../log';
import { registry } from './registry';

export const WEBHOOK_OUTCOMES = ['delivered', 'failed', 'refused'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

const attempts = new Counter({
  name: 'balance_tracker_webhook_attempts_total',
  help: 'Webhook POST attempts by outcome: delivered (2xx), failed (retried: 5xx, 408, 429, no connection, timeout), refused (another 4xx: dead-lettered).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
const changesDelivered = new Counter({
  name: 'balance_tracker_webhook_changes_delivered_total',
  help: 'Feed changes delivered to WEBHOOK_URL (a 2xx for their batch).',
  registers: [registry],
});
const deadLettered = new Counter({
  name: 'balance_tracker_webhook_dead_lettered_total',
  help: 'Batches given up on and stored as dead letters, by reason: rejected (a 4xx other than 408/429), expired (past WEBHOOK_MAX_AGE).',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export function recordWebhookAttempt(outcome: WebhookOutcome, changes = 0): void {
  attempts.inc({ outcome });
  if (outcome === 'delivered') changesDelivered.inc(changes);
}

export function recordWebhookDeadLetter(reason: DeadReason): void {
  deadLettered.inc({ reason });
}

/** Every series at 0 from the first scrape. */
export function startWebhookSeries(): void {
  for (const outcome of WEBHOOK_OUTCOMES) attempts.inc({ outcome }, 0);
  changesDelivered.inc(0);
  for (const reason of ['rejected', 'expired'] as const) deadLettered.inc({ reason }, 0);
}

/** The database the gauges read; null: not served (no WEBHOOK_URL, or no metrics server). */
let current: Sql | null = null;
let pending: ReturnType<typeof deliveryState> | null = null;

/** One query per scrape for the three gauges together (they collect at once). */
async function state() {
  if (!current) return null;
  pending ??= deliveryState(current).finally(() => (pending = null));
  try {
    return await pending;
  } catch (error) {
    log.warn('metrics: webhook delivery state query failed', { error });
    return null;
  }
}

/** The gauges read `sql` from now on; the returned function stops that. */
export function serveWebhookGauges(sql: Sql): () => void {
  current = sql;
  return () => {
    if (current === sql) current = null;
  };
}

const gauge = (name: string, help: string, value: (s: NonNullable<Awaited<ReturnType<typeof state>>>) => number) =>
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const s = await state();
      if (s) this.set(value(s));
    },
  });

gauge('balance_tracker_webhook_lag_seconds', 'Age of the oldest feed change not yet delivered to WEBHOOK_URL (nor dead-lettered); 0 when all are.', (s) => s.lagSeconds ?? 0);
gauge('balance_tracker_webhook_undelivered_changes', 'Feed changes after the delivery cursor.', (s) => Number(s.undelivered));
gauge('balance_tracker_webhook_dead_letters', 'Dead-lettered batches stored now (`balance-tracker webhooks replay` re-sends them).', (s) => s.deadLetters);
