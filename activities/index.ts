import { checkBatchActivities } from './check-batch';
import type { ActivityDeps } from './deps';
import { retierActivities } from './retier';
import { sweepActivities } from './sweep';
import { tierActivities } from './tiers';
import { webhookActivities } from './webhooks';

export type { ActivityDeps } from './deps';

/** Activities served on the main task queue. */
export function createActivities(deps: ActivityDeps) {
  return { ...sweepActivities(deps), ...tierActivities(deps), ...retierActivities(deps), ...webhookActivities(deps) };
}

/** Activities served on the rate-limited RPC task queue: each attempt makes ceil(accounts / 100) RPC calls. */
export function createRpcActivities(deps: ActivityDeps) {
  return checkBatchActivities(deps);
}

export type MainActivities = ReturnType<typeof createActivities>;
export type RpcActivities = ReturnType<typeof createRpcActivities>;
