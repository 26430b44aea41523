// The balance reads' transport: kit's RPC (its typed methods, request messages and JSON-RPC
// error codes) over node:http with keep-alive sockets, and an answer parsed by JSON.parse
// except where that would round a u64 this service reads.
//
// Why not kit's default (fetch, then its BigInt-preserving parser and response walk): measured
// on a 100-account getMultipleAccounts answer, it costs 2.2 ms of CPU per call, this 0.24 ms.
// Most of it is the parser (a JS loop over every character, 1.3 ms for 13 KB) and the
// response walk that turns every number into a bigint; fetch's WHATWG layers the rest.

import http from 'node:http';
import https from 'node:https';
import { createJsonRpcApi, createRpc, getSolanaErrorFromJsonRpcError, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR, SolanaError, type SolanaRpcApi } from '@solana/kit';
import { parseJsonWithBigInts, stringifyJsonWithBigInts } from '@solana/rpc-spec-types';

/** No answer of ours comes near it (100 accounts with a token slice: ~35 KB); a larger one is refused. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * An integer of 16 or more digits where a u64 the service reads sits (lamports, slot): JSON.parse
 * rounds integers past 2^53, and every integer of 15 digits or fewer is below it. Such an answer
 * (a wallet of over 10^15 lamports) goes through kit's exact parser instead. A match inside a
 * string only costs that speed; an integer this misses (a key spelled with escapes) arrives as an
 * unsafe number, which the reader refuses as malformed rather than store rounded.
 */
const LONG_U64 = /"(?:lamports|slot)"\s*:\s*-?\d{16}/;

export function parseRpcJson(text: string): unknown {
  return LONG_U64.test(text) ? parseJsonWithBigInts(text) : JSON.parse(text);
}

export interface HttpTarget {
  url: string;
  headers: { authorization?: string };
}

/**
 * A 3xx answer. Not followed: every call would then cost the budget two requests, and the
 * provider's other address belongs in SOLANA_RPC_URL. Where it points is not said (a Location
 * may carry the key).
 */
export class RpcRedirect extends Error {
  constructor(readonly statusCode: number) {
    super(`SOLANA_RPC_URL answered with a redirect (HTTP ${statusCode}); set it to the address it redirects to`);
    this.name = 'RpcRedirect';
  }
}

/** Sent with every call, as fetch sends its own: some providers' firewalls refuse a request without one. */
const USER_AGENT = 'solana-balance-tracker';

/** http or https, by the URL's parsed scheme (which may be written in capitals). */
const protocolOf = (url: string) => (new URL(url).protocol === 'https:' ? https : http);

function post(target: HttpTarget, client: typeof http | typeof https, agent: http.Agent, body: string, signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    // An aborted request fails with node's bare AbortError; the signal's reason says why (a
    // TimeoutError from AbortSignal.timeout, which the reader counts as a timeout).
    const fail = (error: unknown) => reject(signal?.aborted ? signal.reason : error);
    const req = client.request(
      target.url,
      {
        method: 'POST',
        agent,
        signal,
        headers: { ...target.headers, accept: 'application/json', 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'user-agent': USER_AGENT },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status <= 399) {
          res.resume();
          reject(new RpcRedirect(status));
          return;
        }
        if (status < 200 || status > 299) {
          res.resume();
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
          reject(new SolanaError(SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR, { headers, message: res.statusMessage ?? '', statusCode: status }));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            reject(new SyntaxError(`RPC answer larger than ${MAX_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * kit's Solana RPC over this transport. Its answers are parseRpcJson's: integers are numbers,
 * or bigints when one may be past 2^53 (read them with u64.ts's exactU64), not kit's bigints throughout.
 */
export function createLeanRpc(target: HttpTarget) {
  // Sockets kept for the next call, closed after 4 s unused (as fetch's default does): an idle
  // connection a provider or a NAT dropped silently is not reused.
  const client = protocolOf(target.url);
  const agent = new client.Agent({ keepAlive: true, timeout: 4_000 });
  return createRpc({
    api: createJsonRpcApi<SolanaRpcApi>({
      responseTransformer: (response: unknown) => {
        const { error, result } = (response ?? {}) as { error?: unknown; result?: unknown };
        if (error !== undefined) throw getSolanaErrorFromJsonRpcError(error);
        return result;
      },
    }),
    transport: async <T>({ payload, signal }: { payload: unknown; signal?: AbortSignal }): Promise<T> =>
      parseRpcJson(await post(target, client, agent, stringifyJsonWithBigInts(payload), signal)) as T,
  });
}
