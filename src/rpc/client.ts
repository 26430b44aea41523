// The one place an RPC client is made from the configured URL: the lean transport
// (http-transport.ts), for the balance reads and a worker's start alike, so a URL the start
// accepts is one the reads can use.

import { basicCredentials } from '../redact';
import { createLeanRpc, type HttpTarget } from './http-transport';

/**
 * The URL the transport is given, and the headers that go with it. A URL with userinfo
 * (`https://user:key@host/`) sends its credentials as the `Authorization: Basic` header such a
 * URL means, and the URL without them: no request or error then carries them in the URL.
 */
function rpcTarget(raw: string): HttpTarget {
  const url = new URL(raw);
  const credentials = basicCredentials(url);
  if (credentials === null) return { url: raw, headers: {} };
  url.username = '';
  url.password = '';
  return { url: url.href, headers: { authorization: `Basic ${credentials}` } };
}

/** kit's Solana RPC for the configured URL; see createLeanRpc for how its answers' numbers come out. */
export function createRpc(raw: string) {
  return createLeanRpc(rpcTarget(raw));
}
