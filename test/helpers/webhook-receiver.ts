// A webhook receiver for tests: a real node:http server that records every POST (raw body,
// headers, the status it answered) and answers as the test says: `fail` requests get that
// status first, then 2xx; `holdNext` stores one and never answers; `down()` closes the port
// (connections refused) until `up()`.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface Received {
  body: string;
  signature: string | undefined;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  /** The status answered. */
  status: number;
  at: number;
}

export interface Receiver {
  port: number;
  requests: Received[];
  /** The next `count` requests are answered with `status` (then 2xx again). */
  fail(status: number, count: number, headers?: Record<string, string>): void;
  /**
   * The next request is stored (recorded as 200) but never answered, as by a receiver that
   * crashes after storing; resolves when it has arrived.
   */
  holdNext(): Promise<void>;
  /** Closes the port: deliveries find it refusing connections. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** The README's verification, as a receiver would write it. */
export function verify(rawBody: string, header: string | undefined, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const read = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

export async function startReceiver(port: number): Promise<Receiver> {
  const requests: Received[] = [];
  let failing: { status: number; count: number; headers: Record<string, string> } | null = null;
  let server: Server | null = null;
  let hold: (() => void) | null = null;

  const listen = async () => {
    const s = createServer((req, res) => {
      void read(req).then((body) => {
        let status = 200;
        let headers: Record<string, string> = {};
        if (failing && failing.count > 0) {
          status = failing.status;
          headers = failing.headers;
          failing.count--;
        }
        requests.push({
          body,
          signature: req.headers['x-balance-tracker-signature'] as string | undefined,
          idempotencyKey: req.headers['idempotency-key'] as string | undefined,
          authorization: req.headers.authorization,
          status,
          at: Date.now(),
        });
        if (hold && status === 200) {
          hold();
          hold = null;
          return;
        }
        res.writeHead(status, headers).end(status === 200 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    server = s;
  };
  const close = async () => {
    const s = server;
    server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    port,
    requests,
    fail(status, count, headers = {}) {
      failing = { status, count, headers };
    },
    holdNext: () => new Promise<void>((resolve) => (hold = resolve)),
    down: close,
    up: listen,
    stop: close,
  };
}
