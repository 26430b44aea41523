// The report: one object per run plus parameters, machine and targets (report.json), a
// table (report.md, also printed) and a chart (report.svg, log scale).

import { formatDuration } from '../src/duration';
import { TIERS, type Tier } from '../src/tiers';
import type { BenchParams } from './args';
import type { FreshnessStats, Percentile } from './freshness';
import type { ImportReport } from './import-run';
import { cpuMsPer100Wallets, type RunReport, type TokenFigures } from './results';
import type { SegmentationPlan, SegmentationRunReport } from './segmentation-run';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  node: string;
  platform: string;
  date: string;
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

export interface Target {
  target: string;
  status: 'met' | 'not met' | 'not measured';
  detail: string;
}

export interface SegmentationReport {
  plan: SegmentationPlan;
  runs: SegmentationRunReport[];
}

export interface Report {
  parameters: BenchParams & { trackerRpcMaxRps: number; v1InFlight: number };
  machine: Machine;
  runs: RunReport[];
  /** The segmentation pair (issue 7); null (or missing in older reports) when it did not run. */
  segmentation?: SegmentationReport | null;
  import: ImportReport | null;
  /** Runs that failed, with the error. */
  failures: { run: string; error: string }[];
  targets: Target[];
  totalSeconds: number;
}

export function evaluateTargets(params: BenchParams, runs: RunReport[], imported: ImportReport | null, segmentation: SegmentationReport | null = null): Target[] {
  const tracker = runs.find((r) => r.run === 'tracker');
  const targets: Target[] = [];
  const expected = Math.ceil(params.wallets / 100);
  if (!tracker) {
    if (params.runs.includes('tracker')) targets.push({ target: 'tracker targets', status: 'not measured', detail: 'the tracker did not run' });
  } else {
    const s = tracker.sweep;
    const gma = sumOutcomes(s.rpc.byMethod.getMultipleAccounts);
    const gb = sumOutcomes(s.rpc.byMethod.getBalance);
    const perTier = TIERS.reduce((a, t) => a + Math.ceil(tracker.tierCounts[t] / 100), 0);
    targets.push({
      target: `exactly ceil(N/100) = ${expected} getMultipleAccounts per full sweep, no getBalance`,
      status: !s.completed ? 'not measured' : gma === expected && gb === 0 ? 'met' : 'not met',
      detail:
        `${gma} getMultipleAccounts (${s.rpc.byMethod.getMultipleAccounts?.ok ?? 0} ok), ${gb} getBalance${s.completed ? '' : '; sweep not finished'}` +
        (perTier !== expected ? `; the tiers' sizes make ${perTier} the least possible (a batch never mixes tiers)` : ''),
    });
    const ninety = params.wallets >= 100_000 && params.rps === 50;
    targets.push({
      target: '≥ 90% of the ceiling (≥ 4,500 wallets/s) at 100,000 wallets and 50 requests/s',
      status: !ninety ? 'not measured' : s.completed && (s.efficiency ?? 0) >= 0.9 ? 'met' : 'not met',
      detail: `${s.walletsPerSecond} wallets/s${s.efficiency !== null ? ` = ${pct(s.efficiency)} of ${100 * params.rps}` : ''} at N = ${params.wallets}, ${params.rps || 'no'} rate limit${ninety ? '' : ' (needs N ≥ 100,000 and --rps 50)'}`,
    });
    const million = params.wallets >= 1_000_000 && params.rps === 0 && params.latencyMs <= 5;
    targets.push({
      target: '1,000,000-wallet sweep in under 5 minutes with no rate limit and 5 ms latency',
      status: !million ? 'not measured' : s.completed && s.seconds < 300 ? 'met' : 'not met',
      detail: `${s.seconds} s for ${params.wallets} wallets${s.completed ? '' : ' (extrapolated: not finished)'}${million ? '' : ' (needs --wallets 1000000 --rps 0 --latency-ms 5)'}`,
    });
    const sweeps = tracker.steady.sweeps ?? [];
    const rows = sweeps.reduce((a, x) => a + x.rowsWritten, 0);
    const bound = sweeps.reduce((a, x) => a + x.bound, 0);
    const worst = sweeps.filter((x) => x.rowsWritten > x.bound).length;
    targets.push({
      target: 'rows written per steady-state sweep ≤ changed wallets + batches',
      status: sweeps.length === 0 ? 'not measured' : worst === 0 ? 'met' : 'not met',
      detail:
        sweeps.length === 0
          ? 'no sweep completed in the steady state'
          : `${sweeps.length} sweeps: ${rows} rows written vs a bound of ${bound} (${worst} over the bound); per wallet checked ${ratio(rows, sweeps.reduce((a, x) => a + x.walletsChecked, 0))} vs v2-plan's 2`,
    });
    targets.push(...efficiencyTargets(params, tracker));
    targets.push({
      target: 'worker peak memory under 512 MB at 1,000,000 wallets',
      status: params.wallets < 1_000_000 ? 'not measured' : tracker.worker.hwmMb < 512 ? 'met' : 'not met',
      detail: `peak RSS ${tracker.worker.hwmMb} MB at N = ${params.wallets}`,
    });
  }
  const tokenRun = runs.find((r) => r.run === 'tracker-tokens');
  if (tokenRun?.tokens) targets.push(...tokenTargets(params, tokenRun, tokenRun.tokens));
  else if (params.runs.includes('tracker-tokens')) targets.push({ target: 'token run targets', status: 'not measured', detail: 'the tracker-tokens run did not finish' });
  if (segmentation || params.runs.some((r) => r === 'seg-off' || r === 'seg-on')) targets.push(segmentationTarget(segmentation));
  if (imported) {
    targets.push({
      target: `a ${imported.lines.toLocaleString('en-US')}-line wallets import finishes; time and peak memory reported`,
      status: !imported.measured ? 'not measured' : imported.exitCode === 0 && imported.walletsInDatabase === imported.lines ? 'met' : 'not met',
      detail: imported.measured
        ? `${imported.seconds} s (${imported.linesPerSecond} lines/s), peak RSS ${imported.peakRssMb} MB, ${imported.walletsInDatabase} wallets stored${imported.problem ? `; ${imported.problem}` : ''}`
        : (imported.problem ?? ''),
    });
  }
  return targets;
}

