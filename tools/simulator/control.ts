// Control endpoints under /__sim/ (plain JSON over HTTP, never JSON-RPC), for tests and
// benchmarks in other processes. Bigints travel as decimal strings.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { COMMITMENT_LAG } from './rpc-methods';
import type { Provider } from './provider';
import { servedReadsToJson, type Stats } from './stats';
import { U64_MAX, type World } from './world';

export const CONTROL_PREFIX = '/__sim/';
const MAX_LIST = 100_000;
const MAX_CONTROL_BODY = 64 * 1024 * 1024;

export interface ControlContext {
  world: World;
  provider: Provider;
  stats: Stats;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (ctx: ControlContext, query: URLSearchParams, body: unknown) => unknown;

const ROUTES: Record<string, { GET?: Handler; POST?: Handler }> = {
  stats: {
    GET: ({ stats }, query) => {
      const snapshot = stats.snapshot();
      return query.get('arrivals') === 'false' ? { ...snapshot, arrivals: undefined } : snapshot;
    },
  },
  reads: {
    GET: ({ stats }) => servedReadsToJson(stats.servedReads()),
  },
  'stats/reset': {
    POST: ({ stats }) => {
      stats.reset();
      return { ok: true };
    },
  },
  knobs: {
    GET: ({ provider }) => provider.knobs,
    POST: ({ provider }, _query, body) => provider.update(body as never),
  },
  slot: {
    GET: ({ world }) => {
      const slot = world.slot();
      return {
        slot,
        confirmed: Math.max(0, slot - COMMITMENT_LAG.confirmed),
        finalized: Math.max(0, slot - COMMITMENT_LAG.finalized),
      };
    },
  },
  advance: {
    POST: ({ world }, _query, body) => {
      const { slots = 1, changes = true } = objectOf(body);
      if (typeof changes !== 'boolean') throw new HttpError(400, 'changes must be true or false');
      return { slot: world.advance(slots as number, { changes }) };
    },
  },
  truth: {
    GET: ({ world }, query) => {
      const address = required(query, 'address');
      const slotText = query.get('slot');
      const slot = slotText === null ? world.slot() : integerOf('slot', slotText);
      const lamports = world.balanceAt(address, slot);
      return { address, slot, lamports: lamports === null ? null : lamports.toString() };
    },
  },
  wallets: {
    GET: ({ world }, query) => {
      const offset = integerOf('offset', query.get('offset') ?? '0');
      const limit = integerOf('limit', query.get('limit') ?? '1000');
      if (limit > MAX_LIST) throw new HttpError(400, `limit must be at most ${MAX_LIST}`);
      return { total: world.size, offset, addresses: world.addresses(offset, limit) };
    },
    POST: ({ world }, _query, body) => {
      const { wallets } = objectOf(body);
      if (!Array.isArray(wallets)) throw new HttpError(400, 'wallets must be an array of {address, lamports}');
      // Check everything first, so a bad entry adds nothing.
      const seen = new Set<string>();
      const parsed = wallets.map((entry: unknown, i) => {
        const { address, lamports } = objectOf(entry);
        if (typeof address !== 'string') throw new HttpError(400, `wallets[${i}].address must be a string`);
        if (seen.has(address) || world.has(address)) throw new HttpError(409, `wallet ${address} already exists`);
        seen.add(address);
        return { address, lamports: lamportsOf(lamports, `wallets[${i}].lamports`) };
      });
      for (const { address, lamports } of parsed) world.addWallet(address, lamports);
      return { added: parsed.length, total: world.size };
    },
  },
  mints: {
    GET: ({ world }) => ({ mints: world.mints.map(({ address, program, decimals }) => ({ address, program, decimals })) }),
  },
  'token-truth': {
    GET: ({ world }, query) => {
      const wallet = required(query, 'wallet');
      const mint = required(query, 'mint');
      const slotText = query.get('slot');
      const slot = slotText === null ? world.slot() : integerOf('slot', slotText);
      const amount = world.tokenAmountAt(wallet, mint, slot);
      return { wallet, mint, slot, amount: amount === null ? null : amount.toString() };
    },
  },
  'token-amount': {
    POST: async ({ world }, _query, body) => {
      const { wallet, mint, amount } = objectOf(body);
      if (typeof wallet !== 'string') throw new HttpError(400, 'wallet must be a string');
      if (typeof mint !== 'string') throw new HttpError(400, 'mint must be a string');
      const value = lamportsOf(amount, 'amount');
      const appliesAtSlot = await world.setTokenAmount(wallet, mint, value);
      return { wallet, mint, amount: value === null ? null : value.toString(), appliesAtSlot };
    },
  },
  balance: {
    POST: ({ world }, _query, body) => {
      const { address, lamports } = objectOf(body);
      if (typeof address !== 'string') throw new HttpError(400, 'address must be a string');
      const amount = lamportsOf(lamports, 'lamports');
      const appliesAtSlot = world.setBalance(address, amount);
      return { address, lamports: amount === null ? null : amount.toString(), appliesAtSlot };
    },
  },
};

export async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ControlContext): Promise<void> {
  try {
    const route = ROUTES[url.pathname.slice(CONTROL_PREFIX.length)];
    if (!route) throw new HttpError(404, `no control endpoint ${url.pathname}`);
    const handler = req.method === 'GET' || req.method === 'POST' ? route[req.method] : undefined;
    if (!handler) throw new HttpError(405, `${url.pathname} takes ${Object.keys(route).join(' or ')}`);
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    send(res, 200, await handler(ctx, url.searchParams, body));
  } catch (error) {
    // RangeError: the world or the knobs refused a value; the message says which and why.
    if (error instanceof HttpError) send(res, error.status, { error: error.message });
    else if (error instanceof RangeError) send(res, 400, { error: error.message });
    else throw error;
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(value)}\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY) throw new HttpError(413, `control body larger than ${MAX_CONTROL_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function objectOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'expected a JSON object');
  return value as Record<string, unknown>;
}

function required(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null || value === '') throw new HttpError(400, `query parameter ${name} is required`);
  return value;
}

function integerOf(name: string, text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new HttpError(400, `${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Lamports or a token amount as a decimal string (exact u64), or null (the account does not exist). */
function lamportsOf(value: unknown, name: string): bigint | null {
  if (value === null) return null;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || BigInt(value) > U64_MAX) {
    throw new HttpError(400, `${name} must be a decimal string from "0" to "${U64_MAX}" or null, got ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}
