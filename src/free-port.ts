// A TCP port free on 127.0.0.1 right now, for servers started on a port of their own choosing
// (the SDK's private metrics exporter, local Temporal and Postgres servers, tests).

import { createServer } from 'node:net';

/** Any free port (the system's pick), or one from `range`; free when asked, not reserved. */
export async function freePort(range?: { min: number; max: number }): Promise<number> {
  if (!range) return listenOn(0);
  for (let attempt = 0; ; attempt++) {
    const candidate = range.min + Math.floor(Math.random() * (range.max - range.min + 1));
    try {
      return await listenOn(candidate);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 100) throw error;
    }
  }
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
