// The service's promises, checked against the simulator's truth after a fault test:
// - every due wallet was checked: a recorded batch covers it, and the simulator really served
//   its balance at that batch's slot (a batch row alone proves nothing); none twice in a sweep;
// - each wallet holds the true balance at its slot, and at the slot of its latest read;
// - history rows are exactly the observed changes: the first observation, then one row at each
//   read whose true balance differs from the previous read's, nothing else;
// - no wallet's slot, and no wallet's read slot, ever went backwards;
// - the RPC budget (a token bucket) was never overdrawn.
// Figures go to test-artifacts/reliability.json for docs/reliability.md.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { MAX_CALL_DELAY_MS } from '../../src/rpc/attempt';
import type { Sql } from '../../src/db/client';
import type { SimulatorHandle } from '../../tools/simulator/server';
import type { SimulatorStats } from '../../tools/simulator/stats';
import type { Tier } from '../../src/tiers';

export interface PromiseReport {
  wallets: number;
  /** Wallets read by at least one recorded batch whose read the simulator served. */
  walletsChecked: number;
  /** Recorded wallet reads the simulator served, per address and slot (a wallet read in two sweeps counts twice). */
  walletReads: number;
  /** Distinct (address, slot) balances of the tier's wallets the simulator served, recorded or not. */
  servedReads: number;
  batches: number;
  historyRows: number;
  expectedHistoryRows: number;
  /** Examples (up to 10) and counts of each broken promise. */
  neverChecked: string[];
  /** Wallets a batch row marks checked at a slot the simulator never served their balance at. */
  recordedNotServed: string[];
  recordedNotServedCount: number;
  notCheckedSince: string[];
  notCheckedSinceCount: number;
  checkedTwiceInASweep: string[];
  wrongBalance: string[];
  wrongBalanceCount: number;
  missingHistory: string[];
  missingHistoryCount: number;
  extraHistory: string[];
  extraHistoryCount: number;
  readSlotRegressions: string[];
  negativeLamports: number;
}

const EXAMPLES = 10;

/**
 * Checks the promises for the wallets of `tier` against the simulator's world and the reads it
 * served (started with recordReads). With `checkedSince` (an ISO time, e.g. when a sweep
 * began), every wallet must have been read at or after it.
 */
