// The RPC reader against the simulator: how each provider answer becomes a failure kind and a
// Temporal retry decision (Retry-After capped, 408/425 transient), credentials in the URL's
// userinfo sent as Basic authorization, and a provider's error text kept readable for redaction.

import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { toApplicationFailure } from '../activities/check-batch';
import { redactActivityFailures } from '../src/failure-redaction';
import { registerSecrets } from '../src/log';
import { urlSecrets } from '../src/redact';
import { createBalanceReader, parseRetryAfter, RpcFailure } from '../src/rpc/balances';
import { parseRpcJson, RpcRedirect } from '../src/rpc/http-transport';
import { readTrackedMints } from '../src/rpc/mints';
import { exactU64, U64_MAX } from '../src/u64';
import { testAddresses } from './helpers/addresses';
import { type RedirectingServer, startRedirectingServer } from './helpers/redirecting-server';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../tools/simulator/server';

const MINUTE = 60_000;
const KEY = 'Rpc-Test-Key-5f0c2a9e7b';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    ['2', 2_000],
    ['0', 0],
    ['1.5', 1_500],
    [' 7 ', 7_000],
    ['60', MINUTE],
  ])('reads delay-seconds %j as %d ms', (value, ms) => {
    expect(parseRetryAfter(value, MINUTE, now)).toBe(ms);
  });

  it('reads an HTTP date as the time until it, and a past one as 0', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', MINUTE, now)).toBe(5_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', MINUTE, now)).toBe(0);
  });

  it.each([
    ['86400', 'a day'],
    ['3600', 'an hour'],
    ['Wed, 21 Oct 2099 07:28:00 GMT', 'a far-future date'],
  ])('caps %j (%s) at the maximum', (value) => {
    expect(parseRetryAfter(value, MINUTE, now)).toBe(MINUTE);
  });

  it.each([null, '', '  ', '-5', '1e9', 'NaN', 'Infinity', '0x10', '+5', '5s', 'soon', `1${'0'.repeat(400)}`, 'Mon, 99 Foo 2026'])(
    'treats %j as absent',
    (value) => {
      expect(parseRetryAfter(value, MINUTE, now)).toBeUndefined();
    },
  );
});

describe('parseRpcJson', () => {
  it('keeps every u64 the reader reads exact: JSON.parse below 2^53, exact digits past it', () => {
    type Answer = { context: { slot: unknown }; value: { lamports: unknown }[] };
    const small = parseRpcJson('{"context":{"slot":312345678},"value":[{"lamports":1000000000,"rentEpoch":18446744073709551615}]}') as Answer;
    expect(exactU64(small.context.slot)).toBe(312345678n);
    expect(exactU64(small.value[0]!.lamports)).toBe(1000000000n);
    const big = parseRpcJson('{"value":[{"lamports" : 18446744073709551615},{"lamports":9007199254740993}]}') as Answer;
    expect(big.value.map((a) => exactU64(a.lamports))).toEqual([U64_MAX, 2n ** 53n + 1n]);
  });

  it('never hands back a rounded u64: one JSON.parse had to round is refused', () => {
    // A key spelled with an escape is not seen as lamports before parsing: the value arrives rounded, and is refused.
    const escaped = parseRpcJson('{"lam\\u0070orts":9007199254740993}') as { lamports: unknown };
    expect(escaped.lamports).toBe(9007199254740992);
    expect(exactU64(escaped.lamports)).toBeUndefined();
    expect(exactU64(-1)).toBeUndefined();
    expect(exactU64(1.5)).toBeUndefined();
    expect(exactU64(2n ** 64n)).toBeUndefined();
    expect(exactU64('5')).toBeUndefined();
  });
});

