// The long-lived webhook delivery workflow (one per service): claims the next batch of the
// change feed, has it POSTed until a 2xx — Temporal's retry policy backs off, for as long as
// WEBHOOK_MAX_AGE counted from the batch's oldest change — or dead-letters it (refused by the
// receiver, or too old), and waits for new changes when all are delivered. Batches go one at a
// time, in feed order. The cursor and the claimed batch live in Postgres, so a run, a worker or
// this workflow itself may die at any point: the next claim is the same batch.

import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { MainActivities } from '../activities';
import { type WebhookBatch, type WebhookProgress, webhookProgressQuery, type WebhookTotals, WEBHOOK_REFUSED } from './definitions';

/** Database work: retried until Postgres answers. */
const db = proxyActivities<MainActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** How long one wait for new changes lasts before the workflow looks again. */
const WAIT_MS = 60_000;
const waiting = proxyActivities<MainActivities>({
  startToCloseTimeout: WAIT_MS + 30_000,
  // A killed worker's wait is taken over this soon (the activity heartbeats every 2 s).
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** At least this long to deliver a batch, even one already past WEBHOOK_MAX_AGE: one attempt or a few. */
const MIN_DELIVERY_MS = 10_000;
/** By default a run continues as new past this many events (Temporal's limit: 51,200). */
const RUN_MAX_EVENTS = 5_000;

export interface WebhookWorkflowInput {
  /** Events per run before continuing as new (default RUN_MAX_EVENTS; tests use fewer). */
  eventsPerRun?: number;
  carried?: WebhookTotals & { runs: number; lastDeadLetter: WebhookProgress['lastDeadLetter'] };
}

/** The batch's delivery: retried with backoff until its deadline; the receiver's refusals are not retried. */
function deliverer(batch: WebhookBatch) {
  const remaining = batch.deadlineMs - Date.now();
  return proxyActivities<MainActivities>({
    startToCloseTimeout: batch.timeoutMs + 10_000,
    scheduleToCloseTimeout: Math.max(remaining, MIN_DELIVERY_MS, batch.timeoutMs + 10_000),
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: batch.maxBackoffMs, nonRetryableErrorTypes: [WEBHOOK_REFUSED] },
  }).deliverWebhookBatch;
}

/** Why delivery gave up: the receiver's refusal, or retries ran past the batch's deadline. */
function giveUp(error: ActivityFailure): { reason: 'rejected' | 'expired'; error: string } {
  const cause = error.cause;
  if (cause instanceof ApplicationFailure && cause.type === WEBHOOK_REFUSED) return { reason: 'rejected', error: cause.message };
  // A timeout's own message says little: the last attempt's failure says why.
  const last = cause instanceof TimeoutFailure && cause.cause ? cause.cause : cause;
  return { reason: 'expired', error: last?.message ?? error.message };
}

export async function webhookDeliveryWorkflow({ eventsPerRun = RUN_MAX_EVENTS, carried }: WebhookWorkflowInput = {}): Promise<never> {
  const totals: WebhookTotals = {
    batchesDelivered: carried?.batchesDelivered ?? 0,
    changesDelivered: carried?.changesDelivered ?? 0,
    deadLetters: carried?.deadLetters ?? 0,
    deadLetterChanges: carried?.deadLetterChanges ?? 0,
  };
  const runs = (carried?.runs ?? 0) + 1;
  let lastDeadLetter = carried?.lastDeadLetter ?? null;
  let state: WebhookProgress['state'] = 'waiting';
  let position = '0';
  let batch: WebhookBatch | null = null;
  let lagSeconds = 0;

  const progress = (): WebhookProgress => ({ state, position, batch, lagSeconds, lastDeadLetter, runs, ...totals });
  setHandler(webhookProgressQuery, progress);

  /** Shown in the Web UI's workflow details. */
  function showDetails(): void {
    const doing = batch
      ? `delivering positions ${batch.first}–${batch.last} (${batch.changes} changes), oldest observed ${batch.oldestObservedAt}`
      : `all delivered through position ${position}, waiting for changes`;
    setCurrentDetails(
      `**Delivery lag:** ${Math.round(lagSeconds)} s\n\n${doing}\n\n` +
        `Delivered: ${totals.batchesDelivered} batches, ${totals.changesDelivered} changes · dead letters: ${totals.deadLetters} batches (${totals.deadLetterChanges} changes)`,
    );
  }

  for (;;) {
    const claim = await db.claimWebhookBatch();
    position = claim.position;
    batch = claim.batch;
    lagSeconds = batch ? Math.max(0, (Date.now() - Date.parse(batch.oldestObservedAt)) / 1000) : 0;
    state = batch ? 'delivering' : 'waiting';
    showDetails();
    if (batch === null) {
      await waiting.waitForWebhookChanges({ after: position, maxWaitMs: WAIT_MS });
    } else {
      try {
        const { delivered } = await deliverer(batch)(batch);
        if (delivered) {
          totals.batchesDelivered++;
          totals.changesDelivered += batch.changes;
        }
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        const dead = giveUp(error);
        await db.deadLetterWebhookBatch({ batch, ...dead });
        totals.deadLetters++;
        totals.deadLetterChanges += batch.changes;
        lastDeadLetter = { first: batch.first, last: batch.last, ...dead, at: new Date().toISOString() };
      }
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > eventsPerRun) {
      await continueAsNew<typeof webhookDeliveryWorkflow>({ eventsPerRun, carried: { ...totals, runs, lastDeadLetter } });
    }
  }
}
