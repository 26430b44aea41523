export { batchWorkflow } from './batch';
export { retierWorkflow } from './retier';
export { sweepTickWorkflow } from './tick';
export { tierWorkflow } from './tier';
export { webhookDeliveryWorkflow } from './webhooks';