/** Issue 14's benchmark: each wallet and its ATAs, 100 accounts a call, the budget used, rows only for changed (wallet, mint) pairs. */
function tokenTargets(params: BenchParams, run: RunReport, t: TokenFigures): Target[] {
  const s = run.sweep;
  const gma = sumOutcomes(s.rpc.byMethod.getMultipleAccounts);
  const others = Object.entries(s.rpc.byMethod).filter(([m]) => m !== 'getMultipleAccounts').reduce((a, [, c]) => a + sumOutcomes(c), 0);
  const perTier = TIERS.reduce((a, tier) => a + Math.ceil((run.tierCounts[tier] * (1 + t.mints)) / 100), 0);
  const sweeps = run.steady.sweeps ?? [];
  const rows = sweeps.reduce((a, x) => a + x.rowsWritten, 0);
  // A change costs its balance-row write and its history row; an unchanged account nothing but its batch's one row.
  const onlyChanges = (x: (typeof sweeps)[number]): number => x.batches + 2 * (x.walletsChanged + (x.tokensChanged ?? 0));
  const bound = sweeps.reduce((a, x) => a + onlyChanges(x), 0);
  const pairs = sweeps.reduce((a, x) => a + (x.tokensChanged ?? 0), 0);
  return [
    {
      target: `tokens: exactly ceil(N × ${1 + t.mints} / 100) = ${t.expectedCalls} getMultipleAccounts per full sweep with ${t.mints} mints`,
      status: !s.completed ? 'not measured' : gma === t.expectedCalls && others === 0 ? 'met' : 'not met',
      detail:
        `${gma} getMultipleAccounts (${s.rpc.byMethod.getMultipleAccounts?.ok ?? 0} ok), ${others} other calls for ${t.accountsPerSweep} accounts${s.completed ? '' : '; sweep not finished'}` +
        (perTier !== t.expectedCalls ? `; the tiers' sizes make ${perTier} the least possible (a batch never mixes tiers)` : ''),
    },
    {
      target: 'tokens: share of the rate-limit ceiling reached (accounts/s over 100 × the limit)',
      status: t.accountShare === null ? 'not measured' : s.completed ? 'met' : 'not met',
      detail: `${t.accountsPerSecond} accounts/s${t.accountShare === null ? ' (no rate limit)' : ` = ${pct(t.accountShare)} of ${100 * params.rps}`}; ${outcomes(s.rpc)}`,
    },
    {
      target: 'tokens: rows per steady-state sweep ≤ 2 × (changed wallets + changed (wallet, mint) pairs) + batches',
      status: sweeps.length === 0 ? 'not measured' : sweeps.every((x) => x.rowsWritten <= onlyChanges(x)) ? 'met' : 'not met',
      detail:
        sweeps.length === 0
          ? 'no sweep completed in the steady state'
          : `${sweeps.length} sweeps: ${rows} rows written vs a bound of ${bound}; ${pairs} (wallet, mint) changes stored in them (${t.steadyTokenChanges} in the whole steady state, ${t.worldTokenChanges} made by the simulator)`,
    },
    {
      target: 'tokens: worker peak memory reported',
      status: 'met',
      detail: `peak RSS ${run.worker.hwmMb} MB at N = ${params.wallets} with ${t.mints} mints`,
    },
  ];
}

