// Hostile input: addresses no sane client sends (through the real CLI), signals with thousands
// of addresses, duplicates, invalid tiers and garbage payloads (through the Temporal client),
// and a worker started against servers that are not there. Each is refused with a clear
// reason; nothing is written; nothing else is disturbed.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Address, checkAddress } from '../../src/address';
import { addWallets } from '../../src/db/wallets';
import { freePort } from '../../src/free-port';
import { requestTierSweep } from '../../src/tier-control';
import { tierWorkflowId } from '../../src/tiers';
import { MAX_PROMOTE_ADDRESSES, type PromotionReport, promoteWalletsSignal, requestSweepSignal } from '../../workflows/definitions';
import { testAddresses } from '../helpers/addresses';
import { type Engine, startEngine } from '../helpers/engine';
import { brokenPromises, checkPromises, dbNow, recordFigures, waitFor } from '../helpers/reliability';
import { spawnWorker } from '../helpers/worker-process';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'balance-tracker.js');
const STACK_LINE = /^\s+at /m;
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let engine: Engine;
let dir: string;
const figures: Record<string, unknown> = {};

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...engine.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Every row of every table, as text: what "nothing else disturbed" compares. */
async function snapshot(): Promise<{ wallets: string[]; balanceChanges: string[]; batchChecks: string[] }> {
  const text = async (table: string, order: string) =>
    (await engine.sql<{ row: string }[]>`SELECT t::text AS row FROM ${engine.sql(table)} t ORDER BY ${engine.sql.unsafe(order)}`).map((r) => r.row);
  return {
    wallets: await text('wallets', 'id'),
    balanceChanges: await text('balance_changes', 'wallet_id, slot'),
    batchChecks: await text('batch_checks', 'batch_key'),
  };
}

async function walletCount(addresses: string[]): Promise<number> {
  const [row] = await engine.sql<{ n: bigint }[]>`SELECT count(*) AS n FROM wallets WHERE address = ANY(${addresses}::text[])`;
  return Number(row!.n);
}

const BASELINE = 200;
const MOVABLE = 2_000;
let baseline: string[];
let movable: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bt-hostile-'));
  engine = await startEngine({ simulator: { wallets: BASELINE + MOVABLE, seed: 'hostile', slotMs: 200 }, env: { TIER_HIGH_INTERVAL: '4s' } });
  baseline = engine.sim.world.addresses(0, BASELINE);
  movable = engine.sim.world.addresses(BASELINE, MOVABLE);
  await addWallets(engine.sql, baseline as Address[], 'high');
  await addWallets(engine.sql, movable as Address[], 'medium');
  // The baseline wallets hold balances, history and batch rows that hostile input must not touch.
  await requestTierSweep(engine.client, engine.config, 'high', 'baseline');
  await engine.waitForSweeps('high', 1, 120_000);
}, 300_000);

