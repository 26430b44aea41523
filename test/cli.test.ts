// The balance-tracker CLI as operators run it: the real bin as a child process against a
// running engine (real dev server, real Postgres, the simulator, real workers), asserting on
// stdout, stderr, exit statuses and what Postgres holds afterwards.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { freePort } from '../src/free-port';
import { ensureSchedules } from '../src/schedules';
import { requestTierSweep, startTierWorkflows } from '../src/tier-control';
import { TIERS, tierScheduleId, tierWorkflowId } from '../src/tiers';
import { splitLines } from '../src/cli/import/lines';
import { formatSol } from '../src/cli/output';
import { type Engine, startEngine } from './helpers/engine';
import { testAddresses } from './helpers/addresses';
import { type CliResult, runCli } from './helpers/cli';

const ROOT = join(__dirname, '..');
let baseEnv: Record<string, string> = {};

function cli(args: string[], options: { env?: Record<string, string>; stdin?: string | Buffer } = {}): Promise<CliResult> {
  return runCli(args, { ...baseEnv, ...options.env }, options.stdin);
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const STACK_LINE = /^\s+at /m;

/** Runs the command lines a few at a time (each child is a whole Node process). */
async function cliAll(argsList: string[][], concurrency = 4): Promise<CliResult[]> {
  const results: CliResult[] = new Array(argsList.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < argsList.length) {
        const i = next++;
        results[i] = await cli(argsList[i]!);
      }
    }),
  );
  return results;
}

describe('CLI building blocks', () => {
  async function split(chunks: (string | Buffer)[], max = 10) {
    const out: (string | number)[] = [];
    async function* source() {
      for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
    }
    for await (const line of splitLines(source(), max)) out.push(line.bytes === null ? line.length : line.bytes.toString('utf8'));
    return out;
  }

  it('splits lines across chunk boundaries, drops a BOM split over chunks, and measures over-long lines', async () => {
    expect(await split(['ab\ncd', 'e\n\nf'])).toEqual(['ab', 'cde', '', 'f']);
    expect(await split([Buffer.from([0xef]), Buffer.from([0xbb, 0xbf, 0x61]), '\r\nb\n'])).toEqual(['a\r', 'b']);
    // A BOM only counts at the very start.
    expect(await split(['x\n', Buffer.from([0xef, 0xbb, 0xbf, 0x61])])).toEqual(['x', '\ufeffa']);
    // Longer than 10 bytes: reported by length (counted across chunks), never buffered.
    expect(await split(['0123456789', 'abc\nok\n', 'z'.repeat(25)])).toEqual([13, 'ok', 25]);
    expect(await split([])).toEqual([]);
    expect(await split(['\n'])).toEqual(['']);
  });

  it('formats lamports as SOL exactly, with 9 decimals, beyond 2^53', () => {
    expect(formatSol(0n)).toBe('0.000000000');
    expect(formatSol(1n)).toBe('0.000000001');
    expect(formatSol(1_500_000_000n)).toBe('1.500000000');
    expect(formatSol(2n ** 53n + 1n)).toBe('9007199.254740993');
    expect(formatSol(2n ** 64n - 1n)).toBe('18446744073.709551615');
  });
});