/** Issue 17's targets: CPU per wallet checked, the budget used, the worker's memory, the million-wallet sweep. */
function efficiencyTargets(params: BenchParams, tracker: RunReport): Target[] {
  const s = tracker.sweep;
  const cpu = cpuMsPer100Wallets(s);
  const gma = sumOutcomes(s.rpc.byMethod.getMultipleAccounts);
  const http429 = s.rpc.httpOutcomes.http_429 ?? 0;
  const expected = Math.ceil(params.wallets / 100);
  const budget = (rps: number, share: number): Target => {
    const applies = params.wallets === 100_000 && params.rps === rps;
    const ok = s.completed && (s.efficiency ?? 0) >= share && http429 === 0 && s.rpc.httpRequests === expected;
    return {
      target: `issue 17: ≥ ${share * 100} % of the ceiling in the full sweep at 100,000 wallets and ${rps} requests/s, 0 × 429, exactly ${num(expected)} requests`,
      status: !applies ? 'not measured' : ok ? 'met' : 'not met',
      detail: `${s.efficiency === null ? 'no limit' : pct(s.efficiency)} (${num(s.seconds, 1)} s), ${num(http429)} × 429, ${num(s.rpc.httpRequests)} requests (${num(gma)} getMultipleAccounts) at N = ${num(params.wallets)}, ${params.rps || 'no'} requests/s${applies ? '' : ` (needs --wallets 100000 --rps ${rps})`}`,
    };
  };
  const million = params.wallets >= 1_000_000 && params.rps === 0 && params.latencyMs <= 5;
  return [
    {
      target: 'issue 17: CPU of worker + Temporal + Postgres ≤ 8 ms per 100 wallets checked in the full sweep',
      status: cpu === null || !s.completed ? 'not measured' : cpu <= 8 ? 'met' : 'not met',
      detail: `${cpu === null ? '–' : `${num(cpu, 1)} ms`}: worker ${num(s.cpuSeconds, 1)} s + Temporal ${s.otherCpuSeconds.temporal === null ? '–' : num(s.otherCpuSeconds.temporal, 1)} s + Postgres ${num(s.otherCpuSeconds.postgres, 1)} s for ${num(s.walletsChecked)} wallets`,
    },
    budget(50, 0.98),
    budget(200, 0.95),
    {
      target: 'issue 17: worker peak memory ≤ 256 MB at 1,000,000 wallets (and ≤ 10 % above the 100,000-wallet figure: compare two reports)',
      status: params.wallets < 1_000_000 ? 'not measured' : tracker.worker.hwmMb <= 256 ? 'met' : 'not met',
      detail: `peak RSS ${num(tracker.worker.hwmMb)} MB at N = ${num(params.wallets)}`,
    },
    {
      target: 'issue 17: 1,000,000-wallet full sweep ≤ 60 s with no rate limit and 5 ms latency',
      status: !million ? 'not measured' : s.completed && s.seconds <= 60 ? 'met' : 'not met',
      detail: `${num(s.seconds, 1)} s for ${num(params.wallets)} wallets${million ? '' : ' (needs --wallets 1000000 --rps 0 --latency-ms 5)'}`,
    },
  ];
}

export const SEGMENTATION_TARGET = 5;

/** Busy wallets' p99 delay, seg-off over seg-on; null unless both ran and have one. */
export function segmentationRatio(segmentation: SegmentationReport | null | undefined): { off: Percentile; on: Percentile; ratio: number } | null {
  const off = segmentation?.runs.find((r) => r.run === 'seg-off')?.freshness.busy.p99;
  const on = segmentation?.runs.find((r) => r.run === 'seg-on')?.freshness.busy.p99;
  if (!off || !on) return null;
  return { off, on, ratio: on.ms > 0 ? off.ms / on.ms : Infinity };
}

