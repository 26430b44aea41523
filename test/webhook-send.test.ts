// One webhook POST against a real node:http server: the body and its signature, the headers,
// and how each answer (or no answer) is classed for retrying, with messages that never name the
// URL or its credentials.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookConfig } from '../src/config';
import type { FeedChange } from '../src/db/feed';
import { freePort } from '../src/free-port';
import { idempotencyKey, payloadOf, postBatch, retryAfterMs, WebhookError } from '../src/webhooks/send';
import { verify } from './helpers/webhook-receiver';

const SECRET = 'unit-test-signing-secret-0123';
const PASSWORD = 'pw-unit-0123456789';

const change = (position: bigint, previous: bigint | null): FeedChange => ({
  position,
  walletId: 1,
  address: '7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU',
  asset: 'SOL',
  slot: 300_000_012n,
  amount: 2n ** 64n - 1n,
  previous,
  observedAt: new Date('2026-12-02T07:50:01.123Z'),
});
const changes = [change(41n, null), change(46n, 5n)];

describe('a webhook POST', () => {
  let server: Server;
  let port: number;
  let answer: { status: number; headers?: Record<string, string>; delayMs?: number } = { status: 200 };
  let last: { body: string; headers: IncomingHttpHeaders; url: string } | null = null;
  const config = (overrides: Partial<WebhookConfig> = {}): WebhookConfig => ({
    url: `http://hook:${PASSWORD}@127.0.0.1:${port}/in/path`,
    secret: SECRET,
    batchSize: 100,
    maxAgeMs: 60_000,
    timeoutMs: 1_000,
    maxBackoffMs: 5_000,
    ...overrides,
  });
  /** The WebhookError a POST fails with. */
  const failure = async (c = config()): Promise<WebhookError> => {
    const error = await postBatch(c, changes).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookError);
    const e = error as WebhookError;
    for (const secret of [PASSWORD, '/in/path', String(port)]) expect(e.message).not.toContain(secret);
    return e;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        last = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, url: req.url ?? '' };
        setTimeout(() => res.writeHead(answer.status, answer.headers ?? {}).end(), answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('carries the batch as exact decimal strings, signed over the raw body, with its key and Basic credentials', async () => {
    answer = { status: 204 };
    await postBatch(config(), changes);
    expect(last!.url).toBe('/in/path');
    expect(last!.body).toBe(payloadOf(changes));
    expect(JSON.parse(last!.body)).toEqual({
      idempotencyKey: 'balance-tracker-41-46',
      firstPosition: '41',
      lastPosition: '46',
      changes: [
        { position: '41', wallet: changes[0]!.address, asset: 'SOL', slot: '300000012', amount: '18446744073709551615', previous: null, observedAt: '2026-12-02T07:50:01.123Z' },
        { position: '46', wallet: changes[0]!.address, asset: 'SOL', slot: '300000012', amount: '18446744073709551615', previous: '5', observedAt: '2026-12-02T07:50:01.123Z' },
      ],
    });
    expect(last!.headers['idempotency-key']).toBe(idempotencyKey(41n, 46n));
    expect(last!.headers['content-type']).toBe('application/json');
    expect(verify(last!.body, last!.headers['x-balance-tracker-signature'] as string, SECRET)).toBe(true);
    expect(verify(last!.body, last!.headers['x-balance-tracker-signature'] as string, 'another-secret-0123456')).toBe(false);
    expect(last!.headers.authorization).toBe(`Basic ${Buffer.from(`hook:${PASSWORD}`).toString('base64')}`);
  });

  it('retries a 5xx, 408 and 429 (with the Retry-After), and refuses any other 4xx or a redirect', async () => {
    for (const status of [500, 503, 408]) {
      answer = { status };
      expect(await failure()).toMatchObject({ retryable: true, status, retryAfterMs: null, message: `the receiver answered ${status}` });
    }
    answer = { status: 429, headers: { 'retry-after': '7' } };
    expect(await failure()).toMatchObject({ retryable: true, status: 429, retryAfterMs: 7_000 });
    for (const status of [400, 401, 404, 422]) {
      answer = { status };
      expect(await failure()).toMatchObject({ retryable: false, status });
    }
    answer = { status: 301, headers: { location: `http://127.0.0.1:${port}/elsewhere` } };
    expect(await failure()).toMatchObject({ retryable: false, status: 301 });
  });

  it('retries no answer in time and a refused connection, naming neither the URL nor its credentials', async () => {
    answer = { status: 200, delayMs: 1_500 };
    expect(await failure(config({ timeoutMs: 200 }))).toMatchObject({ retryable: true, message: 'the receiver could not be reached: no answer within 200 ms (WEBHOOK_TIMEOUT)' });
    const closed = await freePort();
    expect(await failure(config({ url: `http://hook:${PASSWORD}@127.0.0.1:${closed}/in/path` }))).toMatchObject({
      retryable: true,
      message: 'the receiver could not be reached: ECONNREFUSED',
    });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs('120')).toBe(120_000);
    expect(retryAfterMs('Wed, 02 Dec 2026 08:00:30 GMT', Date.parse('2026-12-02T08:00:00Z'))).toBe(30_000);
    expect(retryAfterMs('soon')).toBeNull();
  });
});