describe('the RPC reader', () => {
  let sim: SimulatorHandle | null = null;
  afterEach(async () => {
    await sim?.stop();
    sim = null;
  });

  async function reader(options: SimulatorOptions, url: (simUrl: string) => string = (u) => u) {
    sim = await startSimulator({ port: 0, slotMs: 0, wallets: 10, seed: 'rpc-test', ...options });
    const addresses = sim.world.addresses(0, 3);
    const read = createBalanceReader({ url: url(sim.url), commitment: 'confirmed', timeoutMs: 5_000, maxRetryAfterMs: MINUTE });
    return { read: () => read(addresses), sim };
  }

  async function failureOf(call: () => Promise<unknown>): Promise<RpcFailure> {
    const error = await call().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(RpcFailure);
    return error as RpcFailure;
  }

  it('reads lamports past 2^53 exactly (u64 max, 2^53 + 1) beside ordinary ones, and the slot', async () => {
    const { sim: s } = await reader({});
    const [whale, odd] = testAddresses(2, 'rpc-exact');
    s.world.addWallet(whale!, U64_MAX);
    s.world.addWallet(odd!, 2n ** 53n + 1n);
    const ordinary = s.world.addresses(0, 1)[0]!;
    const read = createBalanceReader({ url: s.url, commitment: 'processed', timeoutMs: 5_000, maxRetryAfterMs: MINUTE });
    const answer = await read([whale!, odd!, ordinary]);
    expect(answer.balances.map((b) => b.lamports)).toEqual([U64_MAX, 2n ** 53n + 1n, s.world.balanceAt(ordinary, answer.slot) ?? 0n]);
    expect(typeof answer.slot).toBe('bigint');
  });

  it('takes a URL whose scheme is written in capitals: HTTP reads, HTTPS speaks TLS', async () => {
    const { sim: s } = await reader({});
    const read = (url: string) => createBalanceReader({ url, commitment: 'confirmed', timeoutMs: 5_000, maxRetryAfterMs: MINUTE })(s.world.addresses(0, 2));
    expect((await read(s.url.replace('http://', 'HTTP://'))).balances).toHaveLength(2);
    // The simulator speaks plain HTTP, so the TLS handshake fails; node:http would refuse the scheme instead.
    const failure = await failureOf(() => read(s.url.replace('http://', 'HTTPS://')));
    expect(failure.kind).toBe('unavailable');
    expect(failure.message).not.toMatch(/not supported/);
  });

  it("caps a 429's Retry-After of a day at RPC_MAX_RETRY_AFTER in the activity's failure", async () => {
    const { read } = await reader({ knobs: { rateLimitRps: 1, retryAfterSeconds: 86_400 } });
    await read();
    const failure = await failureOf(read);
    expect(failure.kind).toBe('rate_limited');
    expect(failure.retryAfterMs).toBe(MINUTE);
    const applicationFailure = toApplicationFailure(failure);
    expect(applicationFailure.nonRetryable).toBe(false);
    expect(applicationFailure.nextRetryDelay).toBe(MINUTE);
  });

  it.each([408, 425])('treats HTTP %d as transient: retried with the policy backoff', async (status) => {
    const { read } = await reader({ knobs: { errorRate: 1, errorStatus: status } });
    const failure = await failureOf(read);
    expect(failure).toMatchObject({ kind: 'unavailable', message: `RPC asked to try again (HTTP ${status})` });
    expect(toApplicationFailure(failure)).toMatchObject({ nonRetryable: false, type: 'RpcUnavailable' });
  });

  it('counts a call with no answer within RPC_TIMEOUT_MS as timed out, which retries', async () => {
    sim = await startSimulator({ port: 0, slotMs: 0, wallets: 10, seed: 'rpc-test', knobs: { hangRate: 1 } });
    const read = createBalanceReader({ url: sim.url, commitment: 'confirmed', timeoutMs: 200, maxRetryAfterMs: MINUTE });
    const failure = await failureOf(() => read(sim!.world.addresses(0, 2)));
    expect(failure).toMatchObject({ kind: 'timeout', message: 'RPC request timed out' });
    expect(toApplicationFailure(failure)).toMatchObject({ nonRetryable: false, type: 'RpcTimeout' });
  });

  it('still treats HTTP 404 as a request that can never succeed', async () => {
    const { read } = await reader({ knobs: { errorRate: 1, errorStatus: 404 } });
    const failure = await failureOf(read);
    expect(failure.kind).toBe('rejected');
    expect(toApplicationFailure(failure).nonRetryable).toBe(true);
  });

  it('sends the credentials of a URL with userinfo as Basic authorization', async () => {
    const basicAuth = { username: 'tracker', password: KEY };
    const { read, sim: s } = await reader({ basicAuth }, (u) => u.replace('http://', `http://tracker:${KEY}@`));
    const answer = await read();
    expect(answer.balances).toHaveLength(3);
    expect(answer.balances.map((b) => b.lamports)).toEqual(s.world.addresses(0, 3).map((a) => s.world.balanceAt(a, answer.slot) ?? 0n));
  });

  it('is refused (HTTP 401, never retried) without the credentials or with wrong ones', async () => {
    const basicAuth = { username: 'tracker', password: KEY };
    const none = await reader({ basicAuth });
    expect((await failureOf(none.read)).message).toBe('RPC refused the request (HTTP 401)');
    await sim?.stop();
    const wrong = await reader({ basicAuth }, (u) => u.replace('http://', 'http://tracker:not-the-key@'));
    expect(await failureOf(wrong.read)).toMatchObject({ kind: 'rejected', message: 'RPC refused the request (HTTP 401)' });
  });

  it("keeps a provider's error text readable with NODE_ENV=production (so redaction can see a key in it)", async () => {
    const { read } = await reader({ knobs: { echoErrorRate: 1 } }, (u) => `${u}/v2/${KEY}`);
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const failure = await failureOf(read);
      expect(failure.kind).toBe('unavailable');
      // Kit's own message would be its context base64-encoded, where the key is not findable.
      expect(failure.message).toBe(`RPC error: JSON-RPC error -32603: upstream request failed for /v2/${KEY}`);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it.each([false, true])("hands Temporal the provider's error text redacted, through the worker's interceptor (local activity: %s)", async (isLocal) => {
    const { read, sim: s } = await reader({ knobs: { echoErrorRate: 1 } }, (u) => `${u}/v2/${KEY}?api-key=${KEY}`);
    // What createWorkers registers for its RPC URL.
    registerSecrets(...urlSecrets(`${s.url}/v2/${KEY}?api-key=${KEY}`));
    const env = new MockActivityEnvironment({ isLocal }, { interceptors: [redactActivityFailures] });
    // The RPC part of checkBatch: the read, its failure mapped as the activity throws it.
    const thrown = await env
      .run(async () => {
        try {
          await read();
        } catch (error) {
          throw error instanceof RpcFailure ? toApplicationFailure(error) : error;
        }
      })
      .then(() => null, (e: unknown) => e);
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    expect(thrown).toMatchObject({ type: 'RpcUnavailable', nonRetryable: false, message: 'RPC error: JSON-RPC error -32603: upstream request failed for /v2/***?api-key=***' });
    expect((thrown as Error).stack).not.toContain(KEY);
  });
});

describe('a SOLANA_RPC_URL that redirects', () => {
  let sim: SimulatorHandle | null = null;
  let front: RedirectingServer | null = null;
  afterEach(async () => {
    await Promise.all([sim?.stop(), front?.close()]);
    sim = null;
    front = null;
  });

  /** A front answering every request with `status` to the simulator's address, a key in its path. */
  async function redirecting(status: number) {
    sim = await startSimulator({ port: 0, slotMs: 0, wallets: 10, seed: 'rpc-redirect' });
    front = await startRedirectingServer(status, `${sim.url}/${KEY}`);
    return { url: front.url, requests: front.requests, simRequests: () => sim!.stats().httpRequests };
  }

  it.each([301, 307, 308])('fails a balance read on HTTP %d for good, without following it or naming where it points', async (status) => {
    const front = await redirecting(status);
    const read = createBalanceReader({ url: front.url, commitment: 'confirmed', timeoutMs: 5_000, maxRetryAfterMs: MINUTE });
    const error = await read(sim!.world.addresses(0, 2)).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(RpcFailure);
    expect(error).toMatchObject({ kind: 'rejected', message: `SOLANA_RPC_URL answered with a redirect (HTTP ${status}); set it to the address it redirects to` });
    expect((error as Error).message).not.toContain(KEY);
    expect(toApplicationFailure(error as RpcFailure).nonRetryable).toBe(true);
    expect([front.requests(), front.simRequests()]).toEqual([1, 0]);
  });

  it("stops a worker's start at the first answer instead of retrying it", async () => {
    const front = await redirecting(308);
    const started = readTrackedMints({ url: front.url, commitment: 'confirmed', timeoutMs: 5_000 }, [sim!.world.addresses(0, 1)[0]!], { attempts: 3 });
    await expect(started).rejects.toBeInstanceOf(RpcRedirect);
    await expect(started).rejects.toThrow('SOLANA_RPC_URL answered with a redirect (HTTP 308)');
    expect([front.requests(), front.simRequests()]).toEqual([1, 0]);
  });
});

describe("a worker's start, when the RPC cannot answer", () => {
  let sim: SimulatorHandle | null = null;
  afterEach(async () => {
    await sim?.stop();
    sim = null;
  });
  const mint = testAddresses(1, 'start-mint')[0]!;

  it('names no key-like label of the host (node:http names the host; fetch did not)', async () => {
    const label = 'acct9f3k2lmq7zx1'; // as a URL's host comes out: lower case
    const error = await readTrackedMints({ url: `https://${label}.rpc.invalid/`, commitment: 'confirmed', timeoutMs: 5_000 }, [mint], { attempts: 1 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^cannot read the tracked mints from SOLANA_RPC_URL after 1 tries: .*ENOTFOUND/);
    expect(error?.message).not.toContain(label);
  });

  it('says that a call timed out', async () => {
    sim = await startSimulator({ port: 0, slotMs: 0, wallets: 1, seed: 'rpc-start-timeout', knobs: { hangRate: 1 } });
    await expect(readTrackedMints({ url: sim.url, commitment: 'confirmed', timeoutMs: 200 }, [mint], { attempts: 1 })).rejects.toThrow(
      /after 1 tries: .*due to timeout/,
    );
  });
});