function segmentationTarget(segmentation: SegmentationReport | null): Target {
  const target = `busy wallets' p99 delay from a change to Postgres falls ≥ ${SEGMENTATION_TARGET}× with segmentation on, at the same RPC budget`;
  const r = segmentationRatio(segmentation);
  if (!segmentation || !r) return { target, status: 'not measured', detail: 'needs both runs seg-off and seg-on (--runs seg-off,seg-on)' };
  const budget = segmentation.plan.rpcMaxRps;
  const sent = segmentation.runs.map((run) => `${run.run} ${run.requestsPerSecond}`).join(', ');
  const withinBudget = segmentation.runs.every((run) => run.requestsPerSecond <= budget);
  const engines = [...new Set(segmentation.runs.map((run) => run.engine))];
  if (engines.length > 1) {
    return { target, status: 'not measured', detail: `the service's code changed between the runs (${engines.join(' vs ')}): the two are not comparable; run them again` };
  }
  // A seg-on p99 that is only a lower bound could be larger: the ratio is then not known to be as high.
  const met = r.ratio >= SEGMENTATION_TARGET && !r.on.atLeast && withinBudget;
  return {
    target,
    status: met ? 'met' : 'not met',
    detail:
      `busy p99 ${seconds(r.off)} off vs ${seconds(r.on)} on = ${r.on.atLeast ? '≤ ' : r.off.atLeast ? '≥ ' : ''}${r.ratio.toFixed(1)}×; ` +
      `requests/s sent ${sent} (RPC_MAX_RPS ${budget}${withinBudget ? '' : ', exceeded'}) at N = ${segmentation.plan.wallets}`,
  };
}

function sumOutcomes(counts: Record<string, number | undefined> | undefined): number {
  return Object.values(counts ?? {}).reduce<number>((a, b) => a + (b ?? 0), 0);
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(3) : '–');

