// Started by the `balance-retier` Schedule: moves wallets between tiers by activity.

import { proxyActivities } from '@temporalio/workflow';
import type { MainActivities } from '../activities';

const { retierWallets } = proxyActivities<MainActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function retierWorkflow(): Promise<Awaited<ReturnType<MainActivities['retierWallets']>>> {
  return retierWallets();
}
