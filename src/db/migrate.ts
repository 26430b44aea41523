// Versioned SQL migrations, each applied once and recorded in schema_migrations, so a second
// run is a no-op. Concurrent starters (several workers) take turns under an advisory lock.
//
// Migrations must be safe while an older worker still runs (a rolling deploy): a NOT NULL
// column needs a default, and an index on a table that grows with use (balance_changes) is
// built CONCURRENTLY so it does not block the writers for the length of the build. CREATE INDEX
// CONCURRENTLY cannot run in a transaction: a file whose first line is `-- migrate: no-transaction`
// runs statement by statement (each ending with `;` at the end of a line), and must be safe to
// run again after a crash part-way (IF NOT EXISTS). Every other file runs in one transaction.
// test/migrations.test.ts checks these rules on every file.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from './client';

const MIGRATIONS_DIR = join(__dirname, 'migrations');
const LOCK_ID = 0x6261_6c74; // "balt"
const NO_TRANSACTION = /^--\s*migrate:\s*no-transaction\s*$/m;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** False for a file marked `-- migrate: no-transaction`. */
  transactional: boolean;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file name must be NNN_name.sql: ${file}`);
      const sql = readFileSync(join(dir, file), 'utf8');
      const firstLine = sql.split('\n', 1)[0]!;
      return { version: Number(match[1]), name: match[2]!, sql, transactional: !NO_TRANSACTION.test(firstLine) };
    });
}

/** The statements of a no-transaction migration: each ends with `;` at the end of a line. */
export function statementsOf(sql: string): string[] {
  return sql
    .split(/;[ \t]*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/** Applies the migrations not yet recorded; returns the versions applied now. */
export async function migrate(sql: Sql, migrations = loadMigrations()): Promise<number[]> {
  const conn = await sql.reserve();
  try {
    // A session lock, taken by polling: a starter blocked inside pg_advisory_lock would hold a
    // snapshot, which a CREATE INDEX CONCURRENTLY of the lock holder waits for (a deadlock).
    for (let wait = 50; !(await conn<{ ok: boolean }[]>`SELECT pg_try_advisory_lock(${LOCK_ID}) AS ok`)[0]!.ok; wait = Math.min(wait * 2, 1_000)) {
      await sleep(wait);
    }
    try {
      return await applyPending(conn, migrations);
    } finally {
      await conn`SELECT pg_advisory_unlock(${LOCK_ID})`;
    }
  } finally {
    conn.release();
  }
}

async function applyPending(conn: Sql, migrations: Migration[]): Promise<number[]> {
  await conn`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
  const done = new Set((await conn<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) => r.version));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const record = conn`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
    if (m.transactional) {
      // A reserved connection has no begin(): the transaction is spelled out on it.
      await conn.unsafe('BEGIN');
      try {
        await conn.unsafe(m.sql);
        await record;
        await conn.unsafe('COMMIT');
      } catch (error) {
        await conn.unsafe('ROLLBACK');
        throw error;
      }
    } else {
      for (const statement of statementsOf(m.sql)) await conn.unsafe(statement);
      await record;
    }
    applied.push(m.version);
  }
  return applied;
}