function num(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined) return '–';
  if (!Number.isFinite(x)) return '∞';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toLocaleString('en-US', { maximumFractionDigits: bytes < 1e7 ? 2 : 0 })} MB`;
}

function seconds(ms: Percentile | null): string {
  if (!ms) return '–';
  return `${ms.atLeast ? '≥' : ''}${(ms.ms / 1000).toFixed(ms.ms < 10_000 ? 1 : 0)} s`;
}

function freshness(f: FreshnessStats): string {
  if (f.changes === 0) return 'no changes';
  return `${seconds(f.p50)} / ${seconds(f.p99)} / ${seconds(f.max)} (${num(f.changes)} changes, ${num(f.pending)} pending)`;
}

function outcomes(r: RunReport['sweep']['rpc']): string {
  const o = r.httpOutcomes;
  const parts = [`${num(o.http_429 ?? 0)} × 429`, `${num(o.http_5xx ?? 0)} × 5xx`];
  const other = r.failed - (o.http_429 ?? 0) - (o.http_5xx ?? 0);
  if (other > 0) parts.push(`${num(other)} other`);
  return `${parts.join(', ')}; retries ${r.retriesSeen === null ? '–' : num(r.retriesSeen)}`;
}

/** The comparison table: one column per run. */
export function table(report: Report): string[][] {
  const runs = report.runs;
  const x = (f: (r: RunReport) => string): string[] => runs.map(f);
  const dagger = (r: RunReport): string => (r.sweep.extrapolated ? ' †' : '');
  const p = report.parameters;
  const rows: [string, ...string[]][] = [
    ['**full sweep**', ...runs.map(() => '')],
    ['wall time', ...x((r) => `${num(r.sweep.seconds, 1)} s${dagger(r)}`)],
    ['wallets/s', ...x((r) => num(r.sweep.walletsPerSecond, 0))],
    [p.rps > 0 ? `efficiency vs ${num(100 * p.rps)} wallets/s ceiling` : 'efficiency vs ceiling (none: no rate limit)', ...x((r) => (r.sweep.efficiency === null ? 'n/a (no limit)' : pct(r.sweep.efficiency)))],
    ['avg check time per wallet', ...x((r) => `${num(r.sweep.avgCheckMsPerWallet, 3)} ms`)],
    ['RPC requests per sweep', ...x((r) => `${num(r.sweep.requestsPerSweep)}${dagger(r)}`)],
    ['… by method (measured)', ...x((r) => methods(r.sweep.rpc.byMethod))],
    ['errors / retries (simulator)', ...x((r) => outcomes(r.sweep.rpc))],
    ['DB rows written per sweep', ...x((r) => `${num(r.sweep.rowsPerSweep)}${dagger(r)}`)],
    ['WAL per sweep', ...x((r) => `${mb(r.sweep.walBytesPerSweep)}${dagger(r)}`)],
    ['worker CPU during the sweep', ...x((r) => `${num(r.sweep.cpuSeconds, 1)} s`)],
    ['other CPU: bench+simulator / Postgres / Temporal', ...x((r) => otherCpu(r.sweep.otherCpuSeconds))],
    ['CPU of worker + Temporal + Postgres per 100 wallets checked in the full sweep', ...x((r) => cpuPer100(r))],
    [`**steady state**`, ...runs.map(() => '')],
    ['period', ...x((r) => `${num(r.steady.seconds, 0)} s`)],
    ['RPC requests (by method)', ...x((r) => methods(r.steady.rpc.byMethod))],
    ['requests/hour measured', ...x((r) => num(r.steady.requestsPerHourMeasured))],
    [`requests/hour at the tiers’ cadence${p.rps > 0 ? ` (budget ${num(p.rps * 3600)})` : ''}`, ...x((r) => num(r.steady.requestsPerHourAtCadence))],
    ['errors / retries (simulator)', ...x((r) => outcomes(r.steady.rpc))],
    ['wallet checks', ...x((r) => num(r.steady.walletChecks))],
    ['DB rows written', ...x((r) => num(r.steady.rows.total))],
    ['rows per wallet check', ...x((r) => (r.steady.rowsPerWalletCheck === null ? '–' : r.steady.rowsPerWalletCheck.toFixed(3)))],
    ['tracker sweeps: rows written vs changed + batches', ...x((r) => sweepRows(r))],
    ['WAL', ...x((r) => mb(r.steady.wal.bytes))],
    ['balance changes in the simulator', ...x((r) => num(r.steady.worldChanges))],
    ['freshness p50 / p99 / max, all', ...x((r) => freshness(r.steady.freshness.all))],
    ...TIERS.map((t): [string, ...string[]] => [`… ${t} (${num(runs[0]?.tierCounts[t] ?? 0)} wallets)`, ...x((r) => freshness(r.steady.freshness[t]))]),
    ['webhook delivery lag p50 / p99 / max (changes delivered)', ...x((r) => delivery(r))],
    ['**worker process**', ...runs.map(() => '')],
    ['peak memory (VmHWM)', ...x((r) => `${num(r.worker.hwmMb, 0)} MB`)],
    ['CPU time, whole run', ...x((r) => `${num(r.worker.cpuSeconds, 1)} s`)],
  ];
  return [['', ...runs.map((r) => r.run)], ...rows];
}

/** The segmentation pair side by side: one column per run. */
export function segmentationTable(seg: SegmentationReport): string[][] {
  const runs = seg.runs;
  const x = (f: (r: SegmentationRunReport) => string): string[] => runs.map(f);
  const tiers = (t: Record<string, number>): string => TIERS.map((tier) => num(t[tier])).join(' / ');
  const r = segmentationRatio(seg);
  const rows: [string, ...string[]][] = [
    ['SEGMENTATION', ...x((run) => run.settings.SEGMENTATION ?? '–')],
    ['intervals high / medium / low', ...x((run) => TIERS.map((t) => run.settings[`TIER_${t.toUpperCase()}_INTERVAL`] ?? '–').join(' / '))],
    ['re-tiering: every / window / changes for high / quiet after', ...x((run) => (run.settings.RETIER_INTERVAL ? [run.settings.RETIER_INTERVAL, run.settings.RETIER_WINDOW, run.settings.RETIER_HIGH_MIN_CHANGES, run.settings.RETIER_QUIET_AFTER].join(' / ') : '–'))],
    ['SWEEP_CONCURRENCY / BATCHES_PER_CHILD', ...x((run) => `${run.settings.SWEEP_CONCURRENCY ?? '–'} / ${run.settings.BATCHES_PER_CHILD ?? '–'}`)],
    ['warm-up, then measured', ...x((run) => `${num(run.warmupSeconds)} s, then ${num(run.measuredSeconds)} s`)],
    ['service code (hash of src/, workflows/, activities/)', ...x((run) => run.engine ?? '–')],
    ['**RPC in the measured period**', ...runs.map(() => '')],
    [`requests/s sent (RPC_MAX_RPS ${num(seg.plan.rpcMaxRps)})`, ...x((run) => `${num(run.requestsPerSecond, 1)} (busiest second ${num(run.peakRequestsPerSecond)})`)],
    ['… by method', ...x((run) => methods(run.rpc.byMethod))],
    ['errors / retries (simulator)', ...x((run) => outcomes(run.rpc))],
    ['**freshness: change → Postgres, p50 / p99 / max**', ...runs.map(() => '')],
    [`busy wallets (${num(seg.plan.busyWallets)})`, ...x((run) => freshness(run.freshness.busy))],
    ['… busy wallets in high when the period began', ...x((run) => (run.busyByStartTier ? `${num(run.busyByStartTier.inHigh)}: ${freshness(run.busyByStartTier.inHighFreshness)}` : '–'))],
    ['… busy wallets elsewhere then', ...x((run) => (run.busyByStartTier ? `${num(run.busyWallets - run.busyByStartTier.inHigh)}: ${freshness(run.busyByStartTier.elsewhereFreshness)}` : '–'))],
    [`idle wallets (${num(seg.plan.wallets - seg.plan.busyWallets)})`, ...x((run) => freshness(run.freshness.idle))],
    ['all', ...x((run) => freshness(run.freshness.all))],
    ...(r
      ? [
          ['**busy p99, off ÷ on**', ...runs.map((_, i) => (i === runs.length - 1 ? `**${r.on.atLeast ? '≤ ' : r.off.atLeast ? '≥ ' : ''}${r.ratio.toFixed(1)}×** (target ≥ ${SEGMENTATION_TARGET}×)` : ''))] as [string, ...string[]],
          [
            `… vs the floor without segmentation: all wallets every ${num(floorSeconds(seg), 1)} s`,
            ...runs.map((_, i) => (i === runs.length - 1 ? `${r.on.atLeast ? '≤ ' : ''}${(floorSeconds(seg) / (r.on.ms / 1000)).toFixed(1)}×` : '')),
          ] as [string, ...string[]],
        ]
      : []),
    ['**tiers at the end**', ...runs.map(() => '')],
    ['wallets high / medium / low', ...x((run) => tiers(run.tiersAtEnd))],
    ['busy wallets high / medium / low', ...x((run) => tiers(run.busyByTier))],
    [`tiers' cadence needs (rpcBudget, RPC_MAX_RPS ${num(seg.plan.rpcMaxRps)})`, ...x((run) => `${num(run.budgetAtEnd.requiredRps, 1)} requests/s (${run.budgetAtEnd.fits ? 'fits' : 'does not fit'})`)],
    ['… the service’s own check after its last re-tiering', ...x((run) => (run.serviceBudget ? `${num(run.serviceBudget.requiredRps, 1)} requests/s (${run.serviceBudget.fits ? 'fits' : 'does not fit'})` : '–'))],
    ['re-tierings (whole run): runs, median / max time', ...x((run) => (run.retier ? `${num(run.retier.runs)}${run.retier.failed ? ` (${run.retier.failed} failed)` : ''}, ${num(run.retier.medianMs)} / ${num(run.retier.maxMs)} ms` : '–'))],
    ['**sweeps in the measured period**', ...runs.map(() => '')],
    ...TIERS.map((t): [string, ...string[]] => [`${t}: sweeps, every (median, max), each takes (median, max)`, ...x((run) => tierSweeps(run.sweeps[t]))]),
    ['deadlocks in Postgres (whole run)', ...x((run) => num(run.deadlocks))],
    ['worker: peak memory, CPU time (whole run)', ...x((run) => `${num(run.worker.hwmMb)} MB, ${num(run.worker.cpuSeconds, 1)} s`)],
  ];
  return [['', ...runs.map((run) => run.run)], ...rows];
}

