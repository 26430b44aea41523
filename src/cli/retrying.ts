// Batches retrying now: a tier's open batch child workflows (found by their search
// attributes) and their pending activities. A checkBatch that fails retries without end on a
// transient error, so this is where a stalled sweep shows why.

import type { Client } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { redactText } from '../redact';
import { KIND_KEY, TIER_KEY } from '../search-attributes';
import type { Tier } from '../tiers';

/** Open children described per tier at most: describing is one call each. */
export const MAX_DESCRIBED_CHILDREN = 20;

export interface RetryingBatches {
  /** Open batch child workflows of the tier (all of them, counted). */
  openChildren: number;
  /** How many of them were described (at most MAX_DESCRIBED_CHILDREN). */
  describedChildren: number;
  /** Pending batch activities past their first attempt, among the described children. */
  retrying: number;
  /** The highest attempt number seen. */
  maxAttempt: number;
  /** The newest failure among them, redacted; null when none failed. */
  lastError: string | null;
  lastErrorAt: string | null;
}

export function batchQuery(tier: Tier): string {
  return `${TIER_KEY.name} = '${tier}' AND ${KIND_KEY.name} = 'batch' AND ExecutionStatus = 'Running'`;
}

export async function retryingBatches(client: Client, tier: Tier, secrets: readonly string[]): Promise<RetryingBatches> {
  const query = batchQuery(tier);
  const { count } = await client.workflow.count(query);
  const ids: string[] = [];
  for await (const execution of client.workflow.list({ query, pageSize: MAX_DESCRIBED_CHILDREN })) {
    ids.push(execution.workflowId);
    if (ids.length >= MAX_DESCRIBED_CHILDREN) break;
  }
  const result: RetryingBatches = { openChildren: count, describedChildren: 0, retrying: 0, maxAttempt: 0, lastError: null, lastErrorAt: null };
  let lastErrorMs = -Infinity;
  const descriptions = await Promise.allSettled(ids.map((id) => client.workflow.getHandle(id).describe()));
  for (const settled of descriptions) {
    // A child that closed between the list and the describe is simply not retrying.
    if (settled.status === 'rejected') continue;
    result.describedChildren++;
    for (const activity of settled.value.raw.pendingActivities ?? []) {
      const attempt = activity.attempt ?? 1;
      if (attempt <= 1 && !activity.lastFailure) continue;
      result.retrying++;
      result.maxAttempt = Math.max(result.maxAttempt, attempt);
      const at = optionalTsToDate(activity.lastAttemptCompleteTime ?? activity.lastStartedTime);
      const atMs = at?.getTime() ?? 0;
      if (activity.lastFailure?.message && atMs >= lastErrorMs) {
        lastErrorMs = atMs;
        result.lastError = redactText(activity.lastFailure.message, secrets).slice(0, 300);
        result.lastErrorAt = at?.toISOString() ?? null;
      }
    }
  }
  return result;
}
