// Makes sure the database the service needs exists: starts the machine's local Postgres
// cluster when it is down (local URLs only) and creates the database if it is missing.
// Failures come out as one line naming the (redacted) URL and what to do.

import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { connect as connectPool } from '../../src/db/client';
import { log } from '../../src/log';
import { redactText, redactUrl } from '../../src/redact';
import { findOnPath } from '../toolchain/binaries';

export class DatabaseSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseSetupError';
    // One line is the whole story; a stack trace would only bury it.
    this.stack = `${this.name}: ${message}`;
  }
}

/** The database a URL names (its path), as Postgres will see it. */
export function databaseName(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return name || decodeURIComponent(url.username) || 'postgres';
}

/** The same server and credentials, connected to the `postgres` maintenance database. */
export function adminUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

/** A URL on this machine: loopback, or a Unix socket. */
export function isLocalUrl(databaseUrl: string): boolean {
  const url = new URL(databaseUrl);
  const socketHost = url.searchParams.get('host');
  if (socketHost?.startsWith('/')) return true;
  return ['', 'localhost', '127.0.0.1', '[::1]', '::1'].includes(url.hostname);
}

function connect(url: string) {
  return connectPool(url, { max: 1, idleTimeout: 1, appName: 'balance-tracker-setup' });
}

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return redactText(message.split('\n')[0] ?? message);
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'CONNECT_TIMEOUT', '57P03' /* starting up */]);

/** Connects to the database, starting the local cluster and creating the database when needed. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const shown = redactUrl(databaseUrl);
  let started = false;
  const deadline = () => Date.now() + 30_000;
  let until = 0;
  for (;;) {
    const sql = connect(databaseUrl);
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      const code = errorCode(error);
      if (code === '3D000') {
        // The server answers but the database does not exist: create it.
        await createDatabase(databaseUrl);
        return;
      }
      if (code !== undefined && UNREACHABLE.has(code) && isLocalUrl(databaseUrl)) {
        if (!started) {
          started = true;
          until = (await startLocalCluster(shown, describe(error))) ? deadline() : 0;
        }
        if (Date.now() < until) {
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
      }
      throw new DatabaseSetupError(
        `cannot use the database at ${shown}: ${describe(error)}` +
          (code !== undefined && UNREACHABLE.has(code)
            ? ' (is Postgres running? set DATABASE_URL to a reachable server)'
            : ''),
      );
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
  }
}

async function createDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  const sql = connect(adminUrl(databaseUrl));
  try {
    await sql`create database ${sql(name)}`;
    log.info('created database', { database: name });
  } catch (error) {
    // Someone else created it at the same time: that is what we wanted.
    if (errorCode(error) === '42P04') return;
    throw new DatabaseSetupError(`cannot create database '${name}' on ${redactUrl(databaseUrl)}: ${describe(error)}`);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/** Drops the database a URL names, closing its open connections first. For tests. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  if (name === 'postgres') throw new DatabaseSetupError("refusing to drop the 'postgres' maintenance database");
  const sql = connect(adminUrl(databaseUrl));
  try {
    await sql`drop database if exists ${sql(name)} with (force)`;
  } catch (error) {
    throw new DatabaseSetupError(`cannot drop database '${name}' on ${redactUrl(databaseUrl)}: ${describe(error)}`);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/**
 * Starts this machine's Debian-style Postgres cluster(s):
 * `pg_ctlcluster --skip-systemctl-redirect <version> main start`.
 * True when one was started (so it is worth waiting for); false when all were already running.
 */
async function startLocalCluster(shown: string, reason: string): Promise<boolean> {
  const ctl = await findOnPath('pg_ctlcluster');
  const versions = await readdir('/etc/postgresql').catch(() => [] as string[]);
  if (!ctl || versions.length === 0) {
    throw new DatabaseSetupError(
      `cannot reach Postgres at ${shown} (${reason}) and there is no local cluster to start ` +
        `(pg_ctlcluster or /etc/postgresql missing): start Postgres or set DATABASE_URL`,
    );
  }
  let startedAny = false;
  for (const version of versions.sort()) {
    log.info('starting the local Postgres cluster', { cluster: `${version}/main` });
    const result = await new Promise<{ ok: boolean; output: string }>((done) => {
      execFile(ctl, ['--skip-systemctl-redirect', version, 'main', 'start'], { timeout: 60_000 }, (error, stdout, stderr) => {
        done({ ok: error === null, output: `${stdout}${stderr}`.trim() });
      });
    });
    if (result.ok) startedAny = true;
    else log.warn('pg_ctlcluster did not start the cluster', { cluster: `${version}/main`, output: result.output });
  }
  return startedAny;
}
