// The one registry of the service's own metrics (src/metrics/definitions.ts, staleness.ts).
// Labels are closed sets (RPC method, outcome, tier): no address, URL or key ever becomes a
// label, so nothing secret can reach a scrape.

import { Registry } from 'prom-client';

export const registry = new Registry();
