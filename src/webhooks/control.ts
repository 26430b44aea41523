// Starting the webhook delivery workflow, idempotently: one per service, on the main task queue
// (never the RPC queue: delivery spends no RPC budget).

import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import type { Config } from '../config';
import { KIND_KEY } from '../search-attributes';
import { WEBHOOK_WORKFLOW_ID } from '../../workflows/definitions';
import type { WebhookWorkflowInput } from '../../workflows/webhooks';

/**
 * Starts the delivery workflow when WEBHOOK_URL is set and it is not running; true when
 * configured. `input` is for tests (a short run).
 */
export async function startWebhookDelivery(client: Client, config: Config, input: WebhookWorkflowInput = {}): Promise<boolean> {
  if (!config.webhook) return false;
  await client.workflow.start('webhookDeliveryWorkflow', {
    workflowId: WEBHOOK_WORKFLOW_ID,
    taskQueue: config.temporal.taskQueue,
    // Nothing of the URL or the secret: the activities read them from the worker's config.
    args: [input],
    typedSearchAttributes: [{ key: KIND_KEY, value: 'webhooks' }],
    memo: { purpose: 'delivers the change feed to WEBHOOK_URL' },
    staticSummary: 'webhook delivery: POSTs the change feed in order; the details show the delivery lag, the `progress` query all of it',
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return true;
}
