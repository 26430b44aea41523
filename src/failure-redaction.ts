// Every error an activity (a local one too) hands to Temporal becomes a failure in a workflow
// history, a pending activity's last failure and the Web UI. It passes through the logs'
// redaction first, so no error text, whatever produced it, can carry a key there.

import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { redact } from './log';
import { redactError } from './redact';

export const redactActivityFailures: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (error) {
        // Redacted in place, so the SDK still sees its class, type and retry fields.
        throw redactError(error instanceof Error ? error : new Error(String(error)), redact);
      }
    },
  },
});
