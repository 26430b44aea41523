// Every migration must be safe while an older worker still runs (a rolling deploy): see the
// rules in src/db/migrate.ts. These read the files; test/db.test.ts applies them.

import { describe, expect, it } from 'vitest';
import { loadMigrations, statementsOf } from '../src/db/migrate';

/** Tables that grow with use: an index on them is built concurrently. */
const GROWING = ['balance_changes', 'change_feed'];

function violations(): string[] {
  const found: string[] = [];
  for (const m of loadMigrations()) {
    const where = `${String(m.version).padStart(3, '0')}_${m.name}`;
    for (const statement of statementsOf(m.sql)) {
      const text = statement.replace(/\s+/g, ' ');
      for (const column of text.matchAll(/ADD COLUMN (?:IF NOT EXISTS )?(\w+)([^,;]*)/gi)) {
        if (/NOT NULL/i.test(column[2]!) && !/DEFAULT/i.test(column[2]!)) found.push(`${where}: NOT NULL column ${column[1]} without a default`);
      }
      if (/ALTER COLUMN \w+ SET NOT NULL/i.test(text)) found.push(`${where}: SET NOT NULL on an existing column`);
      const index = /CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?.*? ON (\w+)/i.exec(text);
      if (index && GROWING.includes(index[2]!)) {
        if (!index[1]) found.push(`${where}: index on ${index[2]} not built CONCURRENTLY`);
        else if (m.transactional) found.push(`${where}: CREATE INDEX CONCURRENTLY in a transactional migration`);
      }
    }
  }
  return found;
}

describe('migrations are safe during a rolling deploy', () => {
  it('add no NOT NULL column without a default, and build indexes on growing tables concurrently', () => {
    expect(violations()).toEqual([]);
  });

  it('split a no-transaction migration into its statements, comments dropped', () => {
    expect(statementsOf('-- a\nCREATE TABLE t (a int); -- trailing\nDROP INDEX CONCURRENTLY IF EXISTS i;\n\nCREATE INDEX CONCURRENTLY i ON t (a);\n')).toEqual([
      'CREATE TABLE t (a int); -- trailing\nDROP INDEX CONCURRENTLY IF EXISTS i',
      'CREATE INDEX CONCURRENTLY i ON t (a)',
    ]);
  });
});