/** How long a sweep of every wallet takes at the full budget: the least a busy wallet's change could wait, at worst, without segmentation. */
function floorSeconds(seg: SegmentationReport): number {
  return Math.ceil(seg.plan.wallets / 100) / seg.plan.rpcMaxRps;
}

function tierSweeps(t: SegmentationRunReport['sweeps'][Tier]): string {
  const each = (v: number | null): string => (v === null ? '–' : `${v.toFixed(1)} s`);
  const running = t.runningAtEnd;
  const atEnd = running
    ? `; at the end one running for ${each(running.seconds)} (${num(running.batchesDone)} of ${num(running.batchesTotal)} batches${running.batchesFailed ? `, ${num(running.batchesFailed)} failed` : ''})`
    : '';
  if (t.sweeps === 0) return `none${atEnd}`;
  const upTo = (v: number | null | undefined): string => (v === null || v === undefined ? '' : ` (≤ ${each(v)})`);
  return `${num(t.sweeps)} (${num(t.walletsChecked)} wallets), every ${each(t.medianPeriodSeconds)}${upTo(t.maxPeriodSeconds)}, ${each(t.medianSeconds)}${upTo(t.maxSeconds)}${atEnd}`;
}

/** What the segmentation pair ran with. */
export function segmentationLine(seg: SegmentationReport): string {
  const p = seg.plan;
  const budget = (b: { requiredRps: number; fits: boolean }): string => `${num(b.requiredRps, 1)} requests/s`;
  return (
    `N = ${num(p.wallets)} wallets (${num(p.busyWallets)} busy), all added in medium; provider limit ${num(p.providerRps)} requests/s, RPC_MAX_RPS ${num(p.rpcMaxRps)} for both; ` +
    `tiers planned at ≤ ${Math.round(p.headroom * 100)} % of it: seg-off every wallet in medium needs ${budget(p.off.budget)}, seg-on's expected tiers ` +
    `(${TIERS.map((t) => `${t} ${num(p.on.expectedTiers[t])}`).join(', ')}) need ${budget(p.on.budget)}; ` +
    `freshness counts changes older than ${p.graceSeconds} s at the end of the measured period`
  );
}

