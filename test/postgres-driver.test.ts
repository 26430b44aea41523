// The driver as installed (postgres.js 3.4.9 with patches/postgres+3.4.9.patch) when a connection
// dies under it. Unpatched, a transaction whose connection closed mid-statement threw a TypeError
// from a setImmediate (its own ROLLBACK written to a null socket) and took the worker down; a
// query in flight at the close kept end() waiting forever; a flush cancelled by the close left a
// stale timer that kept every later write on that connection unsent; a reserved connection
// released after it closed was handed out again without a socket.

import { connect as netConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../src/db/client';
import { freshDatabase, type FreshDatabase } from './helpers/database';

/** Resolves to 'timed out' when the promise has not settled within ms. */
function within<T>(ms: number, promise: Promise<T>): Promise<T | 'timed out'> {
  return Promise.race([promise, sleep(ms).then(() => 'timed out' as const)]);
}

/** The code of a rejection, or 'resolved'. */
async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => String((error as { code?: unknown }).code ?? error),
  );
}

describe('postgres.js when a connection dies', () => {
  let db: FreshDatabase;
  let admin: Sql;
  let uncaught: unknown[];
  const record = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    db = await freshDatabase('driver');
    admin = connect(db.url, { max: 1, appName: 'driver-test-admin' });
  });
  afterAll(async () => {
    await admin.end({ timeout: 5 });
    await db.drop();
  });
  beforeEach(() => {
    uncaught = [];
    process.on('uncaughtExceptionMonitor', record);
  });
  afterEach(() => {
    process.off('uncaughtExceptionMonitor', record);
  });

  /** Terminates the backends of `appName` that are inside pg_sleep, once one is. */
  async function killSleeper(appName: string): Promise<void> {
    for (;;) {
      // In the select list, so it runs only for the rows the WHERE kept.
      const killed = await admin<{ killed: boolean }[]>`
        SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
        WHERE application_name = ${appName} AND wait_event = 'PgSleep'`;
      if (killed.some((row) => row.killed)) return;
      await sleep(20);
    }
  }

  it('a transaction whose connection dies mid-statement fails with CONNECTION_CLOSED, and the process and the pool carry on', async () => {
    const sql = connect(db.url, { max: 2, appName: 'driver-test-tx' });
    const tx = failure(sql.begin(async (t) => {
      await t`SELECT 1`;
      await t`SELECT pg_sleep(30)`;
    }));
    await killSleeper('driver-test-tx');
    expect(await tx).toBe('CONNECTION_CLOSED');
    await sleep(100); // the rollback's deferred write, where the TypeError was thrown
    expect(uncaught).toEqual([]);
    expect(await sql<{ n: number }[]>`SELECT 2 AS n`).toEqual([{ n: 2 }]);
    expect(await within(5_000, sql.end())).toBeUndefined();
  });

  it('a query in flight when its connection dies does not keep end() waiting', async () => {
    const sql = connect(db.url, { max: 1, appName: 'driver-test-query' });
    const query = failure(sql`SELECT pg_sleep(30)`.execute());
    await killSleeper('driver-test-query');
    expect(await query).toBe('CONNECTION_CLOSED');
    expect(await within(5_000, sql.end())).toBeUndefined();
  });

  it('a reserved connection that dies and is released late goes back to the pool, which reconnects it', async () => {
    const sql = connect(db.url, { max: 1, appName: 'driver-test-reserve' });
    const reserved = await sql.reserve();
    const sleeping = failure(reserved`SELECT pg_sleep(30)`.execute());
    await killSleeper('driver-test-reserve');
    expect(await sleeping).toBe('CONNECTION_CLOSED');
    reserved.release();
    const after = await Promise.all([1, 2, 3].map((n) => within(5_000, sql<{ n: number }[]>`SELECT ${n}::int AS n`)));
    expect(after).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
    expect(uncaught).toEqual([]);
    expect(await within(5_000, sql.end())).toBeUndefined();
  });

  it('a connection closed with a write still buffered sends the next query on its new socket', async () => {
    const url = new URL(db.url);
    const sockets: Socket[] = [];
    // `socket` is in the driver's README (Custom socket), not in its types.
    const options: postgres.Options<Record<string, never>> & { socket: () => Promise<Socket> } = {
      max: 1,
      onnotice: () => {},
      socket: () => {
        const socket = netConnect(Number(url.port || 5432), url.hostname);
        sockets.push(socket);
        return new Promise<Socket>((resolve, reject) => socket.once('connect', () => resolve(socket)).once('error', reject));
      },
    };
    const sql = postgres(db.url, options);
    expect(await sql`SELECT 1 AS n`).toEqual([{ n: 1 }]);
    // The query's bytes wait for the driver's setImmediate; the socket's close comes first. On a
    // busy loop the close callback can run in the same poll phase as the write; here the close
    // is emitted from an immediate queued ahead of the driver's, which is that order made certain.
    const closing = new Promise<void>((resolve) => setImmediate(() => {
      sockets[0]!.destroy();
      sockets[0]!.emit('close', false);
      resolve();
    }));
    const lost = failure(sql`SELECT 2 AS n`.execute());
    await closing;
    expect(await lost).toBe('CONNECTION_CLOSED');
    expect(await within(5_000, sql`SELECT 3 AS n`)).toEqual([{ n: 3 }]);
    expect(sockets).toHaveLength(2);
    expect(uncaught).toEqual([]);
    await sql.end({ timeout: 5 });
  });
});
