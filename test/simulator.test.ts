// The Solana RPC simulator, driven through the real client (@solana/kit) where kit can
// express the request, and through raw fetch for what kit hides (batches, bad requests,
// headers). Each test starts its own simulator on a free port and stops it.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  address,
  createSolanaRpc,
  getAddressDecoder,
  isSolanaError,
  SOLANA_ERROR__JSON_RPC__INVALID_PARAMS,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_MIN_CONTEXT_SLOT_NOT_REACHED,
  SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR,
  type Address,
} from '@solana/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { U64_MAX } from '../src/u64';
import { simulatorControl } from '../tools/simulator/client';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../tools/simulator/server';
import { Provider } from '../tools/simulator/provider';
import { peakInWindow } from '../tools/simulator/stats';
import { World } from '../tools/simulator/world';

/** The address of 32 key bytes. */
const addressOf = (key: Uint8Array): Address => getAddressDecoder().decode(key);

const SYSTEM_PROGRAM = '11111111111111111111111111111111';

let sim: SimulatorHandle | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

/** A simulator with a stopped clock (slots move only when a test advances them). */
async function start(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  sim = await startSimulator({ port: 0, slotMs: 0, wallets: 50, seed: 'simulator-test', ...options });
  return sim;
}

async function post(url: string, body: unknown, contentType = 'application/json'): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

interface JsonRpcReply {
  jsonrpc?: string;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  id: unknown;
}

