// The Temporal SDK's runtime metrics (temporal_*) reach Prometheus through our endpoint: the
// SDK's own exporter listens on a private 127.0.0.1 port (see installRuntime in src/worker.ts)
// and each scrape appends its text to ours.

import { log } from '../log';
import { registry } from './registry';

/** Our registry's text followed by the SDK's (or a comment saying it is unavailable). */
export async function scrape(sdkMetricsUrl?: string | null): Promise<string> {
  const ours = await registry.metrics();
  if (!sdkMetricsUrl) return ours;
  try {
    const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const sdk = await response.text();
    return `${ours.trimEnd()}\n${sdk.trimEnd()}\n`;
  } catch (error) {
    log.warn('metrics: Temporal SDK metrics unavailable', { error });
    return `${ours.trimEnd()}\n# Temporal SDK metrics unavailable\n`;
  }
}
