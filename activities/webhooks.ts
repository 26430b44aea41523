// Webhook delivery's I/O, for workflows/webhooks.ts: claim the next batch, POST it, give up on it,
// wait for new changes. WEBHOOK_URL and WEBHOOK_SECRET are read from the worker's config here
// and never enter a workflow's input or history.

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WebhookConfig } from '../src/config';
import { changesThrough, latestPosition, listenToFeed } from '../src/db/feed';
import { type BatchRange, claimBatch, type DeadReason, recordDeadLetter, recordDelivered, recordFailedAttempt } from '../src/db/webhooks';
import { redact } from '../src/log';
import { recordWebhookAttempt, recordWebhookDeadLetter } from '../src/metrics/webhooks';
import { postBatch, WebhookError } from '../src/webhooks/send';
import { type WebhookBatch, type WebhookClaim, WEBHOOK_REFUSED } from '../workflows/definitions';
import type { ActivityDeps } from './deps';

/** How often a waiting activity heartbeats: a killed worker's wait is taken over within its heartbeat timeout. */
const HEARTBEAT_MS = 2_000;

const toRange = (b: WebhookBatch): BatchRange => ({
  after: BigInt(b.after),
  first: BigInt(b.first),
  last: BigInt(b.last),
  changes: b.changes,
  oldestObservedAt: new Date(b.oldestObservedAt),
});

export function webhookActivities({ sql, config }: ActivityDeps) {
  const settings = (): WebhookConfig => {
    // Retryable: a worker started with WEBHOOK_URL takes the task over.
    if (!config.webhook) throw ApplicationFailure.retryable('WEBHOOK_URL is not set on this worker: every worker needs the same WEBHOOK_* settings', 'WebhookNotConfigured');
    return config.webhook;
  };

  return {
    /** The claimed batch (the same one again after a crash), or a new claim; none when the feed has nothing after the cursor. */
    async claimWebhookBatch(): Promise<WebhookClaim> {
      const { batchSize, maxAgeMs, timeoutMs, maxBackoffMs } = settings();
      const { position, batch } = await claimBatch(sql, batchSize);
      if (batch === null) return { position: position.toString(), batch: null };
      return {
        position: position.toString(),
        batch: {
          after: batch.after.toString(),
          first: batch.first.toString(),
          last: batch.last.toString(),
          changes: batch.changes,
          oldestObservedAt: batch.oldestObservedAt.toISOString(),
          deadlineMs: batch.oldestObservedAt.getTime() + maxAgeMs,
          timeoutMs,
          maxBackoffMs,
        },
      };
    },

    /**
     * One POST of the batch; the cursor moves past it on a 2xx. A failure is retried by
     * Temporal's retry policy (the workflow's), at the receiver's Retry-After when it sends one;
     * a refusal is not retried.
     */
    async deliverWebhookBatch(batch: WebhookBatch): Promise<{ delivered: boolean }> {
      const webhook = settings();
      const range = toRange(batch);
      const changes = await changesThrough(sql, range.after, range.last);
      try {
        await postBatch(webhook, changes);
      } catch (error) {
        if (!(error instanceof WebhookError)) throw error;
        const message = redact(error.message);
        recordWebhookAttempt(error.retryable ? 'failed' : 'refused');
        await recordFailedAttempt(sql, message).catch(() => undefined);
        if (!error.retryable) throw ApplicationFailure.nonRetryable(message, WEBHOOK_REFUSED);
        const delay = error.retryAfterMs === null ? undefined : Math.min(error.retryAfterMs, webhook.maxBackoffMs);
        throw ApplicationFailure.create({ message, type: 'WebhookFailed', nextRetryDelay: delay });
      }
      recordWebhookAttempt('delivered', changes.length);
      // False when another attempt's 2xx already moved the cursor (this one was a duplicate, same key).
      return { delivered: await recordDelivered(sql, range, Context.current().info.attempt) };
    },

    async deadLetterWebhookBatch({ batch, reason, error }: { batch: WebhookBatch; reason: DeadReason; error: string | null }): Promise<void> {
      if (await recordDeadLetter(sql, toRange(batch), reason, error === null ? null : redact(error))) recordWebhookDeadLetter(reason);
    },

    /**
     * Returns once the feed has a change after `after`, or after `maxWaitMs` (the workflow then
     * looks again): woken by the feed's notification, heartbeating while it waits.
     */
    async waitForWebhookChanges({ after, maxWaitMs }: { after: string; maxWaitMs: number }): Promise<void> {
      const ctx = Context.current();
      const waker = await listenToFeed(sql);
      try {
        const until = Date.now() + maxWaitMs;
        // Listening first, then reading: a change committed in between is seen by either. Read
        // again only when notified; a lost listener is replaced by the next call (at maxWaitMs).
        for (let read = true; Date.now() < until && !ctx.cancellationSignal.aborted; ) {
          if (read && (await latestPosition(sql)) > BigInt(after)) return;
          ctx.heartbeat();
          read = await waker.wait(Math.min(HEARTBEAT_MS, until - Date.now()), ctx.cancellationSignal);
        }
      } finally {
        await waker.close();
      }
    },
  };
}