afterAll(async () => {
  recordFigures('hostile input', figures);
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

const [valid] = testAddresses(1, 'hostile-template');
/** Each a value someone might feed the intake, and a word on what it is. */
const HOSTILE: [string, string][] = [
  ['too short', '1111'],
  ['too long (45 base58 characters)', 'A'.repeat(45)],
  ['44 characters that decode to 33 bytes', 'z'.repeat(44)],
  ['non-base58 0, O, I, l', `0OIl${valid!.slice(4)}`],
  ['leading space', ` ${valid}`],
  ['tab inside', `${valid!.slice(0, 10)}\t${valid!.slice(10)}`],
  ['trailing no-break space', `${valid}\u00a0`],
  ['zero-width space', `${valid}\u200b`],
  ['zero-width joiner inside', `${valid!.slice(0, 5)}\u200d${valid!.slice(5)}`],
  ['byte order mark inside', `${valid!.slice(0, 7)}\ufeff${valid!.slice(7)}`],
  ['right-to-left override', `\u202e${valid}`],
  ['Cyrillic homoglyph', `\u0410${valid!.slice(1)}`],
  ['fullwidth digit', `\uff11${valid!.slice(1)}`],
  ['SQL: drop table', `'); DROP TABLE wallets; --`],
  ['SQL: always true', `${valid}' OR '1'='1`],
  ['SQL: union', `x' UNION SELECT address FROM wallets --`],
  ['escape sequences', '\u001b[2J\u001b[31mPWNED\u001b[0m'],
  ['HTML', '<script>alert(1)</script>'],
  ['emoji', '\u{1F4B0}'.repeat(16)],
];

describe('hostile addresses through the CLI', () => {
  it('wallets add: every hostile argument is named with its reason, and nothing at all is written', async () => {
    const before = await snapshot();
    const fresh = testAddresses(1, 'hostile-add-valid')[0]!;
    const huge = 'A'.repeat(100_000);
    const result = await cli(['wallets', 'add', '--tier', 'high', fresh, ...HOSTILE.map(([, v]) => v), huge]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(STACK_LINE);
    const errors = lines(result.stderr);
    expect(errors.at(-1)).toBe(`error: nothing was changed: ${HOSTILE.length + 1} of ${HOSTILE.length + 2} addresses are invalid`);
    // One line per hostile value (in order), each with a reason after the quoted value.
    const named = errors.filter((l) => l.includes('invalid address'));
    expect(named).toHaveLength(HOSTILE.length + 1);
    for (const line of named) expect(line).toMatch(/invalid address ".*": (invalid character|too (short|long)|decodes to|contains whitespace)/);
    expect(named.at(-1)).toContain('too long: 100000 characters');
    // No terminal control sequence gets through to the operator's terminal.
    expect(result.stderr).not.toContain('\u001b');
    expect(await walletCount([fresh])).toBe(0);
    expect(await snapshot()).toEqual(before);
    figures.addArgumentsRejected = named.length;
  });

  it('wallets import: hostile lines, a 10 MB line and binary garbage are rejected line by line; only the valid lines are added', async () => {
    const before = await snapshot();
    const good = testAddresses(3, 'hostile-import-valid');
    // Deterministic garbage: 64 kB of hash output, newlines and NULs included.
    const garbage = Buffer.concat(Array.from({ length: 2048 }, (_, i) => createHash('sha256').update(`garbage ${i}`).digest()));
    const content = Buffer.concat([
      Buffer.from(`${good[0]}\n`),
      Buffer.from(HOSTILE.map(([, v]) => v).join('\n') + '\n'),
      Buffer.from(`${valid}\u0000\n`),
      Buffer.from(`${good[1]}\r\n`),
      Buffer.alloc(10 * 1024 * 1024, 'A'),
      Buffer.from('\n'),
      garbage,
      Buffer.from(`\n${good[2]}\n`),
    ]);
    const path = join(dir, 'hostile.txt');
    writeFileSync(path, content);
    const result = await cli(['wallets', 'import', path, '--json']);
    expect(result.code).toBe(3);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr).not.toContain('\u001b');
    const summary = JSON.parse(result.stdout) as { imported: number; rejected: number; alreadyTracked: number; duplicates: number; rejectsFile: string };
    expect(summary).toMatchObject({ imported: 3, alreadyTracked: 0, duplicates: 0 });
    // The hostile values, the NUL line, the 10 MB line and at least one garbage line.
    expect(summary.rejected).toBeGreaterThanOrEqual(HOSTILE.length + 3);
    const rejects = lines(readFileSync(summary.rejectsFile, 'utf8')).slice(1).map((l) => l.split('\t'));
    expect(rejects).toHaveLength(summary.rejected);
    for (const [number, reason] of rejects) {
      expect(Number(number)).toBeGreaterThan(1);
      expect(reason).toMatch(/invalid character|too (short|long)|decodes to|contains whitespace|not UTF-8|line too long/);
    }
    expect(rejects.map(([, reason]) => reason)).toContain(`line too long (${10 * 1024 * 1024} bytes; at most 1000)`);
    expect(rejects.some(([, reason]) => reason === 'not UTF-8 text')).toBe(true);

    // Exactly the three valid lines were added, in the default tier; everything else is as it was.
    const after = await snapshot();
    expect(await walletCount(good)).toBe(3);
    const added = after.wallets.filter((row) => !before.wallets.includes(row));
    expect(added).toHaveLength(3);
    expect(after.wallets.filter((row) => before.wallets.includes(row))).toEqual(before.wallets);
    expect({ balanceChanges: after.balanceChanges, batchChecks: after.batchChecks }).toEqual({ balanceChanges: before.balanceChanges, batchChecks: before.batchChecks });
    figures.importLinesRejected = summary.rejected;
    figures.importLinesImported = summary.imported;
  });

  it('the validator itself gives every hostile value a reason (src/address.ts, as the workflows use it)', () => {
    for (const [what, value] of [...HOSTILE, ['NUL', `${valid}\u0000`], ['10 MB', 'A'.repeat(10 * 1024 * 1024)]] as [string, string][]) {
      const check = checkAddress(value);
      expect({ what, ok: check.ok }).toEqual({ what, ok: false });
      if (!check.ok) expect(check.reason.length).toBeGreaterThan(5);
    }
  });
});

describe('hostile promoteWallets signals', () => {
  const handle = () => engine.client.workflow.getHandle(tierWorkflowId('high'));

  /** The report of a promotion matching `match`, once the tier workflow has made it. */
  function report(match: (r: PromotionReport) => boolean): Promise<PromotionReport> {
    return waitFor('the promotion report', async () => (await engine.progress('high')).promotions.find(match), 60_000, 200);
  }

  it('10,000 addresses with duplicates, unknown and invalid ones: exact counts, only tracked wallets move', async () => {
    const untracked = testAddresses(6_000, 'hostile-untracked');
    const invalid = Array.from({ length: 1_000 }, (_, i) => HOSTILE[i % HOSTILE.length]![1] + String(i));
    const addresses = [...movable, ...movable.slice(0, 1_000), ...untracked, ...invalid];
    expect(addresses).toHaveLength(MAX_PROMOTE_ADDRESSES);
    await handle().signal(promoteWalletsSignal, { tier: 'high', addresses });
    const r = await report((p) => p.requested === MAX_PROMOTE_ADDRESSES);
    expect(r).toMatchObject({ tier: 'high', moved: MOVABLE, unchanged: 0, unknownCount: 6_000, invalidCount: 1_000, error: null });
    expect(r.invalid).toHaveLength(20);
    expect(r.unknown).toHaveLength(20);
    const [tiers] = await engine.sql<{ high: bigint }[]>`SELECT count(*) FILTER (WHERE tier = 'high') AS high FROM wallets WHERE address = ANY(${movable}::text[])`;
    expect(tiers!.high).toBe(BigInt(MOVABLE));
    expect(await walletCount(untracked)).toBe(0);
    figures.signalAddresses = addresses.length;
  });

  it('more than 10,000 addresses, unknown tiers and garbage payloads are reported as errors and move nothing', async () => {
    const before = await snapshot();
    const h = handle();
    const tooMany = testAddresses(MAX_PROMOTE_ADDRESSES + 1, 'hostile-too-many');
    const send = (payload: unknown) => h.signal(promoteWalletsSignal, payload as never);
    await send({ tier: 'low', addresses: tooMany });
    await send({ tier: 'ultra', addresses: baseline.slice(0, 5) });
    await send({ tier: 42, addresses: baseline.slice(0, 5) });
    await send(null);
    await send('promote everything');
    await send({ tier: 'low', addresses: 'all' });
    await send({ tier: 'low', addresses: [1, null, {}, ['a'], true, 'A'.repeat(1_000_000)] });
    // Payloads that are not even JSON, sent around the typed client: an unknown encoding, and
    // json/plain whose bytes do not parse. Each once as promoteWallets and once as requestSweep.
    const raw = (signalName: string, encoding: string, data: string) =>
      engine.client.workflowService.signalWorkflowExecution({
        namespace: engine.config.temporal.namespace,
        workflowExecution: { workflowId: tierWorkflowId('high') },
        signalName,
        input: { payloads: [{ metadata: { encoding: new TextEncoder().encode(encoding) }, data: new TextEncoder().encode(data) }] },
        identity: 'hostile-input-test',
      });
    await raw(promoteWalletsSignal.name, 'binary/garbage', '\u00ff\u0000\u00fe');
    await raw(promoteWalletsSignal.name, 'json/plain', '{"tier": "high", "addresses": [');

    expect(await report((p) => p.requested === MAX_PROMOTE_ADDRESSES + 1)).toMatchObject({
      moved: 0,
      error: `too many addresses (${MAX_PROMOTE_ADDRESSES + 1}); at most ${MAX_PROMOTE_ADDRESSES} per signal`,
    });
    expect(await report((p) => p.tier === 'ultra')).toMatchObject({ moved: 0, error: "unknown tier 'ultra': expected high, medium or low" });
    expect(await report((p) => p.tier === '42')).toMatchObject({ moved: 0, error: expect.stringContaining('unknown tier') });
    expect(await report((p) => p.tier === 'undefined')).toMatchObject({ moved: 0, error: expect.stringContaining('unknown tier') });
    expect(await report((p) => p.error === 'addresses must be a list')).toMatchObject({ tier: 'low', moved: 0 });
    const garbage = await report((p) => p.requested === 6);
    expect(garbage).toMatchObject({ tier: 'low', moved: 0, invalidCount: 6, error: null });
    expect(garbage.invalid.map((i) => i.reason)).toEqual([...Array(5).fill('not a string'), 'too long: 1000000 characters, an address has 32 to 44']);
    expect(garbage.invalid.every((i) => i.address.length <= 64)).toBe(true);
    const undecodable = await waitFor('both undecodable reports', async () => {
      const found = (await engine.progress('high')).promotions.filter((p) => p.error?.startsWith('undecodable signal input: '));
      return found.length === 2 ? found : undefined;
    }, 60_000);
    expect(undecodable.map((p) => p.error)).toEqual([expect.stringMatching(/JSON/i), expect.stringContaining('binary/garbage')]);
    // Nothing moved or written.
    expect(await snapshot()).toEqual(before);
    // A well-formed signal after all that is still served.
    await send({ tier: 'high', addresses: [movable[0]] });
    expect(await report((p) => p.requested === 1 && p.tier === 'high')).toMatchObject({ unchanged: 1, error: null });

    // requestSweep with garbage: a request to sweep (coalesced), never a crash.
    const sweepsBefore = (await engine.progress('high')).totals.sweeps;
    await h.signal(requestSweepSignal, null as never);
    await h.signal(requestSweepSignal, { reason: 'R'.repeat(100_000) });
    await raw(requestSweepSignal.name, 'binary/garbage', 'x');
    await raw(requestSweepSignal.name, 'json/plain', '{"reason":');
    const swept = await waitFor('the requested sweeps', async () => {
      const p = await engine.progress('high');
      return p.totals.sweeps > sweepsBefore && p.state === 'idle' && !p.pendingSweep ? p : undefined;
    }, 120_000);
    expect(swept.lastSweep!.reason.length).toBeLessThanOrEqual(200);
    expect(swept.totals.sweeps - sweepsBefore).toBeLessThanOrEqual(2);

    // The workflow is healthy: running, answering, no failed workflow task.
    const description = await h.describe();
    expect(description.status.name).toBe('RUNNING');
    const history = await h.fetchHistory();
    const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
    expect(failedTasks.map((e) => e.workflowTaskFailedEventAttributes?.failure?.message)).toEqual([]);
    figures.garbageSignals = 13;
  });

  it('the tier still sweeps after all of it: the baseline and the promoted wallets are checked', async () => {
    // Half the 4 s interval after the last sweep, every wallet is due again.
    await sleep(2_500);
    const start = await dbNow(engine.sql);
    const sweeps = (await engine.progress('high')).totals.sweeps;
    await requestTierSweep(engine.client, engine.config, 'high', 'after hostile input');
    const progress = await engine.waitForSweeps('high', sweeps + 1, 180_000);
    expect(progress.lastSweep).toMatchObject({ due: BASELINE + MOVABLE, walletsChecked: BASELINE + MOVABLE, batchesFailed: 0 });
    const report = await checkPromises(engine.sql, engine.sim, { tier: 'high', checkedSince: start.toISOString() });
    expect(brokenPromises(report)).toEqual({});
  });
});

describe('a worker started against servers that are not there', () => {
  const blackHoles: Server[] = [];
  const held: Socket[] = [];
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    for (const server of blackHoles) await new Promise<void>((r) => server.close(() => r()));
  });

  /** Accepts connections and never says a word. */
  async function blackHole(): Promise<number> {
    const server = createServer((socket) => held.push(socket));
    blackHoles.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as { port: number }).port;
  }

  /** Runs `balance-tracker worker`; it must give up on its own, well within a minute. */
  async function failingWorker(env: Record<string, string>) {
    const started = Date.now();
    const worker = spawnWorker({ ...engine.env, ...env });
    const timer = setTimeout(() => worker.kill('SIGKILL'), 60_000);
    const exit = await worker.exited;
    clearTimeout(timer);
    return { exit, seconds: (Date.now() - started) / 1000, stderr: worker.stderr(), stdout: worker.stdout() };
  }

  it('one clear line and a non-zero exit for each: Postgres refused or silent, Temporal refused or silent, bad configuration', async () => {
    const refused = await freePort();
    const silent = await blackHole();
    const cases: { env: Record<string, string>; code: number; line: RegExp }[] = [
      { env: { DATABASE_URL: `postgres://ops:hunter2-secret@127.0.0.1:${refused}/tracker` }, code: 1, line: /^error: cannot connect to Postgres at postgres:\/\/ops:\*\*\*@127\.0\.0\.1:\d+\/tracker: connection refused/ },
      { env: { DATABASE_URL: `postgres://ops:hunter2-secret@127.0.0.1:${silent}/tracker` }, code: 1, line: /^error: cannot connect to Postgres at .*: no answer within 5 s$/ },
      { env: { TEMPORAL_ADDRESS: `127.0.0.1:${refused}` }, code: 1, line: /^error: cannot connect to Temporal at 127\.0\.0\.1:\d+: .+ \(is the server running\? TEMPORAL_ADDRESS sets where\)$/ },
      { env: { TEMPORAL_ADDRESS: `127.0.0.1:${silent}` }, code: 1, line: /^error: cannot connect to Temporal at 127\.0\.0\.1:\d+: / },
      { env: { RPC_MAX_RPS: 'lots' }, code: 2, line: /^error: invalid configuration: RPC_MAX_RPS: expected a number/ },
      { env: { TEMPORAL_NAMESPACE: 'no-such-namespace' }, code: 1, line: /no-such-namespace/ },
    ];
    const outcomes = [];
    for (const c of cases) {
      const result = await failingWorker(c.env);
      outcomes.push({ env: Object.keys(c.env)[0], code: result.exit.code, seconds: result.seconds, stderr: result.stderr.trim() });
      expect({ env: c.env, exit: result.exit }).toEqual({ env: c.env, exit: { code: c.code, signal: null } });
      expect(lines(result.stderr)).toEqual([expect.stringMatching(c.line)]);
      expect(result.stderr).not.toMatch(STACK_LINE);
      expect(result.stderr).not.toContain('hunter2');
      expect(result.seconds).toBeLessThan(60);
    }
    figures.startupFailures = outcomes;
  }, 600_000);
});