function sweepRows(r: RunReport): string {
  const sweeps = r.steady.sweeps;
  if (!sweeps) return '–';
  if (sweeps.length === 0) return 'no sweep finished';
  const rows = sweeps.reduce((a, x) => a + x.rowsWritten, 0);
  const bound = sweeps.reduce((a, x) => a + x.bound, 0);
  return `${num(rows)} vs ${num(bound)} (${sweeps.length} sweeps)`;
}

function delivery(r: RunReport): string {
  const d = r.delivery;
  if (!d) return '–';
  const sec = (v: number | null): string => (v === null ? '–' : `${v.toFixed(2)} s`);
  return `${sec(d.p50Seconds)} / ${sec(d.p99Seconds)} / ${sec(d.maxSeconds)} (${num(d.changesDelivered)})`;
}

function cpuPer100(r: RunReport): string {
  const ms = cpuMsPer100Wallets(r.sweep);
  return ms === null ? '–' : `${num(ms, 1)} ms`;
}

function otherCpu(o: RunReport['sweep']['otherCpuSeconds']): string {
  return `${num(o.benchAndSimulator, 1)} / ${num(o.postgres, 1)} / ${o.temporal === null ? '–' : num(o.temporal, 1)} s`;
}

function methods(byMethod: Record<string, Record<string, number | undefined>>): string {
  const entries = Object.entries(byMethod).map(([m, counts]) => `${m} ${num(sumOutcomes(counts))}`);
  return entries.length ? entries.join(', ') : 'none';
}

