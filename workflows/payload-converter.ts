// The workflows' payload converter: Temporal's default, except that a payload it cannot decode
// (an unknown encoding, bytes that are not JSON) becomes an `Undecodable` value instead of an
// exception. Anyone who can reach the server can signal a tier workflow; with the default
// converter a signal carrying such a payload fails every workflow task from then on (the
// signal stays in the history and is decoded again on each replay), so one bad signal would
// stop the tier for good. The handlers report an Undecodable input like any other bad input.
// Encoding is unchanged, so clients keep the default converter. Bundled into the workflow
// sandbox (src/worker.ts bundleWorkflows): it imports nothing but @temporalio/common.

import { defaultPayloadConverter, type Payload, type PayloadConverter } from '@temporalio/common';

const UNDECODABLE = '__undecodablePayload';

/** What a handler receives for an argument that could not be decoded; the string says why. */
export interface Undecodable {
  readonly [UNDECODABLE]: string;
}

export function isUndecodable(value: unknown): value is Undecodable {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[UNDECODABLE] === 'string';
}

export function undecodableReason(value: Undecodable): string {
  return value[UNDECODABLE];
}

class TolerantPayloadConverter implements PayloadConverter {
  toPayload<T>(value: T): Payload {
    return defaultPayloadConverter.toPayload(value);
  }

  fromPayload<T>(payload: Payload): T {
    try {
      return defaultPayloadConverter.fromPayload<T>(payload);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { [UNDECODABLE]: reason.slice(0, 200) } as T;
    }
  }
}

export const payloadConverter: PayloadConverter = new TolerantPayloadConverter();
