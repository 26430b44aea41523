// The one place an RPC client is made from the configured URL.

import { createSolanaRpc } from '@solana/kit';
import { basicCredentials } from '../redact';

/**
 * The URL fetch is given, and the headers that go with it. fetch refuses a URL with userinfo
 * (`https://user:key@host/`, throwing an error that quotes it whole), so the credentials travel
 * as the `Authorization: Basic` header such a URL means.
 */
function transportOf(raw: string): { url: string; headers: { authorization?: string } } {
  const url = new URL(raw);
  const credentials = basicCredentials(url);
  if (credentials === null) return { url: raw, headers: {} };
  url.username = '';
  url.password = '';
  return { url: url.href, headers: { authorization: `Basic ${credentials}` } };
}

export function createRpc(raw: string) {
  const transport = transportOf(raw);
  return createSolanaRpc(transport.url, { headers: transport.headers });
}