function markdownTable(t: string[][]): string[] {
  return [`| ${t[0]!.join(' | ')} |`, `| ${t[0]!.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...t.slice(1).map((row) => `| ${row.join(' | ')} |`)];
}

export function markdown(report: Report): string {
  const seg = report.segmentation;
  const lines = [
    `# Benchmark: v1 vs the v2 plan vs this service`,
    '',
    parametersLine(report),
    '',
    ...(report.runs.length ? [...markdownTable(table(report)), '', '† extrapolated from the measured rate (the sweep was stopped at its time bound).', ''] : []),
    ...(seg?.runs.length
      ? ['## Segmentation: busy wallets’ freshness at the same RPC budget (issue 7)', '', segmentationLine(seg), '', ...markdownTable(segmentationTable(seg)), '']
      : []),
    '## Targets',
    '',
    '| target | status | measured |',
    '| --- | --- | --- |',
    ...report.targets.map((x) => `| ${x.target} | ${x.status === 'met' ? '**met**' : x.status} | ${x.detail} |`),
    '',
    '## Notes',
    '',
    ...[...report.runs, ...(seg?.runs ?? [])].flatMap((r) => r.notes.map((n) => `- ${r.run}: ${n}`)),
    ...report.failures.map((f) => `- **${f.run} failed**: ${f.error.split('\n')[0]}`),
    '',
  ];
  for (const run of report.runs.filter((r) => r.run === 'tracker' || r.run === 'tracker-tokens')) {
    const sweeps = run.steady.sweeps ?? [];
    if (!sweeps.length) continue;
    lines.push(
      `## ${run.run} sweeps in the steady state`,
      '',
      '| tier | started | s | checked | changed | (wallet, mint) changed | batches | RPC | rows written | bound (changed + pairs + batches) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const s of sweeps) lines.push(`| ${s.tier} | ${s.startedAt} | ${s.seconds} | ${s.walletsChecked} | ${s.walletsChanged} | ${s.tokensChanged ?? 0} | ${s.batches} | ${s.rpcCalls} | ${s.rowsWritten} | ${s.bound} |`);
    lines.push('');
  }
  return lines.join('\n');
}

export function parametersLine(report: Report): string {
  const p = report.parameters;
  const m = report.machine;
  const machine = `${m.date} · ${m.cpus} CPUs (${m.cpuModel}), ${num(m.memoryMb)} MB, Node ${m.node} · load ${m.loadAverageStart.map((l) => l.toFixed(1)).join('/')} at start · `;
  if (report.runs.length === 0) return `${machine}total ${Math.round(report.totalSeconds)} s`;
  return (
    machine +
    `N = ${num(p.wallets)} wallets (high ${num(report.runs[0]?.tierCounts.high ?? 0)}, medium ${num(report.runs[0]?.tierCounts.medium ?? 0)}, low ${num(report.runs[0]?.tierCounts.low ?? 0)}), ` +
    `rate limit ${p.rps > 0 ? `${p.rps} requests/s (strict 1 s sliding window${p.providerBurst > 0 ? `; token bucket of ${p.providerBurst}` : ''})` : 'none'}, latency ${p.latencyMs} ± ${p.jitterMs} ms, ` +
    `Temporal: ${p.temporal === 'cluster' ? 'the server 1.29.1 on Postgres' : 'the CLI dev server'}, ` +
    `change rate × ${p.changeRate}, slot ${p.slotMs} ms, intervals ${TIERS.map((t) => formatDuration(p.intervalsMs[t])).join(' / ')}, ` +
    `steady state ${p.steadySeconds} s (freshness counts changes older than ${p.freshnessGraceSeconds} s at the end) · total ${Math.round(report.totalSeconds)} s`
  );
}

/** A plain-text rendering of the table for the terminal. */
export function plainTable(report: Report): string {
  const plain = (rows: string[][]): string[] => {
    const t = rows.map((row) => row.map((cell) => cell.replace(/\*\*/g, '')));
    const widths = t[0]!.map((_, i) => Math.max(...t.map((row) => row[i]!.length)));
    return t.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  };
  const seg = report.segmentation;
  return [
    ...(report.runs.length ? [...plain(table(report)), ''] : []),
    ...(seg?.runs.length ? ['Segmentation: busy wallets’ freshness at the same RPC budget', segmentationLine(seg), ...plain(segmentationTable(seg)), ''] : []),
    ...report.targets.map((x) => `${x.status === 'met' ? '✔' : x.status === 'not met' ? '✘' : '·'} ${x.target}: ${x.status} — ${x.detail}`),
  ].join('\n');
}

const COLORS: Record<string, string> = { v1: '#d62728', 'v2-plan': '#ff7f0e', tracker: '#2ca02c', 'tracker-tokens': '#1f77b4' };

/** Grouped bars on a log scale: requests and rows per full sweep, requests/hour at cadence, rows/hour in the steady state. */
export function chart(report: Report): string {
  const groups = [
    { label: 'RPC requests per full sweep', value: (r: RunReport) => r.sweep.requestsPerSweep },
    { label: 'DB rows written per full sweep', value: (r: RunReport) => r.sweep.rowsPerSweep },
    { label: 'RPC requests/hour at cadence', value: (r: RunReport) => r.steady.requestsPerHourAtCadence },
    { label: 'DB rows per 1,000 steady checks', value: (r: RunReport) => (r.steady.rowsPerWalletCheck ?? 0) * 1000 },
  ];
  const runs = report.runs;
  const width = 860;
  const height = 420;
  const left = 70;
  const top = 50;
  const bottom = 330;
  const values = groups.flatMap((g) => runs.map((r) => g.value(r))).filter((v) => v > 0 && Number.isFinite(v));
  const maxExp = Math.ceil(Math.log10(Math.max(10, ...values)));
  const y = (v: number): number => (v <= 1 ? bottom : bottom - (Math.log10(v) / maxExp) * (bottom - top));
  const groupWidth = (width - left - 20) / groups.length;
  const barWidth = Math.min(50, (groupWidth - 30) / Math.max(1, runs.length));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="24" font-size="15" font-weight="bold">v1 vs v2-plan vs tracker — N = ${num(report.parameters.wallets)}, ${report.parameters.rps > 0 ? `${report.parameters.rps} req/s` : 'no rate limit'} (log scale)</text>`,
  ];
  for (let e = 0; e <= maxExp; e++) {
    const yy = y(10 ** e);
    out.push(`<line x1="${left}" x2="${width - 20}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${yy + 4}" text-anchor="end" fill="#555">1e${e}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupWidth + (groupWidth - barWidth * runs.length) / 2;
    runs.forEach((r, ri) => {
      const v = g.value(r);
      const yy = y(v);
      const x = x0 + ri * barWidth;
      out.push(`<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${(bottom - yy).toFixed(1)}" fill="${COLORS[r.run] ?? '#888'}"><title>${r.run}: ${num(v)}</title></rect>`);
      out.push(`<text x="${(x + (barWidth - 4) / 2).toFixed(1)}" y="${(yy - 4).toFixed(1)}" text-anchor="middle" font-size="10">${compact(v)}${r.sweep.extrapolated && gi < 2 ? '†' : ''}</text>`);
    });
    out.push(`<text x="${(left + gi * groupWidth + groupWidth / 2).toFixed(1)}" y="${bottom + 20}" text-anchor="middle">${g.label}</text>`);
  });
  runs.forEach((r, ri) => {
    const x = left + ri * 150;
    out.push(`<rect x="${x}" y="${height - 40}" width="14" height="14" fill="${COLORS[r.run] ?? '#888'}"/>`);
    out.push(`<text x="${x + 20}" y="${height - 28}">${r.run}</text>`);
  });
  out.push(`<text x="${width - 20}" y="${height - 28}" text-anchor="end" fill="#555">† extrapolated from the measured rate</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function compact(v: number): string {
  if (!Number.isFinite(v)) return '∞';
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return v.toFixed(v < 10 ? 1 : 0);
}