async function call(url: string, method: string, params?: unknown, id: unknown = 1): Promise<JsonRpcReply> {
  const { status, text } = await post(url, { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  expect(status).toBe(200);
  return JSON.parse(text) as JsonRpcReply;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** A valid address no world wallet has (an all-0xff key). */
const STRANGER = address(addressOf(new Uint8Array(32).fill(0xff)));

describe('account shapes', () => {
  it('getMultipleAccounts answers a context wrapper and system accounts with their true lamports', async () => {
    const s = await start();
    const rpc = createSolanaRpc(s.url);
    const addresses = s.world.addresses(0, 10).map((a) => address(a));
    const head = s.world.slot();
    const { context, value } = await rpc
      .getMultipleAccounts(addresses, { encoding: 'base64', dataSlice: { offset: 0, length: 0 }, commitment: 'confirmed' })
      .send();
    expect(context.slot).toBe(BigInt(head - 1));
    // kit's types omit apiVersion, but the validator sends it.
    expect((context as { apiVersion?: string }).apiVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(value).toHaveLength(10);
    for (const [i, account] of value.entries()) {
      const truth = s.world.balanceAt(addresses[i]!, head - 1);
      if (truth === null) {
        expect(account).toBeNull();
        continue;
      }
      expect(account).toEqual({
        lamports: truth,
        data: ['', 'base64'],
        owner: SYSTEM_PROGRAM,
        executable: false,
        rentEpoch: U64_MAX,
        space: 0n,
      });
    }
  });

  it('answers null for accounts that do not exist and 0 lamports from getBalance', async () => {
    const s = await start();
    const ghost = address(addressOf(new Uint8Array(32).fill(7)));
    s.world.addWallet(ghost, null);
    const rpc = createSolanaRpc(s.url);
    const present = address(s.world.addresses(0, 50).find((a) => s.world.balanceAt(a, s.world.slot()) !== null)!);
    const { value } = await rpc.getMultipleAccounts([ghost, STRANGER, present], { encoding: 'base64' }).send();
    expect(value[0]).toBeNull();
    expect(value[1]).toBeNull();
    expect(value[2]).not.toBeNull();
    expect((await rpc.getAccountInfo(STRANGER, { encoding: 'base64' }).send()).value).toBeNull();
    expect((await rpc.getBalance(ghost).send()).value).toBe(0n);
  });

  it('serves lamports above 2^53 exactly, up to u64 max', async () => {
    const s = await start();
    const whale = address(addressOf(new Uint8Array(32).fill(1)));
    const odd = address(addressOf(new Uint8Array(32).fill(2)));
    s.world.addWallet(whale, U64_MAX);
    s.world.addWallet(odd, 2n ** 53n + 1n);
    const rpc = createSolanaRpc(s.url);
    const { value } = await rpc.getMultipleAccounts([whale, odd], { encoding: 'base64', commitment: 'processed' }).send();
    expect(value[0]!.lamports).toBe(18446744073709551615n);
    expect(value[1]!.lamports).toBe(9007199254740993n);
    expect((await rpc.getBalance(odd).send()).value).toBe(9007199254740993n);
    // The JSON text itself carries the digits (no float rounding on the way).
    const { text } = await post(s.url, { jsonrpc: '2.0', id: 1, method: 'getBalance', params: [odd] });
    expect(text).toContain('"value":9007199254740993');
  });

  it('encodes data as base64, base58, legacy binary, base64+zstd, and jsonParsed falling back to base64', async () => {
    const s = await start();
    const wallet = addressOf(new Uint8Array(32).fill(3));
    s.world.addWallet(wallet, 5_000_000n);
    const rpc = createSolanaRpc(s.url);
    const base58 = await rpc.getAccountInfo(address(wallet), { encoding: 'base58' }).send();
    expect(base58.value!.data).toEqual(['', 'base58']);
    const dataOf = async (config: object): Promise<unknown> =>
      ((await call(s.url, 'getAccountInfo', [wallet, config])).result as { value: { data: unknown } }).value.data;
    expect(await dataOf({})).toBe(''); // getAccountInfo defaults to the legacy binary encoding
    expect(await dataOf({ encoding: 'base64' })).toEqual(['', 'base64']);
    expect(await dataOf({ encoding: 'jsonParsed' })).toEqual(['', 'base64']);
    const [zstd, label] = (await dataOf({ encoding: 'base64+zstd' })) as [string, string];
    expect(label).toBe('base64+zstd');
    expect([...Buffer.from(zstd, 'base64').subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]); // zstd frame magic
    // getMultipleAccounts defaults to base64.
    const multiple = (await call(s.url, 'getMultipleAccounts', [[wallet]])).result as { value: { data: unknown }[] };
    expect(multiple.value[0]!.data).toEqual(['', 'base64']);
    const unknown = await call(s.url, 'getAccountInfo', [wallet, { encoding: 'hex' }]);
    expect(unknown.error).toEqual({
      code: -32602,
      message: 'Invalid params: unknown variant `hex`, expected one of `binary`, `base58`, `base64`, `jsonParsed`, `base64+zstd`.',
    });
  });

  it('accepts a dataSlice and rejects a malformed one', async () => {
    const s = await start();
    const wallet = s.world.addresses(0, 1)[0]!;
    const sliced = await call(s.url, 'getMultipleAccounts', [[wallet], { encoding: 'base64', dataSlice: { offset: 10, length: 5 } }]);
    expect(sliced.error).toBeUndefined();
    const missing = await call(s.url, 'getMultipleAccounts', [[wallet], { dataSlice: { offset: 0 } }]);
    expect(missing.error).toEqual({ code: -32602, message: 'Invalid params: missing field `length`.' });
    const negative = await call(s.url, 'getMultipleAccounts', [[wallet], { dataSlice: { offset: -1, length: 0 } }]);
    expect(negative.error?.message).toBe('Invalid params: invalid value: integer `-1`, expected usize.');
  });
});

describe('commitment and minContextSlot', () => {
  it('reads processed, confirmed and finalized at fixed lags behind the newest slot', async () => {
    const s = await start();
    const wallet = addressOf(new Uint8Array(32).fill(4));
    s.world.addWallet(wallet, 1_000_000n);
    s.world.setBalance(wallet, 2_000_000n);
    const head = s.world.advance(1, { changes: false });
    const rpc = createSolanaRpc(s.url);
    const read = (commitment: 'processed' | 'confirmed' | 'finalized') => rpc.getBalance(address(wallet), { commitment }).send();
    const [processed, confirmed, finalized] = await Promise.all([read('processed'), read('confirmed'), read('finalized')]);
    expect(processed.context.slot).toBe(BigInt(head));
    expect(confirmed.context.slot).toBe(BigInt(head - 1));
    expect(finalized.context.slot).toBe(BigInt(head - 32));
    expect(processed.value).toBe(2_000_000n); // the change landed at the newest slot
    expect(confirmed.value).toBe(1_000_000n);
    expect(await rpc.getSlot({ commitment: 'processed' }).send()).toBe(BigInt(head));
    // The validator's default commitment is finalized.
    expect((await call(s.url, 'getSlot')).result).toBe(head - 32);
  });

  it('answers -32016 with the context slot when minContextSlot is ahead', async () => {
    const s = await start();
    const head = s.world.slot();
    const rpc = createSolanaRpc(s.url);
    const error = await rejection(rpc.getBalance(STRANGER, { commitment: 'confirmed', minContextSlot: BigInt(head + 5) }).send());
    expect(isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_MIN_CONTEXT_SLOT_NOT_REACHED)).toBe(true);
    const raw = await call(s.url, 'getSlot', [{ commitment: 'processed', minContextSlot: head + 1 }]);
    expect(raw.error).toEqual({ code: -32016, message: 'Minimum context slot has not been reached', data: { contextSlot: head } });
    // Reached exactly: fine.
    expect((await call(s.url, 'getSlot', [{ commitment: 'processed', minContextSlot: head }])).result).toBe(head);
  });
});

describe("the validator's limits and errors", () => {
  it('refuses more than 100 pubkeys with -32602 and takes exactly 100', async () => {
    const s = await start({ wallets: 101 });
    const rpc = createSolanaRpc(s.url);
    const all = s.world.addresses(0, 101).map((a) => address(a));
    const error = await rejection(rpc.getMultipleAccounts(all, { encoding: 'base64' }).send());
    expect(isSolanaError(error, SOLANA_ERROR__JSON_RPC__INVALID_PARAMS)).toBe(true);
    expect((error as { context: { __serverMessage: string } }).context.__serverMessage).toBe('Too many inputs provided; max 100');
    const { value } = await rpc.getMultipleAccounts(all.slice(0, 100), { encoding: 'base64' }).send();
    expect(value).toHaveLength(100);
  });

  it('refuses malformed pubkeys as Pubkey::from_str does', async () => {
    const s = await start();
    const good = s.world.addresses(0, 1)[0]!;
    const message = async (pubkey: string): Promise<string | undefined> => (await call(s.url, 'getMultipleAccounts', [[good, pubkey]])).error?.message;
    expect(await message('abc')).toBe('Invalid param: WrongSize'); // valid base58, too few bytes
    expect(await message('0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl')).toBe('Invalid param: Invalid'); // not base58
    expect(await message('1'.repeat(45))).toBe('Invalid param: WrongSize'); // longer than 44 characters
    const viaKit = await rejection(createSolanaRpc(s.url).getBalance('not-an-address' as Address).send());
    expect(isSolanaError(viaKit, SOLANA_ERROR__JSON_RPC__INVALID_PARAMS)).toBe(true);
  });

  it('answers unknown methods, parse errors, invalid requests and wrong params with the JSON-RPC codes', async () => {
    const s = await start();
    expect((await call(s.url, 'getBlockProduction2', [], 7)).error).toEqual({ code: -32601, message: 'Method not found' });

    const parse = await post(s.url, '{"jsonrpc":"2.0","id":1,"method":');
    expect(parse.status).toBe(200);
    expect(JSON.parse(parse.text)).toEqual({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });

    const extraField = await post(s.url, { jsonrpc: '2.0', id: 9, method: 'getSlot', extra: true });
    expect(JSON.parse(extraField.text)).toEqual({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: 9 });
    const notAnObject = await post(s.url, '42');
    expect(JSON.parse(notAnObject.text).error).toEqual({ code: -32600, message: 'Invalid request' });
    const noVersion = await post(s.url, { id: 3, method: 'getSlot' });
    expect(JSON.parse(noVersion.text)).toEqual({ error: { code: -32600, message: 'Unsupported JSON-RPC protocol version' }, id: 3 });

    expect((await call(s.url, 'getBalance', [42])).error).toEqual({
      code: -32602,
      message: 'Invalid params: invalid type: integer `42`, expected a string.',
    });
    expect((await call(s.url, 'getMultipleAccounts', ['abc'])).error?.message).toBe(
      'Invalid params: invalid type: string "abc", expected a sequence.',
    );
    expect((await call(s.url, 'getBalance', [])).error?.message).toBe('`params` should have at least 1 argument(s)');
    expect((await call(s.url, 'getSlot', [{}, {}])).error?.message).toBe('Invalid parameters: Expected from 0 to 1 parameters.');
    expect((await call(s.url, 'getBalance', [STRANGER, { commitment: 'recent' }])).error?.message).toBe(
      'Invalid params: unknown variant `recent`, expected one of `processed`, `confirmed`, `finalized`.',
    );
  });

  it('refuses what its HTTP layer refuses: other verbs, other content types', async () => {
    const s = await start();
    const get = await fetch(s.url);
    expect(get.status).toBe(405);
    const text = await post(s.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' }, 'text/plain');
    expect(text.status).toBe(415);
    expect(s.stats().httpOutcomes.http_4xx).toBe(2);
  });
});

describe('batches and the simple methods', () => {
  it('answers a batch in order, leaves notifications out, and counts each call', async () => {
    const s = await start();
    const wallet = s.world.addresses(0, 1)[0]!;
    const { status, text } = await post(s.url, [
      { jsonrpc: '2.0', id: 1, method: 'getSlot', params: [{ commitment: 'processed' }] },
      { jsonrpc: '2.0', method: 'getHealth' },
      { jsonrpc: '2.0', id: 'b', method: 'getBalance', params: [wallet, { commitment: 'processed' }] },
      { jsonrpc: '2.0', id: 3, method: 'nope' },
    ]);
    expect(status).toBe(200);
    const replies = JSON.parse(text) as JsonRpcReply[];
    expect(replies.map((r) => r.id)).toEqual([1, 'b', 3]);
    expect(replies[0]!.result).toBe(s.world.slot());
    expect(replies[2]!.error?.code).toBe(-32601);
    const empty = await post(s.url, []);
    expect(empty).toMatchObject({ status: 200, text: '' });
    const stats = s.stats();
    expect(stats.httpRequests).toBe(2);
    expect(stats.methods).toEqual({ getSlot: { ok: 1 }, getHealth: { ok: 1 }, getBalance: { ok: 1 }, '<unknown>': { rpc_error: 1 } });
  });

  it('answers getBalance, getSlot, getHealth and getVersion through kit', async () => {
    const s = await start();
    const wallet = addressOf(new Uint8Array(32).fill(5));
    s.world.addWallet(wallet, 123_456_789n);
    const rpc = createSolanaRpc(s.url);
    const balance = await rpc.getBalance(address(wallet), { commitment: 'confirmed' }).send();
    expect(balance.value).toBe(123_456_789n);
    expect(balance.context.slot).toBe(BigInt(s.world.slot() - 1));
    expect(await rpc.getSlot({ commitment: 'finalized' }).send()).toBe(BigInt(s.world.slot() - 32));
    expect(await rpc.getHealth().send()).toBe('ok');
    const version = await rpc.getVersion().send();
    expect(version['solana-core']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(version['feature-set'])).toBeGreaterThan(0);
    expect((await call(s.url, 'getHealth', [1])).error?.message).toBe('Invalid parameters: No parameters were expected');
  });
});

describe('provider behaviour', () => {
  it('answers 429 with Retry-After over the rate limit, and kit exposes status and headers', async () => {
    const s = await start({ knobs: { rateLimitRps: 2 } });
    const rpc = createSolanaRpc(s.url);
    await rpc.getSlot().send();
    await rpc.getHealth().send();
    const error = await rejection(rpc.getVersion().send());
    expect(isSolanaError(error, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)).toBe(true);
    const context = (error as { context: { statusCode: number; headers: Headers } }).context;
    expect(context.statusCode).toBe(429);
    expect(context.headers.get('retry-after')).toBe('1');

    const raw = await post(s.url, { jsonrpc: '2.0', id: 5, method: 'getSlot' });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(JSON.parse(raw.text)).toMatchObject({ jsonrpc: '2.0', error: { code: 429 }, id: 5 });

    s.setKnobs({ retryAfterSeconds: 7 });
    expect((await post(s.url, { jsonrpc: '2.0', id: 6, method: 'getSlot' })).headers.get('retry-after')).toBe('7');
    const stats = s.stats();
    expect(stats.outcomes.http_429).toBe(3);
    expect(stats.methods.getVersion).toEqual({ http_429: 1 });
    expect(stats.arrivals.filter((a) => a.outcome === 'http_429')).toHaveLength(3);
  });

  it('models a token-bucket provider with rateLimitBurst: a burst, then the refill rate', () => {
    const provider = new Provider('bucket', { rateLimitRps: 10, rateLimitBurst: 5 });
    for (let i = 0; i < 5; i++) expect(provider.admit(0)).toBeNull();
    expect(provider.admit(0)).toBe(1);
    expect(provider.admit(100)).toBeNull(); // 100 ms refill one token at 10/s
    expect(provider.admit(150)).toBe(1);
    expect(provider.admit(10_000)).toBeNull(); // refilled to the burst, never above it
    for (let i = 0; i < 4; i++) expect(provider.admit(10_000)).toBeNull();
    expect(provider.admit(10_000)).toBe(1);
    // 0 (the default) is the strict sliding window: 10 in any second, whatever came before.
    const strict = new Provider('window', { rateLimitRps: 10 });
    for (let i = 0; i < 10; i++) expect(strict.admit(i * 10)).toBeNull();
    expect(strict.admit(999)).toBe(1);
    expect(strict.admit(1000)).toBeNull();
  });

  it('answers 500 or 503 at errorRate 1, and recovers when the knob drops', async () => {
    const s = await start({ knobs: { errorRate: 1 } });
    const rpc = createSolanaRpc(s.url);
    const error = await rejection(rpc.getSlot().send());
    expect(isSolanaError(error, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)).toBe(true);
    expect([500, 503]).toContain((error as { context: { statusCode: number } }).context.statusCode);
    s.setKnobs({ errorRate: 0 });
    expect(typeof (await rpc.getSlot().send())).toBe('bigint');
    expect(s.stats().outcomes).toEqual({ http_5xx: 1, ok: 1 });
  });

  it('hangs requests at hangRate 1 until the client aborts, and stop() still closes', async () => {
    const s = await start({ knobs: { hangRate: 1 } });
    const rpc = createSolanaRpc(s.url);
    const error = await rejection(rpc.getSlot().send({ abortSignal: AbortSignal.timeout(300) }));
    expect((error as Error).name).toMatch(/AbortError|TimeoutError/);
    // A second hung request is still open when the simulator stops.
    const pending = fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"getSlot"}' });
    await expect.poll(() => s.stats().outcomes.hung).toBe(2);
    await s.stop();
    await expect(pending).rejects.toThrow();
  });

  it('answers 200 with a broken body at malformedRate 1', async () => {
    const s = await start({ knobs: { malformedRate: 1 } });
    const error = await rejection(createSolanaRpc(s.url).getMultipleAccounts(s.world.addresses(0, 3).map((a) => address(a))).send());
    expect(error).toBeInstanceOf(SyntaxError);
    const raw = await post(s.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' });
    expect(raw.status).toBe(200);
    expect(() => JSON.parse(raw.text)).toThrow();
    expect(s.stats().outcomes.malformed).toBe(2);
  });

  it('tells getMultipleAccounts lies at the lie rates: a wrong count, bad lamports, a stale slot', async () => {
    const s = await start({ wallets: 5, knobs: { wrongCountRate: 1 } });
    s.world.advance(10);
    const rpc = createSolanaRpc(s.url);
    const keys = s.world.addresses(0, 3).map((a) => address(a));
    const ask = (minContextSlot?: bigint) => rpc.getMultipleAccounts(keys, { commitment: 'confirmed', minContextSlot }).send();
    expect((await ask()).value).toHaveLength(2);

    s.setKnobs({ wrongCountRate: 0, negativeLamportsRate: 1 });
    const negative = (await ask()).value.find((a) => a !== null)!;
    expect(negative.lamports < 0n).toBe(true);

    s.setKnobs({ negativeLamportsRate: 0, stringLamportsRate: 1 });
    const text = (await ask()).value.find((a) => a !== null)!;
    expect(typeof text.lamports).toBe('string');
    expect(BigInt(text.lamports as unknown as string) > 0n).toBe(true);

    // A lagging node that ignores minContextSlot answers from an older bank instead of refusing.
    s.setKnobs({ stringLamportsRate: 0, staleSlotRate: 1 });
    const asked = BigInt(s.world.slot() - 1);
    const stale = await ask(asked);
    expect(stale.context.slot).toBe(asked - 1n);
    expect(stale.value.map((a) => a?.lamports ?? null)).toEqual(keys.map((k) => s.world.balanceAt(k, asked - 1n)));

    // Other methods never lie; an honest answer again once the rates drop.
    expect(typeof (await rpc.getSlot().send())).toBe('bigint');
    s.setKnobs({ staleSlotRate: 0 });
    expect((await ask()).value).toHaveLength(3);
    expect(s.stats().methods).toEqual({ getMultipleAccounts: { lie: 4, ok: 1 }, getSlot: { ok: 1 } });
    expect(() => s.setKnobs({ wrongCountRate: 0.6, staleSlotRate: 0.6 })).toThrow(/must not exceed 1/);
  });

  it('answers errorRate faults with errorStatus when set (e.g. 408, 425), counted as 4xx', async () => {
    const s = await start({ knobs: { errorRate: 1, errorStatus: 425 } });
    const raw = await post(s.url, { jsonrpc: '2.0', id: 1, method: 'getSlot' });
    expect(raw).toMatchObject({ status: 425, text: 'Too Early\n' });
    s.setKnobs({ errorStatus: 408 });
    expect((await post(s.url, { jsonrpc: '2.0', id: 2, method: 'getSlot' })).status).toBe(408);
    expect(s.stats().outcomes.http_4xx).toBe(2);
    expect(() => s.setKnobs({ errorStatus: 200 })).toThrow(/errorStatus must be 0 or an HTTP status from 400 to 599/);
  });

  it("quotes the request's path and query in a JSON-RPC error at echoErrorRate 1, with echoErrorCode's code", async () => {
    const s = await start({ knobs: { echoErrorRate: 1 } });
    const raw = await post(`${s.url}/v2/some-key?api-key=some-key`, { jsonrpc: '2.0', id: 7, method: 'getSlot' });
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.text)).toEqual({ jsonrpc: '2.0', error: { code: -32603, message: 'upstream request failed for /v2/some-key?api-key=some-key' }, id: 7 });
    s.setKnobs({ echoErrorCode: 32602 });
    expect(JSON.parse((await post(s.url, { jsonrpc: '2.0', id: 8, method: 'getSlot' })).text).error.code).toBe(-32602);
    expect(() => s.setKnobs({ echoErrorCode: 1 })).toThrow(/echoErrorCode must be one of 32602, 32603/);
    expect(() => s.setKnobs({ errorRate: 0.5 })).toThrow(/must not exceed 1/);
  });

  it('requires Basic authorization when started with basicAuth: 401 without it or with the wrong one', async () => {
    const s = await start({ basicAuth: { username: 'u', password: 'p4ss' } });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot' });
    const ask = (authorization?: string) =>
      fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization && { authorization }) }, body });
    const refused = await ask();
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="rpc"');
    expect((await ask(`Basic ${Buffer.from('u:wrong').toString('base64')}`)).status).toBe(401);
    const ok = await ask(`Basic ${Buffer.from('u:p4ss').toString('base64')}`);
    expect(ok.status).toBe(200);
    expect(typeof (await ok.json()).result).toBe('number');
  });

  it('rejects bad knobs with a message naming the knob, changing nothing', async () => {
    const s = await start();
    const control = simulatorControl(s.url);
    await expect(control.setKnobs({ errorRate: 2 })).rejects.toThrow(/errorRate must be a number from 0 to 1/);
    await expect(control.setKnobs({ bogus: 1 } as never)).rejects.toThrow(/unknown knob "bogus"/);
    await expect(control.setKnobs({ hangRate: 0.6, errorRate: 0.6 })).rejects.toThrow(/must not exceed 1/);
    expect(await control.knobs()).toEqual(s.knobs());
    expect(s.knobs().errorRate).toBe(0);
    expect((await control.setKnobs({ latencyMs: 5, jitterMs: 2 })).latencyMs).toBe(5);
  });
});