export async function checkPromises(
  sql: Sql,
  sim: Pick<SimulatorHandle, 'world' | 'reads'>,
  { tier, checkedSince }: { tier: Tier; checkedSince?: string },
): Promise<PromiseReport> {
  const { world } = sim;
  const served = sim.reads();
  const wallets = await sql<{ id: number; address: string; lamports: bigint | null; onChain: boolean | null; slot: bigint | null }[]>`
    SELECT id, address, lamports, on_chain, slot FROM wallets
    WHERE tier = ${tier} AND invalid_reason IS NULL ORDER BY id`;
  const reads = await sql<{ id: number; slot: bigint; readAt: Date; sweep: string }[]>`
    SELECT w.id, b.slot, b.read_at, split_part(b.batch_key, '/', 1) AS sweep
    FROM wallets w JOIN batch_checks b ON b.tier = w.tier AND w.id = ANY(b.wallet_ids) AND b.read_at > w.tier_since
    WHERE w.tier = ${tier} AND w.invalid_reason IS NULL
    ORDER BY w.id, b.read_at`;
  const history = await sql<{ walletId: number; slot: bigint; lamports: bigint }[]>`
    SELECT c.wallet_id, c.slot, c.lamports FROM balance_changes c JOIN wallets w ON w.id = c.wallet_id
    WHERE w.tier = ${tier} AND w.invalid_reason IS NULL ORDER BY c.wallet_id, c.slot`;
  const [batches] = await sql<{ n: bigint }[]>`SELECT count(*) AS n FROM batch_checks WHERE tier = ${tier}`;
  const [negative] = await sql<{ n: bigint }[]>`
    SELECT (SELECT count(*) FROM wallets WHERE lamports < 0) + (SELECT count(*) FROM balance_changes WHERE lamports < 0) AS n`;

  const readsOf = groupBy(reads, (r) => r.id);
  const historyOf = groupBy(history, (r) => r.walletId);
  const since = checkedSince ? Date.parse(checkedSince) : null;
  const report: PromiseReport = {
    wallets: wallets.length,
    walletsChecked: 0,
    walletReads: 0,
    servedReads: 0,
    batches: Number(batches!.n),
    historyRows: history.length,
    expectedHistoryRows: 0,
    neverChecked: [],
    recordedNotServed: [],
    recordedNotServedCount: 0,
    notCheckedSince: [],
    notCheckedSinceCount: 0,
    checkedTwiceInASweep: [],
    wrongBalance: [],
    wrongBalanceCount: 0,
    missingHistory: [],
    missingHistoryCount: 0,
    extraHistory: [],
    extraHistoryCount: 0,
    readSlotRegressions: [],
    negativeLamports: Number(negative!.n),
  };
  const note = (list: string[], text: string) => {
    if (list.length < EXAMPLES) list.push(text);
  };

  for (const wallet of wallets) {
    const { id } = wallet;
    const servedSlots = served.get(wallet.address) ?? new Map<number, number>();
    report.servedReads += servedSlots.size;
    // A recorded read counts only when the simulator served this address at the batch's slot,
    // each served answer backing one recorded read (two sweeps at one slot need two answers).
    const unused = new Map(servedSlots);
    const own: (typeof reads)[number][] = [];
    const missed: bigint[] = [];
    for (const read of readsOf.get(id) ?? []) {
      const left = unused.get(Number(read.slot)) ?? 0;
      if (left > 0) {
        unused.set(Number(read.slot), left - 1);
        own.push(read);
      } else missed.push(read.slot);
    }
    if (missed.length) {
      report.recordedNotServedCount++;
      const servedAt = [...servedSlots].map(([slot, n]) => `${slot}×${n}`).join(', ') || 'no slot';
      note(report.recordedNotServed, `${wallet.address}: recorded at slot ${missed.join(', ')}, served ${servedAt}`);
    }
    if (own.length === 0) {
      note(report.neverChecked, wallet.address);
      continue;
    }
    report.walletsChecked++;
    report.walletReads += own.length;
    if (since !== null && !own.some((r) => r.readAt.getTime() >= since)) {
      report.notCheckedSinceCount++;
      note(report.notCheckedSince, wallet.address);
    }
    const sweeps = own.map((r) => r.sweep);
    if (new Set(sweeps).size !== sweeps.length) note(report.checkedTwiceInASweep, wallet.address);

    // What the reads saw, in the order they happened; each change is one expected history row.
    const expected = new Map<bigint, bigint>();
    let previous: bigint | null | undefined;
    let lastSlot = -1n;
    for (const read of own) {
      if (read.slot < lastSlot) note(report.readSlotRegressions, `${wallet.address}: read at slot ${read.slot} after ${lastSlot}`);
      lastSlot = read.slot > lastSlot ? read.slot : lastSlot;
      const truth = world.balanceAt(wallet.address, read.slot);
      if (previous === undefined || truth !== previous) expected.set(read.slot, truth ?? 0n);
      previous = truth;
    }
    report.expectedHistoryRows += expected.size;
    const actual = new Map((historyOf.get(id) ?? []).map((h) => [h.slot, h.lamports]));
    for (const [slot, lamports] of expected) {
      if (actual.get(slot) !== lamports) {
        report.missingHistoryCount++;
        note(report.missingHistory, `${wallet.address} @${slot}: expected ${lamports}, got ${actual.get(slot) ?? 'no row'}`);
      }
    }
    for (const [slot, lamports] of actual) {
      if (!expected.has(slot)) {
        report.extraHistoryCount++;
        note(report.extraHistory, `${wallet.address} @${slot}: ${lamports}, not an observed change`);
      }
    }

    // The stored balance is the truth at its slot, and still the truth at the latest read.
    const stored = wallet.lamports;
    const atSlot = wallet.slot === null ? undefined : world.balanceAt(wallet.address, wallet.slot);
    const atLastRead = world.balanceAt(wallet.address, lastSlot);
    const ok =
      stored !== null &&
      atSlot !== undefined &&
      stored === (atSlot ?? 0n) &&
      wallet.onChain === (atSlot !== null) &&
      atLastRead === atSlot &&
      wallet.slot! <= lastSlot;
    if (!ok) {
      report.wrongBalanceCount++;
      note(report.wrongBalance, `${wallet.address}: stored ${stored} @${wallet.slot}, truth ${atSlot} there and ${atLastRead} @${lastSlot} (latest read)`);
    }
  }
  return report;
}

