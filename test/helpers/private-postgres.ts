// A Postgres server of a test's own (initdb in a temporary directory, trust auth, a free
// port on 127.0.0.1), so the test can stop, freeze and start it without touching the
// machine's shared Postgres. Runs as the `postgres` user when the tests run as root
// (initdb refuses root). remove() stops it and deletes the directory.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/free-port';

const run = promisify(execFile);
const BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/14/bin'];

export interface PrivatePostgres {
  /** A URL of its `postgres` database (for freshDatabase / startEngine's postgresAdminUrl). */
  adminUrl: string;
  port: number;
  dir: string;
  /** pg_ctl stop -m fast: sessions are ended, new connections refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP to every server process: connections hang instead of failing. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  remove(): Promise<void>;
}

function binDir(): string {
  const dir = BIN_DIRS.find((d) => existsSync(join(d, 'initdb')));
  if (!dir) throw new Error(`no PostgreSQL server binaries in ${BIN_DIRS.join(', ')}`);
  return dir;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'bt-private-pg-'));
  const data = join(dir, 'data');
  if (root) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    await chown(dir, uid, gid);
    await chmod(dir, 0o700);
  }
  const as = (command: string, args: string[]) =>
    root ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args]) : run(join(bin, command), args);
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const ctl = (args: string[]) => as('pg_ctl', ['-D', data, '-w', '-t', '60', ...args]);
  const start = async () => {
    await ctl(['-o', options, '-l', join(dir, 'server.log'), 'start']);
  };
  let running = false;
  let frozen = false;
  /** The postmaster and its children (backends, background processes). */
  const pids = async (): Promise<number[]> => {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = await run('pgrep', ['-P', String(postmaster)]).then(
      (r) => r.stdout.split('\n').filter(Boolean).map(Number),
      () => [] as number[],
    );
    return [postmaster, ...children];
  };
  const signal = async (sig: NodeJS.Signals) => {
    for (const pid of await pids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  await start();
  running = true;
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async stop() {
      await ctl(['-m', 'fast', 'stop']);
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async freeze() {
      await signal('SIGSTOP');
      frozen = true;
    },
    async thaw() {
      await signal('SIGCONT');
      frozen = false;
    },
    async remove() {
      if (frozen) await signal('SIGCONT');
      if (running) await ctl(['-m', 'immediate', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
