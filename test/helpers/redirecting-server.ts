// A front that answers every request with a redirect, counting them: for the transport's refusal
// to follow one (test/rpc.test.ts, test/cluster.test.ts).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RedirectingServer {
  url: string;
  /** Requests it answered. */
  requests(): number;
  close(): Promise<void>;
}

export async function startRedirectingServer(status: number, location: string): Promise<RedirectingServer> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(status, { location }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
