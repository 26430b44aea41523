// Prometheus metrics, one concern a module: the registry, the definitions the service records
// with, the staleness gauges and their cache, the bridge to the Temporal SDK's metrics, and the
// HTTP endpoint. This is what the rest of the service uses.

export { recordBatch, recordRpcRequest, recordSweep, type RpcOutcome } from './definitions';
export { registry } from './registry';
export { type MetricsServer, type MetricsServerOptions, startMetricsServer } from './server';
