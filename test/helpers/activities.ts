// Who ran a sweep's activities: read from the histories of its batch children.

import type { Client } from '@temporalio/client';
import { batchWorkflowId } from '../../workflows/definitions';

/**
 * The activities of a sweep's batch children: by the worker (pid@host) whose attempt finished
 * them, and how many attempts beyond the first they needed (a killed worker's attempts time out).
 */
export async function sweepActivities(
  client: Client,
  sweep: { sweepId: string; childrenTotal: number },
): Promise<{ byWorker: Map<string, number>; extraAttempts: number }> {
  const byWorker = new Map<string, number>();
  let extraAttempts = 0;
  for (let i = 0; i < sweep.childrenTotal; i++) {
    const history = await client.workflow.getHandle(batchWorkflowId(sweep.sweepId, i)).fetchHistory();
    for (const event of history.events ?? []) {
      const started = event.activityTaskStartedEventAttributes;
      if (!started?.identity) continue;
      byWorker.set(started.identity, (byWorker.get(started.identity) ?? 0) + 1);
      extraAttempts += Math.max(0, (started.attempt ?? 1) - 1);
    }
  }
  return { byWorker, extraAttempts };
}
