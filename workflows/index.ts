export { batchWorkflow } from './batch';
export { sweepTickWorkflow } from './tick';
export { tierWorkflow } from './tier';
