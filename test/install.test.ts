// A clean install on the supported Node: `npm ci` (a dry run, so node_modules stays as it is)
// prints no warning, EBADENGINE in particular (commander@15, which @solana/errors pins, wants
// Node 22; package.json overrides it with commander 14, which has everything its CLI uses).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('install', () => {
  it('npm ci prints no warning', async () => {
    const { stdout, stderr } = await run('npm', ['ci', '--dry-run', '--no-audit', '--no-fund'], { cwd: join(__dirname, '..') });
    expect(`${stdout}${stderr}`.split('\n').filter((line) => /warn|EBADENGINE/i.test(line))).toEqual([]);
  });
});
