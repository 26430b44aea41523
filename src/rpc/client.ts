// The one place an RPC client is made from the configured URL: kit's default for the few calls
// of a worker's start, the lean transport (http-transport.ts) for the balance reads.

import { createSolanaRpc } from '@solana/kit';
import { basicCredentials } from '../redact';
import type { HttpTarget } from './http-transport';

/**
 * The URL a transport is given (kit's fetch, or http-transport.ts), and the headers that go with
 * it. fetch refuses a URL with userinfo (`https://user:key@host/`, throwing an error that quotes
 * it whole), so the credentials travel as the `Authorization: Basic` header such a URL means.
 */
export function rpcTarget(raw: string): HttpTarget {
  const url = new URL(raw);
  const credentials = basicCredentials(url);
  if (credentials === null) return { url: raw, headers: {} };
  url.username = '';
  url.password = '';
  return { url: url.href, headers: { authorization: `Basic ${credentials}` } };
}

export function createRpc(raw: string) {
  const target = rpcTarget(raw);
  return createSolanaRpc(target.url, { headers: target.headers });
}
