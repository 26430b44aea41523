// One webhook POST: a batch of feed changes as JSON, signed with HMAC-SHA256 over the raw body,
// and what the receiver's answer means for retrying. Used by the delivery activity and by
// `webhooks replay`, so a replayed batch is the same bytes, key and signature as the original.

import { createHmac } from 'node:crypto';
import type { WebhookConfig } from '../config';
import type { FeedChange } from '../db/feed';
import { basicCredentials } from '../redact';

export const SIGNATURE_HEADER = 'X-Balance-Tracker-Signature';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** Deterministic from the batch's positions: a retried or replayed batch has the same key. */
export const idempotencyKey = (first: bigint, last: bigint): string => `balance-tracker-${first}-${last}`;

export interface WebhookChange {
  position: string;
  wallet: string;
  asset: string;
  slot: string;
  amount: string;
  previous: string | null;
  observedAt: string;
}

export interface WebhookPayload {
  idempotencyKey: string;
  firstPosition: string;
  lastPosition: string;
  changes: WebhookChange[];
}

/** The body, byte for byte the same for the same changes (no send time in it). */
export function payloadOf(changes: readonly FeedChange[]): string {
  const first = changes[0]!.position;
  const last = changes.at(-1)!.position;
  const payload: WebhookPayload = {
    idempotencyKey: idempotencyKey(first, last),
    firstPosition: first.toString(),
    lastPosition: last.toString(),
    changes: changes.map((c) => ({
      position: c.position.toString(),
      wallet: c.address,
      asset: c.asset,
      slot: c.slot.toString(),
      amount: c.amount.toString(),
      previous: c.previous === null ? null : c.previous.toString(),
      observedAt: c.observedAt.toISOString(),
    })),
  };
  return JSON.stringify(payload);
}

/** The signature header's value: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const signatureOf = (body: string, secret: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** Why a POST did not deliver; retryable says whether the same batch may succeed later. */
export class WebhookError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The receiver's Retry-After (429, 503), capped by the caller; null without one. */
    readonly retryAfterMs: number | null = null,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** 408 and 429 may pass later, like any 5xx; any other 4xx will not for the same body. */
const retryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/**
 * POSTs the batch; resolves on a 2xx. Throws WebhookError otherwise. The messages name the
 * status or the network error code, never the URL (it may carry credentials).
 */
export async function postBatch(config: WebhookConfig, changes: readonly FeedChange[]): Promise<void> {
  const body = payloadOf(changes);
  const url = new URL(config.url);
  // fetch refuses a URL with credentials: they go in the Authorization header.
  const credentials = basicCredentials(url);
  url.username = '';
  url.password = '';
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(config.timeoutMs),
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signatureOf(body, config.secret),
        [IDEMPOTENCY_HEADER]: idempotencyKey(changes[0]!.position, changes.at(-1)!.position),
        ...(credentials && { authorization: `Basic ${credentials}` }),
      },
    });
  } catch (error) {
    throw new WebhookError(`the receiver could not be reached: ${networkReason(error, config.timeoutMs)}`, true);
  }
  // Read to the end so the connection can be reused; what it says is not needed.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return;
  const { status } = response;
  if (status >= 300 && status < 400) throw new WebhookError(`the receiver answered ${status} (redirects are not followed: set WEBHOOK_URL to the final address)`, false, null, status);
  const retryable = retryableStatus(status);
  throw new WebhookError(
    `the receiver answered ${status}${retryable ? '' : ' (a refusal: not retried, the batch is dead-lettered)'}`,
    retryable,
    retryable ? retryAfterMs(response.headers.get('retry-after')) : null,
    status,
  );
}

/** ECONNREFUSED, ECONNRESET, a timeout: the cause's code, not its text (which may name the address). */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs} ms (WEBHOOK_TIMEOUT)`;
  const cause = (error as { cause?: { code?: unknown; name?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.name === 'string') return cause.name;
  return error instanceof Error ? error.name : 'unknown error';
}