describe('balance-tracker CLI', () => {
  let engine: Engine;
  let dir: string;
  const whale = testAddresses(1, 'cli-whale')[0]!;
  const WHALE_LAMPORTS = 2n ** 60n + 123n; // 1152921504606847099, above 2^53
  let swept: string[];

  async function tierOf(address: string): Promise<string | null> {
    const [row] = await engine.sql<{ tier: string }[]>`SELECT tier FROM wallets WHERE address = ${address}`;
    return row?.tier ?? null;
  }
  async function countWhere(addresses: string[]): Promise<number> {
    const [row] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets WHERE address = ANY(${addresses}::text[])`;
    return Number(row!.n);
  }
  /** Sets a swept wallet aside (idempotent): the state the set-aside and status tests read. */
  const SET_ASIDE_REASON = 'RPC rejected the address (test)';
  async function setAside(address: string): Promise<void> {
    await engine.sql`UPDATE wallets SET invalid_reason = ${SET_ASIDE_REASON} WHERE address = ${address}`;
  }
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  beforeAll(async () => {
    engine = await startEngine({
      simulator: { wallets: 200, seed: 11 },
      // Long intervals, and the schedules paused below: no tick sweeps behind the tests' back.
      env: { TIER_HIGH_INTERVAL: '47h', TIER_MEDIUM_INTERVAL: '48h', TIER_LOW_INTERVAL: '49h', SEGMENTATION: 'off' },
    });
    engine.sim.world.addWallet(whale, WHALE_LAMPORTS);
    dir = mkdtempSync(join(tmpdir(), 'bt-cli-'));
    baseEnv = {
      DATABASE_URL: engine.config.databaseUrl,
      TEMPORAL_ADDRESS: engine.config.temporal.address,
      TEMPORAL_NAMESPACE: engine.config.temporal.namespace,
      TASK_QUEUE: engine.config.temporal.taskQueue,
    };
    // The state a running service has: schedules and tier workflows, and one high-tier sweep.
    await ensureSchedules(engine.client, engine.config);
    for (const tier of TIERS) await engine.client.schedule.getHandle(tierScheduleId(tier)).pause('paused by the cli test');
    await startTierWorkflows(engine.client, engine.config);
    swept = [...engine.sim.world.addresses(0, 150), whale];
    await addWallets(engine.sql, swept as Address[], 'high');
    await requestTierSweep(engine.client, engine.config, 'high', 'cli test');
    await engine.waitForSweeps('high', 1);
  });

  afterAll(async () => {
    await engine?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('help and usage', () => {
    it('--help works on the program, each group and each command', async () => {
      const paths = ['', 'wallets', 'tiers', 'wallets add', 'wallets import', 'wallets remove', 'wallets list', 'wallets show', 'wallets history', 'wallets check', 'tiers promote', 'tiers interval', 'status', 'worker'];
      const results = await cliAll(paths.map((p) => [...p.split(' ').filter(Boolean), '--help']));
      results.forEach((result, i) => {
        const path = paths[i]!;
        expect({ path, code: result.code, stderr: result.stderr }).toEqual({ path, code: 0, stderr: '' });
        expect(result.stdout).toContain(`Usage: balance-tracker ${path}`.trimEnd());
        if (path.includes(' ') || path === 'status' || path === 'worker') {
          expect(result.stdout).toContain('--help');
          expect(result.stdout).toContain('Exit status');
        }
      });
      // Read commands document --json; the import help documents its input rules and exit 3.
      expect(results[paths.indexOf('wallets list')]!.stdout).toContain('--json');
      expect(results[paths.indexOf('status')]!.stdout).toContain('--json');
      expect(results[paths.indexOf('wallets import')]!.stdout).toMatch(/3 when some lines were rejected/);
      expect(results[paths.indexOf('wallets import')]!.stdout).toContain('never trimmed');
    });

    it('an unknown command, option or tier is one line on stderr and exit 2', async () => {
      const [unknown, option, tier, missingTo, badLimit, noArgs] = await cliAll([
        ['frobnicate'],
        ['wallets', 'add', '--frob', whale],
        ['wallets', 'add', '--tier', 'urgent', whale],
        ['tiers', 'promote', whale],
        ['wallets', 'list', '--limit', '0'],
        ['wallets', 'show'],
      ]);
      expect(unknown).toMatchObject({ code: 2, stdout: '' });
      expect(lines(unknown!.stderr)).toEqual([expect.stringContaining('unknown command "frobnicate"')]);
      expect(option).toMatchObject({ code: 2, stdout: '' });
      expect(lines(option!.stderr)).toEqual([expect.stringContaining('unknown option --frob')]);
      expect(lines(tier!.stderr)).toEqual([expect.stringContaining('--tier must be one of high, medium, low, got "urgent"')]);
      expect(tier!.code).toBe(2);
      expect(lines(missingTo!.stderr)).toEqual([expect.stringContaining('--to <tier> is required')]);
      expect(missingTo!.code).toBe(2);
      expect(lines(badLimit!.stderr)).toEqual([expect.stringContaining('--limit must be a whole number')]);
      expect(badLimit!.code).toBe(2);
      expect(lines(noArgs!.stderr)).toEqual([expect.stringContaining('missing <address>')]);
      expect(noArgs!.code).toBe(2);
    });

    it('runs as `npx balance-tracker` from the repository', async () => {
      const result = await new Promise<CliResult>((resolve, reject) => {
        const child = spawn('npx', ['--no-install', 'balance-tracker', '--version'], { cwd: ROOT, env: { ...process.env, ...baseEnv } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    });
  });

  // Each test sets up what it reads (its own addresses, files and rows), on the shared engine
  // that beforeAll gives the state of a running service after one high-tier sweep.
  describe('wallets add', () => {
    const [a, b, c] = testAddresses(3, 'cli-add');

    it('adds valid addresses to the given tier', async () => {
      const result = await cli(['wallets', 'add', a!, b!, '--tier', 'low']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain(`added ${a} (tier low)`);
      expect(result.stdout).toContain(`added ${b} (tier low)`);
      expect([await tierOf(a!), await tierOf(b!)]).toEqual(['low', 'low']);
    });

    it('names an invalid address with its reason and writes nothing', async () => {
      const result = await cli(['wallets', 'add', c!, 'abc0defxyz', `${a} `]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      const errors = lines(result.stderr);
      expect(errors).toEqual([
        expect.stringMatching(/invalid address "abc0defxyz": invalid character '0' \(U\+0030\) at position 4: not base58/),
        expect.stringMatching(/invalid address ".+ ": contains whitespace \(U\+0020 at position \d+\)/),
        expect.stringContaining('nothing was changed: 2 of 3 addresses are invalid'),
      ]);
      expect(result.stderr).not.toMatch(STACK_LINE);
      expect(await tierOf(c!)).toBeNull();
    });

    it('adding a tracked wallet again is a no-op that says so', async () => {
      const [tracked, fresh] = testAddresses(2, 'cli-add-again');
      await addWallets(engine.sql, [tracked] as Address[], 'low');
      const result = await cli(['wallets', 'add', tracked!, '--tier', 'high']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain(`already tracked: ${tracked} (tier low); nothing changed`);
      expect(await tierOf(tracked!)).toBe('low');
      const json = await cli(['wallets', 'add', tracked!, fresh!, '--json']);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ tier: 'medium', added: [fresh], alreadyTracked: [{ address: tracked, tier: 'low' }] });
      expect(await tierOf(fresh!)).toBe('medium');
    });
  });

  describe('wallets import', () => {
    it('imports a newline list, skipping blank lines and counting duplicates', async () => {
      const [a, b, c, d, e] = testAddresses(5, 'cli-import-plain');
      const path = file('plain.txt', [a, '', b, c, a, '   ', d, e, c].join('\n') + '\n');
      const result = await cli(['wallets', 'import', path, '--tier', 'low', '--json']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ lines: 9, imported: 5, duplicates: 2, alreadyTracked: 0, blank: 2, rejected: 0, headerLine: null, rejectsFile: null });
      expect(await countWhere([a!, b!, c!, d!, e!])).toBe(5);
      expect(await tierOf(e!)).toBe('low');
      // Progress goes to stderr; with nothing rejected there is nothing else there.
      expect(result.stderr).not.toContain('line ');
    });

    it('re-running the same file imports nothing new and says so', async () => {
      const addresses = testAddresses(5, 'cli-import-rerun');
      const [a, b, c, d, e] = addresses;
      const path = file('rerun.txt', [a, '', b, c, a, '   ', d, e, c].join('\n') + '\n');
      expect((await cli(['wallets', 'import', path])).code).toBe(0);
      expect(await countWhere(addresses)).toBe(5);
      const result = await cli(['wallets', 'import', path]);
      expect(result.code).toBe(0);
      expect(lines(result.stdout)[0]).toBe(`nothing new imported from ${path}: all 7 valid lines name wallets that are already tracked`);
      expect(result.stdout).toMatch(/new wallets\s+0\n/);
      expect(await countWhere(addresses)).toBe(5);
    });

    it('imports CSV with a header, CRLF line ends, a BOM and a quoted first column', async () => {
      const [a, b, c] = testAddresses(3, 'cli-import-csv');
      const content = Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(`address,label,notes\r\n${a},alice,x\r\n\r\n"${b}",bob,"y, z"\r\n${c}\r\n`),
      ]);
      const path = file('wallets.csv', content);
      const result = await cli(['wallets', 'import', path, '--json']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ lines: 5, imported: 3, headerLine: 1, blank: 1, rejected: 0 });
      expect(await countWhere([a!, b!, c!])).toBe(3);
    });

    it('reports invalid lines with their line numbers, lists all in the rejects file and exits 3', async () => {
      const valid = testAddresses(4, 'cli-import-bad');
      const bad = Array.from({ length: 25 }, (_, i) => `not-an-address-${i}`);
      const content = [valid[0], ...bad, ` ${valid[1]}`, valid[2], `${valid[3]}\t`].join('\n');
      const path = file('bad.txt', content);
      const result = await cli(['wallets', 'import', path]);
      expect(result.code).toBe(3);
      const errors = lines(result.stderr);
      expect(errors[0]).toBe(`line 2: invalid character '-' (U+002D) at position 4: not base58 ("not-an-address-0")`);
      expect(errors.filter((l) => /^line \d+: /.test(l))).toHaveLength(20);
      expect(errors).toContain('… and 7 more rejected lines');
      expect(result.stdout).toContain('imported 2 new wallets into tier medium');
      expect(result.stdout).toMatch(new RegExp(`rejected lines\\s+27 \\(all listed in ${path}\\.rejected\\.txt\\)`));
      const rejects = lines(readFileSync(`${path}.rejected.txt`, 'utf8'));
      expect(rejects[0]).toBe('line\treason\ttext');
      expect(rejects.slice(1).map((l) => Number(l.split('\t')[0]))).toEqual([...Array.from({ length: 25 }, (_, i) => i + 2), 27, 29]);
      expect(rejects[26]).toMatch(/^27\tcontains whitespace \(U\+0020 at position 1\)/);
      expect(rejects[27]).toMatch(/^29\tcontains whitespace \(U\+0009 at position 45\)|^29\tcontains whitespace \(U\+0009 at position 4\d\)/);
      expect([await tierOf(valid[0]!), await tierOf(valid[2]!), await tierOf(valid[1]!), await tierOf(valid[3]!)]).toEqual(['medium', 'medium', null, null]);

      // --rejects puts the list elsewhere.
      const elsewhere = join(dir, 'elsewhere.tsv');
      const again = await cli(['wallets', 'import', path, '--rejects', elsewhere, '--json']);
      expect(again.code).toBe(3);
      expect(JSON.parse(again.stdout)).toMatchObject({ imported: 0, alreadyTracked: 2, rejected: 27, rejectsFile: elsewhere });
      expect(lines(readFileSync(elsewhere, 'utf8'))).toHaveLength(28);
    });

    it('imports 100,000 lines with exact counts', async () => {
      const addresses = testAddresses(99_990, 'cli-import-bulk');
      const content = [...addresses, ...addresses.slice(0, 10)].join('\n') + '\n';
      const path = file('bulk.txt', content);
      const result = await cli(['wallets', 'import', path, '--tier', 'low', '--json']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ lines: 100_000, imported: 99_990, duplicates: 10, alreadyTracked: 0, rejected: 0 });
      const [row] = await engine.sql<{ n: bigint }[]>`
        SELECT count(*) AS n FROM wallets WHERE tier = 'low' AND address = ANY(${addresses}::text[])`;
      expect(row!.n).toBe(99_990n);
      // Not a terminal: plain progress lines every 10,000 lines.
      expect(lines(result.stderr).filter((l) => l.startsWith('progress: '))).toHaveLength(10);
      expect(result.stderr).toContain('progress: 100,000 lines read');
    });

    it('rejects a 10 MB line without crashing and imports the lines around it', async () => {
      const [a, b] = testAddresses(2, 'cli-import-long');
      const path = file('long.txt', Buffer.concat([Buffer.from(`${a}\n`), Buffer.alloc(10 * 1024 * 1024, 'A'), Buffer.from(`\n${b}\n`)]));
      const result = await cli(['wallets', 'import', path, '--json']);
      expect(result.code).toBe(3);
      expect(lines(result.stderr)).toContain(`line 2: line too long (${10 * 1024 * 1024} bytes; at most 1000)`);
      expect(JSON.parse(result.stdout)).toMatchObject({ lines: 3, imported: 2, rejected: 1 });
      expect(await countWhere([a!, b!])).toBe(2);
    });

    it('survives binary garbage: every line rejected, nothing written', async () => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < 4096; i++) chunks.push(createHash('sha512').update(`garbage:${i}`).digest());
      const path = file('garbage.bin', Buffer.concat(chunks));
      const [before] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets`;
      const result = await cli(['wallets', 'import', path, '--json']);
      expect(result.code).toBe(3);
      const summary = JSON.parse(result.stdout) as { imported: number; rejected: number; lines: number; blank: number };
      expect(summary.imported).toBe(0);
      expect(summary.rejected).toBeGreaterThan(0);
      expect(summary.rejected + summary.blank).toBe(summary.lines);
      expect(result.stderr).not.toMatch(STACK_LINE);
      const [after] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets`;
      expect(after!.n).toBe(before!.n);
    });

    it('reads standard input with "-"', async () => {
      const addresses = testAddresses(3, 'cli-import-stdin');
      const result = await cli(['wallets', 'import', '-', '--tier', 'high', '--json'], { stdin: addresses.join('\r\n') });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ source: 'stdin', lines: 3, imported: 3, rejected: 0 });
      expect(await tierOf(addresses[2]!)).toBe('high');
    });

    it('a missing file is exit 2 and one line', async () => {
      const result = await cli(['wallets', 'import', join(dir, 'nope.txt')]);
      expect(result.code).toBe(2);
      expect(lines(result.stderr)).toEqual([`error: cannot read ${join(dir, 'nope.txt')}: no such file`]);
    });
  });

  describe('wallets show, list and remove', () => {
    it('show prints exact lamports above 2^53, SOL with 9 decimals, tier, slot and history', async () => {
      const result = await cli(['wallets', 'show', whale]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^lamports\s+1152921504606847099$/m);
      expect(result.stdout).toMatch(/^balance\s+1152921504\.606847099 SOL$/m);
      expect(result.stdout).toMatch(/^tier\s+high /m);
      expect(result.stdout).toMatch(/^slot\s+\d+$/m);
      expect(result.stdout).toMatch(/^last checked\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/m);
      expect(result.stdout).toMatch(/^last changed\s+\d{4}-\d\d-\d\d/m);
      expect(result.stdout).toMatch(/1152921504\.606847099\s+1152921504606847099\s+first read/);

      const json = await cli(['wallets', 'show', whale, '--json']);
      expect(json.code).toBe(0);
      const shown = JSON.parse(json.stdout) as Record<string, unknown> & { history: Record<string, unknown>[] };
      expect(shown).toMatchObject({ address: whale, tier: 'high', lamports: '1152921504606847099', sol: '1152921504.606847099', onChain: true, invalidReason: null });
      expect(typeof shown.slot).toBe('string');
      expect(shown.lastCheckedAt).not.toBeNull();
      expect(shown.history).toEqual([expect.objectContaining({ lamports: '1152921504606847099', previousLamports: null })]);
    });

    it('show tells why a wallet was set aside', async () => {
      const target = swept[7]!;
      await setAside(target);
      const result = await cli(['wallets', 'show', target]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^set aside\s+RPC rejected the address \(test\) \(no longer checked\)$/m);
      const json = JSON.parse((await cli(['wallets', 'show', target, '--json'])).stdout) as { invalidReason: string };
      expect(json.invalidReason).toBe('RPC rejected the address (test)');
      const listed = JSON.parse((await cli(['wallets', 'list', '--set-aside', '--json'])).stdout) as { total: number; wallets: { address: string }[] };
      expect(listed.total).toBe(1);
      expect(listed.wallets.map((w) => w.address)).toEqual([target]);
    });

    it('show: an invalid or untracked address is exit 2 and one line', async () => {
      const [invalid, untracked] = await cliAll([
        ['wallets', 'show', 'O0Il'],
        ['wallets', 'show', testAddresses(1, 'cli-never-added')[0]!],
      ]);
      expect(invalid!.code).toBe(2);
      expect(lines(invalid!.stderr)).toEqual([expect.stringContaining(`invalid address "O0Il": invalid character 'O'`)]);
      expect(untracked!.code).toBe(2);
      expect(lines(untracked!.stderr)).toEqual([expect.stringContaining('not tracked: ')]);
    });

    it('list filters by tier, limits and prints JSON with exact lamports', async () => {
      await addWallets(engine.sql, testAddresses(2, 'cli-list-medium') as Address[], 'medium');
      const [highCount] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets WHERE tier = 'high'`;
      const json = await cli(['wallets', 'list', '--tier', 'high', '--limit', '5', '--json']);
      expect(json.code).toBe(0);
      const listed = JSON.parse(json.stdout) as { total: number; limit: number; wallets: { address: string; tier: string; lamports: string | null }[] };
      expect(listed.total).toBe(Number(highCount!.n));
      expect(listed.limit).toBe(5);
      expect(listed.wallets.map((w) => w.address)).toEqual(swept.slice(0, 5));
      expect(listed.wallets.every((w) => w.tier === 'high' && typeof w.lamports === 'string')).toBe(true);

      const text = await cli(['wallets', 'list', '--tier', 'high', '--limit', '3']);
      expect(text.code).toBe(0);
      const rows = lines(text.stdout);
      expect(rows[0]).toMatch(/^ADDRESS\s+TIER\s+SOL\s+SLOT\s+LAST CHECKED\s+LAST CHANGED\s+NOTE$/);
      expect(rows.slice(1, 4).map((r) => r.split(/\s+/)[0])).toEqual(swept.slice(0, 3));
      expect(rows[4]).toBe(`showing 3 of ${Number(highCount!.n).toLocaleString('en-US')} wallets in tier high (--limit shows more)`);
      // A tier filter shows only that tier.
      const medium = JSON.parse((await cli(['wallets', 'list', '--tier', 'medium', '--json', '--limit', '1000'])).stdout) as { wallets: { tier: string }[] };
      expect(medium.wallets.length).toBeGreaterThan(0);
      expect(medium.wallets.every((w) => w.tier === 'medium')).toBe(true);
    });

    it('remove deletes tracked wallets and says which were not tracked', async () => {
      const [gone, kept] = testAddresses(2, 'cli-remove');
      await addWallets(engine.sql, [gone, kept] as Address[], 'medium');
      const untracked = testAddresses(1, 'cli-never-added')[0]!;
      const result = await cli(['wallets', 'remove', gone!, untracked]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(lines(result.stdout)).toEqual([`removed ${gone}`, `not tracked: ${untracked}; nothing to remove`, '1 removed, 1 not tracked']);
      expect(await tierOf(gone!)).toBeNull();

      const invalid = await cli(['wallets', 'remove', kept!, 'bogus!']);
      expect(invalid.code).toBe(2);
      expect(await tierOf(kept!)).toBe('medium');
    });
  });

  describe('tiers promote', () => {
    it('moves wallets and reports those that are not tracked', async () => {
      const [a, b] = [swept[20]!, swept[21]!];
      const untracked = testAddresses(1, 'cli-promote-unknown')[0]!;
      const result = await cli(['tiers', 'promote', a, b, untracked, '--to', 'low']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(lines(result.stdout)).toEqual([
        'balance-tier-low reported: 2 moved to low, 0 already in low, 1 not tracked (ignored)',
        `  not tracked: ${untracked}`,
        "moved wallets are checked on the low tier's next sweep",
      ]);
      expect([await tierOf(a), await tierOf(b), await tierOf(untracked)]).toEqual(['low', 'low', null]);
      // The move's result in the tier workflow's history is counts and examples, never the address lists.
      const history = await engine.client.workflow.getHandle(tierWorkflowId('low')).fetchHistory();
      const moves = history.events!.filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'moveWallets').map((ev) => ev.eventId!.toString());
      const moveResults = history.events!
        .filter((ev) => moves.includes(ev.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() ?? ''))
        .map((ev) => defaultPayloadConverter.fromPayload(ev.activityTaskCompletedEventAttributes!.result!.payloads![0]!));
      expect(moveResults.at(-1)).toEqual({ moved: 2, unchanged: 0, unknown: 1, unknownExamples: [untracked] });

      const again = await cli(['tiers', 'promote', a, b, '--to', 'low', '--json']);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ tier: 'low', requested: 2, moved: 0, unchanged: 2, unknownCount: 0, errors: [] });
    });

    it('an invalid address sends nothing and changes nothing', async () => {
      const before = (await engine.progress('medium')).promotions.length;
      const target = swept[22]!;
      const result = await cli(['tiers', 'promote', target, 'x'.repeat(50), '--to', 'medium']);
      expect(result.code).toBe(2);
      expect(lines(result.stderr)[0]).toMatch(/invalid address "x+": too long: 50 characters/);
      expect(await tierOf(target)).toBe('high');
      expect((await engine.progress('medium')).promotions).toHaveLength(before);
    });
  });

  describe('wallets check and history', () => {
    it('check reads wallets now through the service and prints and stores what it found', async () => {
      const target = swept[5]!;
      const [before] = await engine.sql<{ lamports: bigint; slot: bigint }[]>`SELECT lamports, slot FROM wallets WHERE address = ${target}`;
      const lamports = before!.lamports + 1_234_567n;
      engine.sim.world.setBalance(target, lamports);
      engine.sim.world.advance(2, { changes: false });
      const result = await cli(['wallets', 'check', target, swept[6]!]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const rows = lines(result.stdout);
      expect(rows[0]).toMatch(/^ADDRESS\s+TIER\s+SOL\s+SLOT\s+CHECKED\s+CHANGED$/);
      expect(rows.find((r) => r.startsWith(target))).toMatch(new RegExp(`^${target}\\s+high\\s+${formatSol(lamports).replace('.', '\\.')}\\s+\\d+\\s+`));
      // Adjacent ids of one tier share one call.
      expect(rows.at(-1)).toBe('read 2 wallets with 1 RPC call; 1 changed');
      const [after] = await engine.sql<{ lamports: bigint; slot: bigint }[]>`SELECT lamports, slot FROM wallets WHERE address = ${target}`;
      expect(after!.lamports).toBe(lamports);
      expect(after!.slot).toBeGreaterThan(before!.slot);

      const untracked = testAddresses(1, 'cli-check-untracked')[0]!;
      const refused = await cli(['wallets', 'check', untracked]);
      expect(refused.code).toBe(2);
      expect(lines(refused.stderr)).toEqual([`error: not tracked: ${untracked} (add with: balance-tracker wallets add <address…>); nothing was read`]);
    });

    it('history exports every change of a wallet, oldest first, as text, CSV and JSON', async () => {
      const target = swept[5]!;
      const [wallet] = await engine.sql<{ id: number }[]>`SELECT id FROM wallets WHERE address = ${target}`;
      const stored = await engine.sql<{ slot: bigint; lamports: string; previous: string | null }[]>`
        SELECT slot, lamports::text AS lamports, previous_lamports::text AS previous FROM balance_changes WHERE wallet_id = ${wallet!.id} ORDER BY slot`;
      expect(stored.length).toBeGreaterThanOrEqual(2);
      const csv = await cli(['wallets', 'history', target, '--csv']);
      expect(csv).toMatchObject({ code: 0, stderr: '' });
      const csvRows = lines(csv.stdout);
      expect(csvRows[0]).toBe('slot,lamports,previous_lamports,sol,observed_at');
      expect(csvRows.slice(1).map((r) => r.split(',').slice(0, 3).join(','))).toEqual(stored.map((r) => `${r.slot},${r.lamports},${r.previous ?? ''}`));
      const json = JSON.parse((await cli(['wallets', 'history', target, '--json'])).stdout) as { lamports: string }[];
      expect(json.map((r) => r.lamports)).toEqual(stored.map((r) => r.lamports));
      const text = await cli(['wallets', 'history', target]);
      expect(lines(text.stdout)).toHaveLength(stored.length + 1);
      const whaleCsv = lines((await cli(['wallets', 'history', whale, '--csv'])).stdout);
      expect(whaleCsv[1]).toMatch(new RegExp(`^\\d+,${WHALE_LAMPORTS},,`));
      const bad = await cli(['wallets', 'history', 'not-an-address']);
      expect(bad.code).toBe(2);
    });
  });

  describe('status', () => {
    it('prints every tier with its interval, paused or not, wallets and last sweep', async () => {
      await engine.client.schedule.getHandle(tierScheduleId('high')).unpause();
      await setAside(swept[7]!);
      const result = await cli(['status']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const rows = lines(result.stdout);
      expect(rows[0]).toMatch(/^TIER\s+INTERVAL\s+PAUSED\s+NEXT SWEEP\s+WALLETS\s+NEVER READ\s+STALEST\s+CURRENT SWEEP\s+RETRYING\s+LAST SWEEP\s+CHECKED\s+CHANGED\s+RPC CALLS\s+ERRORS$/);
      const high = rows.find((r) => r.startsWith('high '))!;
      const [highWallets] = await engine.sql<{ n: bigint; unread: bigint }[]>`
        SELECT count(*) AS n, count(*) FILTER (WHERE lamports IS NULL AND invalid_reason IS NULL) AS unread FROM wallets WHERE tier = 'high'`;
      const count = (n: bigint) => Number(n).toLocaleString('en-US');
      // The one high sweep checked the 151 swept wallets with 2 RPC calls; one was set aside since.
      // The next sweep is anywhere within 47h: interval schedules count from the epoch, not from now.
      expect(high).toMatch(
        new RegExp(`^high\\s+47h\\s+no\\s+in \\d[\\dhms]*\\s+${count(highWallets!.n)}\\s+${count(highWallets!.unread)}\\s+\\S+\\s+idle\\s+0\\s+\\d\\d:\\d\\d:\\d\\dZ, \\S+\\s+151\\s+151\\s+2\\s+1 set aside$`),
      );
      expect(rows.find((r) => r.startsWith('medium '))).toMatch(/^medium\s+2d\s+yes\s+paused\s+[\d,]+\s+[\d,]+\s+\S+\s+idle\s+0\s+-/);
      expect(rows.find((r) => r.startsWith('low '))).toMatch(/^low\s+49h\s+yes\s+paused\s+[\d,]+\s+[\d,]+\s+\S+\s+idle/);
      expect(result.stdout).toContain('high: 1 wallets set aside as invalid');
      expect(result.stdout).toContain('medium: schedule paused: paused by the cli test');
    });

    it('--json carries each tier\'s progress, schedule and wallet counts', async () => {
      await engine.client.schedule.getHandle(tierScheduleId('high')).unpause();
      await setAside(swept[7]!);
      const result = await cli(['status', '--json']);
      expect(result.code).toBe(0);
      const { tiers } = JSON.parse(result.stdout) as { tiers: ({ tier: string; wallets: { wallets: number } } & Record<string, unknown>)[] };
      expect(tiers.map((t) => t.tier)).toEqual(['high', 'medium', 'low']);
      const [high] = tiers;
      expect(high).toMatchObject({
        workflow: 'running',
        problem: null,
        schedule: { id: 'balance-sweep-high', intervalMs: 47 * 3_600_000, paused: false, nextActionAt: expect.stringMatching(/^\d{4}-/) },
        wallets: { setAside: 1 },
        stale: false,
        retrying: { retrying: 0, lastError: null },
        progress: { tier: 'high', lastSweep: { due: 151, walletsChecked: 151, walletsChanged: 151, rpcCalls: 2, batchesFailed: 0 } },
      });
      const [counts] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets WHERE tier = 'low'`;
      expect(tiers[2]!.wallets.wallets).toBe(Number(counts!.n));
    });

    it('shows the last re-tiering and whether the tiers fit the RPC budget', async () => {
      const before = await cli(['status']);
      expect(before.stdout).toContain('Re-tiering: has not run yet');
      await engine.sql`INSERT INTO retier_runs (moved, tiers, pinned) VALUES (${engine.sql.json({ 'medium->high': 3, 'medium->low': 40 })}, ${engine.sql.json({ high: 1, medium: 2, low: 3 })}, 2)`;
      const after = await cli(['status']);
      expect(after.stdout).toMatch(/^Re-tiering: last run \S+ moved 43 wallets \(medium->high 3, medium->low 40\); 2 pinned$/m);
      expect(after.stdout).toMatch(/^RPC budget: the tiers need [\d.]+ requests\/s of RPC_MAX_RPS \d+: fits$/m);
      const json = JSON.parse((await cli(['status', '--json'])).stdout) as { lastRetier: { moved: Record<string, number> }; budget: { fits: boolean; requiredRps: number } };
      expect(json.lastRetier.moved).toEqual({ 'medium->high': 3, 'medium->low': 40 });
      expect(json.budget.fits).toBe(true);
      // With the low tier's 10,000 wallets or more every second (100 calls/s or more), the budget says so.
      await addWallets(engine.sql, testAddresses(10_000, 'cli-budget-low') as Address[], 'low');
      const [lowWallets] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets WHERE tier = 'low' AND invalid_reason IS NULL`;
      const low = engine.client.schedule.getHandle(tierScheduleId('low'));
      const interval = (await low.describe()).spec.intervals![0]!.every;
      await low.update((previous) => ({ ...previous, spec: { intervals: [{ every: '1s' }] } }));
      try {
        const squeezed = await cli(['status']);
        const need = /^RPC budget: the tiers need ([\d,.]+) requests\/s of RPC_MAX_RPS 50: DOES NOT FIT/m.exec(squeezed.stdout);
        expect(need, squeezed.stdout).not.toBeNull();
        expect(Number(need![1]!.replace(/,/g, ''))).toBeGreaterThanOrEqual(Math.ceil(Number(lowWallets!.n) / 100));
      } finally {
        await low.update((previous) => ({ ...previous, spec: { intervals: [{ every: interval }] } }));
      }
    });

    it('a tier whose workflow is not running says so instead of failing', async () => {
      await engine.client.workflow.getHandle(tierWorkflowId('low')).terminate('cli test');
      const result = await cli(['status']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(lines(result.stdout).find((r) => r.startsWith('low '))).toMatch(/WORKFLOW NOT RUNNING/);
      expect(result.stdout).toContain('low: balance-tier-low is terminated: start a worker');
      const json = JSON.parse((await cli(['status', '--json'])).stdout) as { tiers: { tier: string; workflow: string; progress: unknown }[] };
      expect(json.tiers.find((t) => t.tier === 'low')).toMatchObject({ workflow: 'not-running', progress: null });
      expect(json.tiers.find((t) => t.tier === 'high')).toMatchObject({ workflow: 'running' });

      const promote = await cli(['tiers', 'promote', swept[30]!, '--to', 'low']);
      expect(promote.code).toBe(1);
      expect(lines(promote.stderr)).toEqual(['error: cannot promote to low: balance-tier-low is terminated: start a worker (balance-tracker worker)']);
      expect(await tierOf(swept[30]!)).toBe('high');
      // Running again for the tests after this one.
      await startTierWorkflows(engine.client, engine.config);
    });
  });

  describe('unreachable servers and bad configuration', () => {
    let blackHole: Server | undefined;
    const held = new Set<Socket>();
    afterAll(async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((r) => (blackHole ? blackHole.close(() => r()) : r()));
    });

    it('an unreachable Postgres is one line with the password redacted, exit 1', async () => {
      const port = await freePort();
      const result = await cli(['wallets', 'list'], { env: { DATABASE_URL: `postgres://ops:hunter2-secret@127.0.0.1:${port}/tracker` } });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(lines(result.stderr)).toEqual([
        `error: cannot connect to Postgres at postgres://ops:***@127.0.0.1:${port}/tracker: connection refused (is Postgres running? DATABASE_URL sets where)`,
      ]);
      expect(result.stderr).not.toContain('hunter2');
    });

    it('a Postgres that accepts connections but never answers fails after the timeout, exit 1', async () => {
      // Accepts connections and never says a word.
      const server = createServer((socket) => held.add(socket));
      blackHole = server;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as { port: number };
      const result = await cli(['wallets', 'add', whale], { env: { DATABASE_URL: `postgres://ops:hunter2-secret@127.0.0.1:${port}/tracker` } });
      expect(result.code).toBe(1);
      expect(lines(result.stderr)).toEqual([`error: cannot connect to Postgres at postgres://ops:***@127.0.0.1:${port}/tracker: no answer within 5 s`]);
    });

    it('an unreachable Temporal is one line, exit 1; --verbose adds the stack trace', async () => {
      const port = await freePort();
      const env = { TEMPORAL_ADDRESS: `127.0.0.1:${port}` };
      const result = await cli(['status'], { env });
      expect(result.code).toBe(1);
      expect(lines(result.stderr)).toEqual([
        `error: cannot connect to Temporal at 127.0.0.1:${port}: Failed to connect before the deadline (is the server running? TEMPORAL_ADDRESS sets where)`,
      ]);
      const promote = await cli(['tiers', 'promote', whale, '--to', 'low'], { env });
      expect(promote.code).toBe(1);
      expect(lines(promote.stderr)).toEqual([expect.stringContaining(`cannot connect to Temporal at 127.0.0.1:${port}`)]);
      const withStack = await cli(['status', '--verbose'], { env });
      expect(withStack.code).toBe(1);
      expect(withStack.stderr).toMatch(STACK_LINE);
    });

    it('invalid configuration names the variable, exit 2', async () => {
      const result = await cli(['status'], { env: { TEMPORAL_ADDRESS: 'not a host' } });
      expect(result.code).toBe(2);
      expect(lines(result.stderr)).toEqual(["error: invalid configuration: TEMPORAL_ADDRESS: expected host:port, got 'not a host'"]);
      const worker = await cli(['worker']);
      expect(worker.code).toBe(2);
      expect(lines(worker.stderr)).toEqual([expect.stringContaining('SOLANA_RPC_URL is required to run a worker')]);
    });
  });
});
