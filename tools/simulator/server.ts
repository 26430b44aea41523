// The simulator's HTTP server: a provider edge (rate limit, faults, latency) in front
// of the validator's HTTP layer and JSON-RPC methods, plus the /__sim/ control endpoints.

import { createServer, type IncomingMessage, STATUS_CODES, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTROL_PREFIX, handleControl } from './control';
import { Provider, type ProviderKnobs } from './provider';
import { handleRpc, inspectRequest, type BalanceRead } from './rpc-methods';
import { Stats, type CallOutcome, type Outcome, type ServedReads, type SimulatorStats } from './stats';
import { World, type WorldOptions } from './world';

/** agave rpc/src/rpc.rs: MAX_REQUEST_BODY_SIZE (50 kB), enforced by jsonrpc-http-server. */
const MAX_REQUEST_BODY_SIZE = 50 * (1 << 10);

export interface SimulatorOptions extends WorldOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Provider behaviour at start; change it later with setKnobs or POST /__sim/knobs. */
  knobs?: Partial<ProviderKnobs>;
  /** Credentials a request must carry as `Authorization: Basic` (else HTTP 401), as some providers require. */
  basicAuth?: { username: string; password: string };
  /** Record every balance served, per address and slot (reads(), GET /__sim/reads); memory grows with them. */
  recordReads?: boolean;
}

export interface SimulatorHandle {
  /** The JSON-RPC endpoint, e.g. http://127.0.0.1:8899 (control endpoints live under /__sim/). */
  url: string;
  port: number;
  world: World;
  knobs(): ProviderKnobs;
  setKnobs(partial: Partial<ProviderKnobs>): ProviderKnobs;
  stats(): SimulatorStats;
  /** Balances served since start-up (resetStats keeps them), per address and slot (needs recordReads). */
  reads(): ServedReads;
  resetStats(): void;
  /** Closes the server and every connection, hung ones included. */
  stop(): Promise<void>;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const world = await World.create(options);
  const provider = new Provider(world.seed, options.knobs);
  const stats = new Stats({ recordReads: options.recordReads });
  const { basicAuth } = options;
  const expectedAuthorization = basicAuth ? `Basic ${Buffer.from(`${basicAuth.username}:${basicAuth.password}`).toString('base64')}` : null;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /** `reads`: the balances the answer carries, served only once it is handed to the client's socket. */
  const reply = async (res: ServerResponse, answer: Answer, reads: readonly BalanceRead[] = []): Promise<void> => {
    await delay(provider.delayMs());
    if (stopped || res.destroyed) return;
    res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
    res.end(answer.body);
    for (const read of reads) stats.serve(read.slot, read.addresses);
  };

  const serveRpc = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = Date.now();
    stats.arrive();
    const { bytes, tooLarge } = await readBody(req);
    const text = bytes.toString('utf8');
    const { methods, key } = inspectRequest(text);
    const settle = (outcome: Outcome, calls: CallOutcome[] = methods.map((method) => ({ method, outcome }))): void =>
      stats.settle(at, key, outcome, calls);

