// Redaction: what a log line or a Temporal failure keeps of an RPC URL, including API keys that
// some providers carry in a hostname label (`<key>.provider.example`), and errors redacted in
// place with their whole cause chain.

import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { log, redact, registerSecrets, setLogFormat, setLogSink } from '../src/log';
import { redactError, redactText, redactUrl, urlSecrets } from '../src/redact';

const HOST_KEY = 'abc123def456';
const HOST_KEY_URL = `https://${HOST_KEY}.solana-mainnet.quiknode.pro/8f2e4c6a0b1d3f5e7a9c/`;

describe('a key in a hostname label', () => {
  const restore: (() => void)[] = [];
  afterEach(() => {
    for (const r of restore.splice(0).reverse()) r();
  });

  it('is hidden in a redacted URL, the provider name kept', () => {
    expect(redactUrl(HOST_KEY_URL)).toBe('https://***.solana-mainnet.quiknode.pro/***');
    expect(redactUrl('https://0f8fad5b-d9cb-469f-a165-70867728950e.rpc.example:8443/')).toBe('https://***.rpc.example:8443');
    expect(redactText(`fetch ${HOST_KEY_URL} failed`)).toBe('fetch https://***.solana-mainnet.quiknode.pro/*** failed');
  });

  it('keeps host names that are names, and addresses', () => {
    for (const url of [
      'https://solana-mainnet.g.alchemy.com/v2/x',
      'https://eu-central-1.rpc.example.com/',
      'https://mainnet.helius-rpc.com/?api-key=x',
      'http://127.0.0.1:8899/',
      'http://[::1]:8899/',
    ]) {
      const url0 = new URL(url);
      expect(redactUrl(url)).toBe(`${url0.protocol}//${url0.host}${url0.pathname !== '/' || url0.search ? '/***' : ''}`);
    }
  });

  it('is registered as a secret, so a log hides it outside a URL too (a DNS error names the bare host)', () => {
    expect(urlSecrets(HOST_KEY_URL)).toEqual([HOST_KEY_URL, HOST_KEY, '8f2e4c6a0b1d3f5e7a9c']);
    const lines: string[] = [];
    restore.push(setLogSink((l) => lines.push(l)), setLogFormat('json'));
    registerSecrets(...urlSecrets(HOST_KEY_URL));
    log.warn(`RPC unreachable: getaddrinfo ENOTFOUND ${HOST_KEY}.solana-mainnet.quiknode.pro`, { rpcUrl: HOST_KEY_URL });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(HOST_KEY);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: 'RPC unreachable: getaddrinfo ENOTFOUND ***.solana-mainnet.quiknode.pro',
      rpcUrl: 'https://***.solana-mainnet.quiknode.pro/***',
    });
  });
});

describe('credentials in the userinfo', () => {
  it('are secrets: the password, and the Basic authorization they make', () => {
    const url = 'https://tracker:p4ss-W0rd-9@rpc.example.com/';
    expect(urlSecrets(url)).toEqual([url, 'p4ss-W0rd-9', Buffer.from('tracker:p4ss-W0rd-9').toString('base64')]);
    expect(redactUrl(url)).toBe('https://rpc.example.com/***');
    // A key as the user name is one too; a plain user name is not.
    const keyAsUser = 'https://9c4e1f7a2b5d@rpc.example.com/';
    expect(urlSecrets(keyAsUser)).toEqual([keyAsUser, Buffer.from('9c4e1f7a2b5d:').toString('base64'), '9c4e1f7a2b5d']);
  });
});

describe('redactError', () => {
  it('redacts message, stack, string details and every cause, keeping class and retry fields', () => {
    const KEY = 'Err-Key-0a1b2c3d4e5f6789';
    registerSecrets(KEY);
    const root = new TypeError(`Request cannot be constructed from a URL that includes credentials: https://u:${KEY}@rpc.example.com/`);
    const middle = new Error(`provider said ${KEY}`, { cause: root });
    const failure = ApplicationFailure.create({ type: 'RpcUnavailable', message: `RPC error for /v2/${KEY}`, details: [`key ${KEY}`, 7], nextRetryDelay: 5_000, cause: middle });
    // A cycle must not loop.
    (root as { cause?: unknown }).cause = middle;
    const out = redactError(failure, redact);
    expect(out).toBe(failure);
    expect(out).toBeInstanceOf(ApplicationFailure);
    expect(out).toMatchObject({ type: 'RpcUnavailable', nextRetryDelay: 5_000, message: 'RPC error for /v2/***', details: ['key ***', 7] });
    expect(middle.message).toBe('provider said ***');
    expect(root.message).toBe('Request cannot be constructed from a URL that includes credentials: https://rpc.example.com/***');
    for (const e of [out, middle, root]) expect(e.stack).not.toContain(KEY);
  });

  it('redacts an error whose message is a getter (a DOMException)', () => {
    const error = new DOMException('timed out calling https://rpc.example.com/v2/Dom-Key-0123456789abcdef', 'TimeoutError');
    redactError(error, redact);
    expect(error.message).toBe('timed out calling https://rpc.example.com/***');
    expect(error.name).toBe('TimeoutError');
  });
});
