// One throwaway database per run, and what the benchmark reads from Postgres about it:
// WAL bytes attributed to that database (pg_walinspect) and table write counters.
//
// The Postgres server is shared (other work may write to it at the same time), so the
// cluster-wide WAL position difference is reported for context only; the per-run figure
// counts the WAL records that touch the run's database, plus the commit records of the
// transactions that wrote them.

import { randomBytes } from 'node:crypto';
import { connect, type Sql } from '../src/db/client';
import { dropDatabase, ensureDatabase } from '../tools/stack/postgres';

export const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface RunDatabase {
  url: string;
  name: string;
  oid: number;
  /** The benchmark's own connection (measurement queries; the service has its own). */
  sql: Sql;
  drop(): Promise<void>;
}

/** Databases created and not dropped yet (so an interrupted benchmark can drop them). */
const live = new Set<string>();

export async function dropLiveDatabases(): Promise<void> {
  for (const url of [...live]) {
    await dropDatabase(url).catch(() => {});
    live.delete(url);
  }
}

export async function createRunDatabase(run: string): Promise<RunDatabase> {
  const name = `bt_bench_${run.replace(/[^a-z0-9]+/g, '_')}_${randomBytes(3).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  live.add(url.toString());
  const sql = connect(url.toString(), { max: 3, appName: 'balance-tracker-bench' });
  await sql`CREATE EXTENSION IF NOT EXISTS pg_walinspect`;
  const [row] = await sql<{ oid: number }[]>`SELECT oid::int AS oid FROM pg_database WHERE datname = current_database()`;
  return {
    url: url.toString(),
    name,
    oid: row!.oid,
    sql,
    drop: async () => {
      await sql.end({ timeout: 5 });
      await dropDatabase(url.toString());
      live.delete(url.toString());
    },
  };
}

export async function walPosition(sql: Sql): Promise<string> {
  const [row] = await sql<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
  return row!.lsn;
}

export interface WalWindow {
  start: string;
  /** Measures the WAL written since the start and lets the server recycle it again. */
  end(): Promise<WalMeasure>;
}

/**
 * Starts measuring WAL. A temporary physical replication slot on a connection of its own keeps
 * the server from recycling the WAL segments until they have been read (a busy shared server
 * checkpoints often); it disappears with that connection, so nothing is left behind.
 */
export async function openWalWindow(db: RunDatabase): Promise<WalWindow> {
  const conn = await db.sql.reserve();
  const slot = `bt_bench_${randomBytes(4).toString('hex')}`;
  try {
    await conn`SELECT pg_create_physical_replication_slot(${slot}, true, true)`;
  } catch (error) {
    conn.release();
    throw error;
  }
  const start = await walPosition(conn);
  return {
    start,
    async end() {
      try {
        const to = await walPosition(conn);
        return await walBetween(conn, db.oid, start, to);
      } finally {
        await conn`SELECT pg_drop_replication_slot(${slot})`.catch(() => {});
        conn.release();
      }
    },
  };
}

export interface WalMeasure {
  /** Bytes of WAL records touching this database (and their commits). */
  bytes: number;
  records: number;
  /** Full-page images within those records. */
  fpiBytes: number;
  /** Cluster-wide WAL written in the window, whoever wrote it. */
  clusterBytes: number;
}

/** WAL written for the database between two positions; reads the WAL itself, so call it soon after. */
export async function walBetween(sql: Sql, oid: number, from: string, to: string): Promise<WalMeasure> {
  const [diff] = await sql<{ bytes: bigint }[]>`SELECT pg_wal_lsn_diff(${to}::pg_lsn, ${from}::pg_lsn) AS bytes`;
  if (diff!.bytes <= 0n) return { bytes: 0, records: 0, fpiBytes: 0, clusterBytes: 0 };
  // pg_walinspect reads only flushed WAL.
  await waitFlushed(sql, to);
  const pattern = `% rel %/${oid}/%`;
  const [row] = await sql<{ bytes: bigint | null; records: bigint; fpi: bigint | null; cluster: bigint }[]>`
    WITH r AS (
      SELECT xid, record_length, fpi_length, block_ref FROM pg_get_wal_records_info(${from}::pg_lsn, ${to}::pg_lsn)
    ),
    mine AS (SELECT DISTINCT xid FROM r WHERE block_ref LIKE ${pattern} AND xid <> '0')
    SELECT sum(record_length) AS bytes, count(*) AS records, sum(fpi_length) AS fpi,
           pg_wal_lsn_diff(${to}::pg_lsn, ${from}::pg_lsn) AS cluster
    FROM r WHERE block_ref LIKE ${pattern} OR xid IN (SELECT xid FROM mine)`;
  return { bytes: Number(row!.bytes ?? 0), records: Number(row!.records), fpiBytes: Number(row!.fpi ?? 0), clusterBytes: Number(row!.cluster) };
}

/** Waits until the WAL up to `lsn` is flushed, so pg_walinspect may read it. */
export async function waitFlushed(sql: Sql, lsn: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [row] = await sql<{ ok: boolean }[]>`SELECT pg_current_wal_flush_lsn() >= ${lsn}::pg_lsn AS ok`;
    if (row!.ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TableWrites {
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * Inserted/updated/deleted rows per table from pg_stat_user_tables. Backends report their
 * counters asynchronously (at the latest when they exit), so read this after the service's
 * connections are closed.
 */
export async function tableWrites(url: string): Promise<Record<string, TableWrites>> {
  const sql = connect(url, { max: 1, appName: 'balance-tracker-bench' });
  try {
    await sql`SELECT pg_stat_clear_snapshot()`;
    const rows = await sql<{ relname: string; ins: bigint; upd: bigint; del: bigint }[]>`
      SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del FROM pg_stat_user_tables ORDER BY relname`;
    return Object.fromEntries(rows.map((r) => [r.relname, { inserted: Number(r.ins), updated: Number(r.upd), deleted: Number(r.del) }]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Waits until no other backend is connected to the database (the service's pool has closed). */
export async function waitIdle(sql: Sql, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ n: bigint }[]>`
      SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND application_name <> 'balance-tracker-bench'`;
    if (row!.n === 0n || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