    if (expectedAuthorization !== null && req.headers.authorization !== expectedAuthorization) {
      settle('http_4xx', []);
      return reply(res, { ...plain(401, 'Unauthorized\n'), headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Basic realm="rpc"' } });
    }
    const retryAfter = provider.admit(performance.now());
    if (retryAfter !== null) {
      settle('http_429');
      return reply(res, rateLimited(retryAfter, text));
    }
    const fault = provider.fault();
    if (fault === 'hang') {
      settle('hung'); // left open: the client times out, or stop() closes the socket
      return;
    }
    if (fault === 'error') {
      const status = provider.errorStatus();
      settle(status >= 500 ? 'http_5xx' : 'http_4xx');
      return reply(res, plain(status, `${STATUS_CODES[status] ?? 'Error'}\n`));
    }
    if (fault === 'echo') {
      settle('rpc_error');
      const error = { code: -provider.knobs.echoErrorCode, message: `upstream request failed for ${req.url ?? '/'}` };
      return reply(res, json(`${JSON.stringify({ jsonrpc: '2.0', error, id: requestId(text) })}\n`));
    }
    const refusal = validatorHttpCheck(req, tooLarge);
    if (refusal) {
      settle(refusal.status === 200 ? 'ok' : 'http_4xx', []);
      return reply(res, refusal);
    }
    const { body, calls } = handleRpc(text, world, fault === null ? provider.lie() : null);
    if (fault === 'malformed') {
      settle('malformed');
      return reply(res, json(provider.malform(body ?? '')));
    }
    settle(
      calls.some((call) => call.lied) ? 'lie' : calls.every((call) => call.ok) ? 'ok' : 'rpc_error',
      calls.map(({ method, ok, lied }) => ({ method, outcome: lied ? 'lie' : ok ? 'ok' : 'rpc_error' })),
    );
    return reply(
      res,
      json(body ?? ''),
      calls.flatMap((call) => (call.read ? [call.read] : [])),
    );
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const ctx = { world, provider, stats };
    const work = url.pathname.startsWith(CONTROL_PREFIX) ? handleControl(req, res, url, ctx) : serveRpc(req, res);
    work.catch((error: unknown) => {
      // A client that went away mid-body, or a bug: answer if the socket still can.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`Internal Server Error: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    port,
    world,
    knobs: () => provider.knobs,
    setKnobs: (partial) => provider.update(partial),
    stats: () => stats.snapshot(),
    reads: () => stats.servedReads(),
    resetStats: () => stats.reset(),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * The HTTP checks jsonrpc-http-server makes before JSON-RPC (http/src/handler.rs and
 * response.rs): POST (OPTIONS answers empty) with a JSON content type, a body within the limit.
 */
function validatorHttpCheck(req: IncomingMessage, tooLarge: boolean): Answer | null {
  if (req.method === 'OPTIONS') return { status: 200, headers: { allow: 'OPTIONS, POST', accept: 'application/json' }, body: '' };
  if (req.method !== 'POST') return plain(405, 'Used HTTP Method is not allowed. POST or OPTIONS is required\n');
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  if (contentType !== 'application/json' && contentType !== 'application/json; charset=utf-8') {
    return plain(415, 'Supplied content type is not allowed. Content-Type: application/json is required\n');
  }
  if (tooLarge) return plain(413, 'request body size exceeds allowed maximum');
  return null;
}

/**
 * The public mainnet endpoint's 429 (solana-labs/solana-program-library#2784 quotes it):
 * a JSON-RPC error object with code 429, echoing the request id when there is one.
 */
function rateLimited(retryAfterSeconds: number, text: string): Answer {
  const body = { jsonrpc: '2.0', error: { code: 429, message: 'Too many requests for a specific RPC call, contact your app developer or support@rpcpool.com.' }, id: requestId(text) };
  return { status: 429, headers: { 'content-type': 'application/json', 'retry-after': String(retryAfterSeconds) }, body: `${JSON.stringify(body)}\n` };
}

/** The id of a single JSON-RPC request, for an edge error that answers it; null otherwise. */
function requestId(text: string): unknown {
  try {
    const request: unknown = JSON.parse(text);
    if (typeof request === 'object' && request !== null && !Array.isArray(request)) return (request as { id?: unknown }).id ?? null;
  } catch {
    // Not JSON: the error carries id null.
  }
  return null;
}

function plain(status: number, body: string): Answer {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

function json(body: string): Answer {
  return { status: 200, headers: { 'content-type': 'application/json' }, body };
}

/** Reads the whole body, keeping at most the validator's limit (the rest is drained, not kept). */
function readBody(req: IncomingMessage): Promise<{ bytes: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BODY_SIZE) chunks.push(chunk);
    });
    req.on('end', () => resolve({ bytes: Buffer.concat(chunks), tooLarge: size > MAX_REQUEST_BODY_SIZE }));
    req.on('error', reject);
  });
}
