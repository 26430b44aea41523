// Starting and waking the long-lived tier workflows, idempotently.

import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import type { Config } from './config';
import { KIND_KEY, TIER_KEY } from './search-attributes';
import { TIERS, type Tier, tierWorkflowId } from './tiers';
import { requestSweepSignal, type TierStart } from '../workflows/definitions';

function startOptions(config: Config, tier: Tier) {
  return {
    workflowId: tierWorkflowId(tier),
    taskQueue: config.temporal.taskQueue,
    args: [{ tier } satisfies TierStart],
    typedSearchAttributes: [
      { key: TIER_KEY, value: tier },
      { key: KIND_KEY, value: 'tier' },
    ],
    memo: { tier, purpose: `keeps the ${tier} tier's balances fresh` },
    // Shown in the Web UI's workflow list.
    staticSummary: `${tier} tier: sweeps on balance-sweep-${tier}'s ticks, answers the progress query`,
  };
}

/** Starts every tier workflow that is not running; running ones are left as they are. */
export async function startTierWorkflows(client: Client, config: Config): Promise<void> {
  for (const tier of TIERS) {
    await client.workflow.start('tierWorkflow', {
      ...startOptions(config, tier),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
  }
}

export async function requestTierSweep(client: Client, config: Config, tier: Tier, reason: string): Promise<void> {
  await client.workflow.signalWithStart('tierWorkflow', {
    ...startOptions(config, tier),
    signal: requestSweepSignal,
    signalArgs: [{ reason }],
  });
}