describe('counters', () => {
  it('count calls by method and outcome, HTTP requests, and keep arrivals keyed by question', async () => {
    const s = await start();
    const wallet = s.world.addresses(0, 1)[0]!;
    await call(s.url, 'getBalance', [wallet], 1);
    await call(s.url, 'getBalance', [wallet], 2); // same question, new id: same key
    await call(s.url, 'getBalance', ['abc'], 3);
    await post(s.url, 'not json');
    const control = simulatorControl(s.url);
    const stats = await control.stats();
    expect(stats.httpRequests).toBe(4);
    expect(stats.httpOutcomes).toEqual({ ok: 2, rpc_error: 2 });
    expect(stats.outcomes).toEqual({ ok: 2, rpc_error: 2 });
    expect(stats.methods).toEqual({ getBalance: { ok: 2, rpc_error: 1 }, '<invalid>': { rpc_error: 1 } });
    expect(stats.arrivals).toHaveLength(4);
    const [a, b, c] = stats.arrivals;
    expect(a!.key).toBe(b!.key);
    expect(c!.key).not.toBe(a!.key);
    expect(stats.peakRequestsPerSecond).toBe(peakInWindow(stats.arrivals.map((x) => x.at), 1000));
    expect(stats.peakRequestsPerSecond).toBeGreaterThanOrEqual(1);
    // Control endpoints are not traffic.
    expect((await control.stats({ arrivals: false })).httpRequests).toBe(4);
    await control.resetStats();
    expect(s.stats()).toMatchObject({ httpRequests: 0, outcomes: {}, methods: {}, arrivals: [] });
  });

  it('records the balances it served, per address and slot, and nothing it refused, garbled, lied about or held back', async () => {
    const s = await start({ recordReads: true });
    const [a, b, c] = s.world.addresses(0, 3);
    const control = simulatorControl(s.url);
    await call(s.url, 'getMultipleAccounts', [[a, b], { commitment: 'processed' }]);
    s.world.advance(2);
    await call(s.url, 'getBalance', [a, { commitment: 'processed' }]);
    await call(s.url, 'getBalance', [a, { commitment: 'processed' }]);
    await post(s.url, { jsonrpc: '2.0', method: 'getBalance', params: [c] }); // a notification gets no answer
    s.setKnobs({ malformedRate: 1 });
    await post(s.url, { jsonrpc: '2.0', id: 1, method: 'getBalance', params: [c] });
    s.setKnobs({ malformedRate: 0, wrongCountRate: 1 });
    await call(s.url, 'getMultipleAccounts', [[c]]);
    s.setKnobs({ wrongCountRate: 0, errorRate: 1 });
    await post(s.url, { jsonrpc: '2.0', id: 1, method: 'getBalance', params: [c] });
    s.setKnobs({ errorRate: 0, hangRate: 1 });
    await expect(fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getBalance', params: [c] }), signal: AbortSignal.timeout(200) })).rejects.toThrow();
    const expected = new Map([
      [a!, new Map([[s.world.slot() - 2, 1], [s.world.slot(), 2]])],
      [b!, new Map([[s.world.slot() - 2, 1]])],
    ]);
    expect(s.reads()).toEqual(expected);
    expect(await control.reads()).toEqual(expected);
    // A stats reset starts a new measurement of traffic; what was served stays on record.
    await control.resetStats();
    expect(s.reads()).toEqual(expected);
  });

  it('refuses GET /__sim/reads unless started with recordReads', async () => {
    const s = await start();
    await expect(simulatorControl(s.url).reads()).rejects.toMatchObject({ status: 400, message: expect.stringContaining('recordReads') });
  });

  it('peakInWindow finds the busiest second', () => {
    expect(peakInWindow([0, 10, 20, 1005, 1010, 1015, 1020], 1000)).toBe(4);
    expect(peakInWindow([0, 1000, 2000], 1000)).toBe(1);
    expect(peakInWindow([], 1000)).toBe(0);
  });
});

describe('the world', () => {
  it('knows the true balance at a past slot after changes, over HTTP too', async () => {
    const s = await start({ wallets: 20, busyFraction: 1, busyChangeRate: 0.5 });
    const rpc = createSolanaRpc(s.url);
    const addresses = s.world.addresses(0, 20).map((a) => address(a));
    const before = await rpc.getMultipleAccounts(addresses, { encoding: 'base64', commitment: 'processed' }).send();
    const past = Number(before.context.slot);
    const control = simulatorControl(s.url);
    const now = await control.advance(30);
    expect(now).toBe(past + 30);
    let changed = 0;
    for (const [i, a] of addresses.entries()) {
      const then = before.value[i]?.lamports ?? null;
      expect(await control.truth(a, past)).toBe(then);
      if ((await control.truth(a)) !== then) changed++;
    }
    expect(changed).toBeGreaterThan(10);
    await expect(control.truth(addresses[0]!, now + 1)).rejects.toThrow(/has not been reached/);
  });

  it('changes busy wallets and leaves the rest alone when their rate is 0', () => {
    const world = new World({ wallets: 1000, seed: 'skew', slotMs: 0, busyFraction: 0.02, busyChangeRate: 0.5, idleChangeRate: 0 });
    const start = world.slot();
    const addresses = world.addresses(0, 1000);
    world.advance(50);
    const changed = addresses.filter((a) => world.balanceAt(a, start) !== world.balanceAt(a, start + 50));
    expect(changed).toHaveLength(20);
  });

  it('lists its busy wallets and every change between two slots, oldest first per wallet', () => {
    const world = new World({ wallets: 500, seed: 'listing', slotMs: 0, busyFraction: 0.1, busyChangeRate: 0.3, idleChangeRate: 0.001 });
    expect(world.busyAddresses()).toHaveLength(50);
    const start = world.slot();
    world.advance(40);
    const changes = world.changesBetween(start + 10, start + 30);
    expect(changes.length).toBeGreaterThan(0);
    const byWallet = new Map<string, { slot: number; lamports: bigint }[]>();
    for (const change of changes) {
      expect(change.slot).toBeGreaterThan(start + 10);
      expect(change.slot).toBeLessThanOrEqual(start + 30);
      byWallet.set(change.address, [...(byWallet.get(change.address) ?? []), change]);
    }
    for (const [wallet, list] of byWallet) {
      for (const [i, change] of list.entries()) {
        const next = list[i + 1];
        if (next) expect(next.slot).toBeGreaterThanOrEqual(change.slot);
        // A wallet can change twice in one slot; the balance at that slot is the last one.
        if (!next || next.slot > change.slot) expect(world.balanceAt(wallet, change.slot)).toBe(change.lamports === 0n ? null : change.lamports);
      }
    }
    // Nothing is left out: a wallet not listed kept its balance through the range.
    for (const a of world.addresses(0, 500)) {
      if (!byWallet.has(a)) expect(world.balanceAt(a, start + 30)).toBe(world.balanceAt(a, start + 10));
    }
  });

  it('is the same world for the same seed, and another for another seed', () => {
    const make = (seed: string | number) => new World({ wallets: 300, seed, slotMs: 0 });
    const [a, b, c] = [make(42), make('42'), make(43)];
    expect(a.addresses(0, 300)).toEqual(b.addresses(0, 300));
    expect(a.addresses(0, 300)).not.toEqual(c.addresses(0, 300));
    a.advance(500);
    b.advance(500);
    expect(a.changeCount).toBeGreaterThan(0);
    expect(a.changeCount).toBe(b.changeCount);
    for (const wallet of a.addresses(0, 300)) {
      for (const slot of [a.startSlot, a.startSlot + 250, a.startSlot + 500]) expect(a.balanceAt(wallet, slot)).toBe(b.balanceAt(wallet, slot));
    }
    // Some wallets do not exist and at least one holds more than 2^53 lamports.
    const balances = a.addresses(0, 300).map((w) => a.balanceAt(w, a.startSlot));
    expect(balances).toContain(null);
    expect(balances.some((x) => x !== null && x > 2n ** 53n)).toBe(true);
  });

  it('follows the wall clock when slotMs is set', () => {
    let now = 1_000_000;
    const world = new World({ wallets: 10, slotMs: 400, startSlot: 1000, now: () => now });
    expect(world.slot()).toBe(1000);
    now += 4_000;
    expect(world.slot()).toBe(1010);
    expect(world.advance(5)).toBe(1015);
    now += 400;
    expect(world.slot()).toBe(1016);
  });

  it('holds a million wallets in compact memory and finds each by address', () => {
    const before = process.memoryUsage();
    const world = new World({ wallets: 1_000_000, seed: 'million', slotMs: 0 });
    const after = process.memoryUsage();
    const grownMb = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1e6;
    expect(grownMb).toBeLessThan(150);
    const last = world.addresses(999_999, 1)[0]!;
    expect(world.has(last)).toBe(true);
    world.advance(10);
    expect(world.changeCount).toBeGreaterThan(0);
  });

  it('manages wallets through the control endpoints, all or nothing', async () => {
    const s = await start({ wallets: 5 });
    const control = simulatorControl(s.url);
    const fresh = addressOf(new Uint8Array(32).fill(9));
    expect(await control.addWallets([{ address: fresh, lamports: 2n ** 60n }])).toBe(6);
    await expect(control.addWallets([{ address: addressOf(new Uint8Array(32).fill(10)), lamports: 1n }, { address: fresh, lamports: 1n }])).rejects.toThrow(
      /already exists/,
    );
    expect((await control.wallets(0, 100)).total).toBe(6);
    expect((await control.wallets(5, 10)).addresses).toEqual([fresh]);
    const applies = await control.setBalance(fresh, null);
    expect(applies).toBe((await control.slot()).slot + 1);
    expect(await control.truth(fresh)).toBe(2n ** 60n);
    await control.advance(1, { changes: false });
    expect(await control.truth(fresh)).toBeNull();
    expect(await control.slot()).toEqual({ slot: applies, confirmed: applies - 1, finalized: applies - 32 });
    await expect(control.setBalance('not-base58-0OIl', 1n)).rejects.toThrow(/invalid address/);
  });
});

describe('the command line', () => {
  const cli = (args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', 'tools/simulator/main.ts', ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });

  it('refuses a bad flag value with a message naming the flag', async () => {
    const child = cli(['--wallets', 'many']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(stderr).toContain('--wallets must be a non-negative integer, got "many"');
  });

  it('serves on the port it prints and stops cleanly on SIGTERM', async () => {
    const child = cli(['--port', '0', '--wallets', '10', '--seed', 'cli']);
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('exit', () => reject(new Error(`exited early: ${stdout}`)));
    });
    expect(await createSolanaRpc(url).getHealth().send()).toBe('ok');
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
  });
});