/** The broken promises of a report (empty when all hold), for one readable assertion. */
export function brokenPromises(report: PromiseReport): Record<string, unknown> {
  const broken: Record<string, unknown> = {};
  if (report.neverChecked.length) broken.neverChecked = report.neverChecked;
  if (report.recordedNotServedCount) broken.recordedNotServed = { count: report.recordedNotServedCount, examples: report.recordedNotServed };
  if (report.notCheckedSinceCount) broken.notCheckedSince = { count: report.notCheckedSinceCount, examples: report.notCheckedSince };
  if (report.checkedTwiceInASweep.length) broken.checkedTwiceInASweep = report.checkedTwiceInASweep;
  if (report.wrongBalanceCount) broken.wrongBalance = { count: report.wrongBalanceCount, examples: report.wrongBalance };
  if (report.missingHistoryCount) broken.missingHistory = { count: report.missingHistoryCount, examples: report.missingHistory };
  if (report.extraHistoryCount) broken.extraHistory = { count: report.extraHistoryCount, examples: report.extraHistory };
  if (report.readSlotRegressions.length) broken.readSlotRegressions = report.readSlotRegressions;
  if (report.negativeLamports) broken.negativeLamports = report.negativeLamports;
  if (report.historyRows !== report.expectedHistoryRows) broken.historyRows = { actual: report.historyRows, expected: report.expectedHistoryRows };
  return broken;
}

function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(item);
  }
  return out;
}

/**
 * Samples every wallet's slot every `everyMs` while a test breaks things, and remembers any
 * wallet whose slot went down between two samples. Failed samples (Postgres down) are skipped.
 */
export function watchSlots(sql: Sql, everyMs = 2_000) {
  const last = new Map<number, bigint>();
  const regressions: string[] = [];
  let samples = 0;
  let failedSamples = 0;
  let stopped = false;
  const sample = async () => {
    try {
      const rows = await sql<{ id: number; slot: bigint }[]>`SELECT id, slot FROM wallets WHERE slot IS NOT NULL`;
      for (const row of rows) {
        const before = last.get(row.id);
        if (before !== undefined && row.slot < before && regressions.length < EXAMPLES) regressions.push(`wallet ${row.id}: slot ${before} -> ${row.slot}`);
        last.set(row.id, row.slot);
      }
      samples++;
    } catch {
      failedSamples++;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sample();
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<{ samples: number; failedSamples: number; regressions: string[] }> {
      stopped = true;
      await loop;
      await sample();
      return { samples, failedSamples, regressions };
    },
  };
}

/** Arrival times that a token bucket (rate per second, capacity) would not have had a token for. */
export function tokenBucketOverdrafts(times: readonly number[], rate: number, capacity: number): number[] {
  let tokens = capacity;
  let last = times[0] ?? 0;
  const overdrafts: number[] = [];
  for (const t of times) {
    tokens = Math.min(capacity, tokens + ((t - last) * rate) / 1000);
    last = t;
    // A millisecond of clock granularity on each side.
    if (tokens < 1 - (2 * rate) / 1000) overdrafts.push(t);
    else tokens -= 1;
  }
  return overdrafts;
}

/**
 * The burst a token bucket at the provider must allow: Temporal's task-queue rate limit allows one
 * second's worth (the servers here run one partition per queue). With several worker processes
 * each paces only its own calls, and a call may come up to MAX_CALL_DELAY_MS after its turn, so
 * turns given that much earlier can land with newer ones: RPC_MAX_RPS × that delay more.
 */
export const budgetBurst = (rps: number, workers = 1): number => rps + (workers > 1 ? Math.ceil((rps * MAX_CALL_DELAY_MS) / 1000) : 0);

/** Requests that a 429 told to wait but came back sooner (same question, earlier than Retry-After). */
export function earlyRetries(arrivals: SimulatorStats['arrivals'], retryAfterMs: number): string[] {
  const early: string[] = [];
  for (const [i, a] of arrivals.entries()) {
    if (a.outcome !== 'http_429') continue;
    const retry = arrivals.slice(i + 1).find((b) => b.key === a.key);
    // 5 ms of clock granularity between the simulator's and Temporal's timers.
    if (retry && retry.at - a.at < retryAfterMs - 5) early.push(`${a.key}: after ${retry.at - a.at} ms`);
  }
  return early;
}

/** RPC requests beyond one per recorded batch: retries, and calls whose write was lost to a fault. */
export function rpcRetries(stats: SimulatorStats, batches: number): number {
  return stats.httpRequests - batches;
}

/**
 * Workflows of one engine (its task queue: a file's tests share its namespace, and a finished
 * test's workflows are terminated) that ended badly: failed, timed out or terminated.
 */
export async function unhealthyWorkflows(client: Client, taskQueue: string): Promise<string[]> {
  const bad: string[] = [];
  const query = `TaskQueue = '${taskQueue}' AND (ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut' OR ExecutionStatus = 'Terminated')`;
  for await (const execution of client.workflow.list({ query })) bad.push(`${execution.workflowId}: ${execution.status.name}`);
  return bad;
}

/** Polls `probe` until it returns a value that is not undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(everyMs);
  }
}

/** The database's clock (batch_checks.read_at is on it). */
export async function dbNow(sql: Sql): Promise<Date> {
  const [row] = await sql<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
  return row!.now;
}

/** Batches recorded so far for a tier (one row per batch written). */
export async function recordedBatches(sql: Sql, tier: Tier, since?: Date): Promise<number> {
  const [row] = await sql<{ n: bigint }[]>`
    SELECT count(*) AS n FROM batch_checks WHERE tier = ${tier} AND read_at >= ${since ?? new Date(0)}`;
  return Number(row!.n);
}

const FIGURES_FILE = join(__dirname, '..', '..', 'test-artifacts', 'reliability.json');

/** Merges one test's figures into test-artifacts/reliability.json. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  mkdirSync(join(FIGURES_FILE, '..'), { recursive: true });
  withFileLock(`${FIGURES_FILE}.lock`, () => {
    let all: Record<string, unknown> = {};
    try {
      all = JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as Record<string, unknown>;
    } catch {
      // first figures of the run
    }
    all[name] = { ...figures, recordedAt: new Date().toISOString() };
    writeFileSync(FIGURES_FILE, `${JSON.stringify(all, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
  });
}

const LOCK_WAIT_MS = 10_000;

/**
 * Runs `update` holding a lock (a directory: creating one is atomic): test files run in parallel,
 * and two read-merge-writes at once would lose one's figures. A lock held longer than
 * LOCK_WAIT_MS is one a killed process left behind, and is taken over.
 */
function withFileLock(lock: string, update: () => void): void {
  let deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      } else {
        rmSync(lock, { recursive: true, force: true });
        deadline = Date.now() + LOCK_WAIT_MS;
      }
    }
  }
  try {
    update();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The usual figures of a fault test, from the promise report and the simulator's counters. */
export function faultFigures(report: PromiseReport, stats: SimulatorStats, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    wallets: report.wallets,
    walletsChecked: report.walletsChecked,
    walletReads: report.walletReads,
    servedReads: report.servedReads,
    batches: report.batches,
    rpcRequests: stats.httpRequests,
    rpcOutcomes: stats.httpOutcomes,
    retries: rpcRetries(stats, report.batches),
    historyRows: report.historyRows,
    rowsLost: report.missingHistoryCount + report.neverChecked.length,
    duplicates: report.extraHistoryCount + report.checkedTwiceInASweep.length,
    wrongBalances: report.wrongBalanceCount,
    ...extra,
  };
}

/**
 * Every string in a history or description, payload bytes decoded as UTF-8, one per line.
 * JSON.stringify would not do: protobuf messages have a toJSON that turns bytes into base64,
 * where a key inside a payload is not findable.
 */
export function asText(value: unknown): string {
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'object' && v !== null && !seen.has(v)) {
      seen.add(v);
      for (const item of Array.isArray(v) ? v : v instanceof Map ? [...v.entries()] : Object.values(v)) walk(item);
    }
  };
  walk(value);
  return out.join('\n');
}
