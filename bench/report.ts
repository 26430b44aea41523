// The report: one object per run plus parameters, machine and targets (report.json), a
// table (report.md, also printed) and a chart (report.svg, log scale).

import { formatDuration } from '../src/duration';
import { TIERS } from '../src/tiers';
import type { BenchParams } from './args';
import type { FreshnessStats, Percentile } from './freshness';
import type { ImportReport } from './import-run';
import type { RunReport } from './results';

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

export interface Report {
  parameters: BenchParams & { trackerRpcMaxRps: number; v1InFlight: number };
  machine: Machine;
  runs: RunReport[];
  import: ImportReport | null;
  /** Runs that failed, with the error. */
  failures: { run: string; error: string }[];
  targets: Target[];
  totalSeconds: number;
}

export function evaluateTargets(params: BenchParams, runs: RunReport[], imported: ImportReport | null): Target[] {
  const tracker = runs.find((r) => r.run === 'tracker');
  const targets: Target[] = [];
  const expected = Math.ceil(params.wallets / 100);
  if (!tracker) {
    targets.push({ target: 'tracker targets', status: 'not measured', detail: 'the tracker did not run' });
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
    targets.push({
      target: 'worker peak memory under 512 MB at 1,000,000 wallets',
      status: params.wallets < 1_000_000 ? 'not measured' : tracker.worker.hwmMb < 512 ? 'met' : 'not met',
      detail: `peak RSS ${tracker.worker.hwmMb} MB at N = ${params.wallets}`,
    });
  }
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
    ['**worker process**', ...runs.map(() => '')],
    ['peak memory (VmHWM)', ...x((r) => `${num(r.worker.hwmMb, 0)} MB`)],
    ['CPU time, whole run', ...x((r) => `${num(r.worker.cpuSeconds, 1)} s`)],
  ];
  return [['', ...runs.map((r) => r.run)], ...rows];
}

function sweepRows(r: RunReport): string {
  const sweeps = r.steady.sweeps;
  if (!sweeps) return '–';
  if (sweeps.length === 0) return 'no sweep finished';
  const rows = sweeps.reduce((a, x) => a + x.rowsWritten, 0);
  const bound = sweeps.reduce((a, x) => a + x.bound, 0);
  return `${num(rows)} vs ${num(bound)} (${sweeps.length} sweeps)`;
}

function otherCpu(o: RunReport['sweep']['otherCpuSeconds']): string {
  return `${num(o.benchAndSimulator, 1)} / ${num(o.postgres, 1)} / ${o.temporal === null ? '–' : num(o.temporal, 1)} s`;
}

function methods(byMethod: Record<string, Record<string, number | undefined>>): string {
  const entries = Object.entries(byMethod).map(([m, counts]) => `${m} ${num(sumOutcomes(counts))}`);
  return entries.length ? entries.join(', ') : 'none';
}

export function markdown(report: Report): string {
  const t = table(report);
  const lines = [
    `# Benchmark: v1 vs the v2 plan vs this service`,
    '',
    parametersLine(report),
    '',
    `| ${t[0]!.join(' | ')} |`,
    `| ${t[0]!.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...t.slice(1).map((row) => `| ${row.join(' | ')} |`),
    '',
    '† extrapolated from the measured rate (the sweep was stopped at its time bound).',
    '',
    '## Targets',
    '',
    '| target | status | measured |',
    '| --- | --- | --- |',
    ...report.targets.map((x) => `| ${x.target} | ${x.status === 'met' ? '**met**' : x.status} | ${x.detail} |`),
    '',
    '## Notes',
    '',
    ...report.runs.flatMap((r) => r.notes.map((n) => `- ${r.run}: ${n}`)),
    ...report.failures.map((f) => `- **${f.run} failed**: ${f.error.split('\n')[0]}`),
    '',
  ];
  const sweeps = report.runs.find((r) => r.run === 'tracker')?.steady.sweeps ?? [];
  if (sweeps.length) {
    lines.push('## Tracker sweeps in the steady state', '', '| tier | started | s | checked | changed | batches | RPC | rows written | bound (changed + batches) |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const s of sweeps) lines.push(`| ${s.tier} | ${s.startedAt} | ${s.seconds} | ${s.walletsChecked} | ${s.walletsChanged} | ${s.batches} | ${s.rpcCalls} | ${s.rowsWritten} | ${s.bound} |`);
    lines.push('');
  }
  return lines.join('\n');
}

export function parametersLine(report: Report): string {
  const p = report.parameters;
  const m = report.machine;
  return (
    `${m.date} · ${m.cpus} CPUs (${m.cpuModel}), ${num(m.memoryMb)} MB, Node ${m.node} · load ${m.loadAverageStart.map((l) => l.toFixed(1)).join('/')} at start · ` +
    `N = ${num(p.wallets)} wallets (high ${num(report.runs[0]?.tierCounts.high ?? 0)}, medium ${num(report.runs[0]?.tierCounts.medium ?? 0)}, low ${num(report.runs[0]?.tierCounts.low ?? 0)}), ` +
    `rate limit ${p.rps > 0 ? `${p.rps} requests/s (strict 1 s sliding window${p.providerBurst > 0 ? `; token bucket of ${p.providerBurst}` : ''})` : 'none'}, latency ${p.latencyMs} ± ${p.jitterMs} ms, ` +
    `change rate × ${p.changeRate}, slot ${p.slotMs} ms, intervals ${TIERS.map((t) => formatDuration(p.intervalsMs[t])).join(' / ')}, ` +
    `steady state ${p.steadySeconds} s (freshness counts changes older than ${p.freshnessGraceSeconds} s at the end) · total ${Math.round(report.totalSeconds)} s`
  );
}

/** A plain-text rendering of the table for the terminal. */
export function plainTable(report: Report): string {
  const t = table(report).map((row) => row.map((cell) => cell.replace(/\*\*/g, '')));
  const widths = t[0]!.map((_, i) => Math.max(...t.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [
    line(t[0]!),
    ...t.slice(1).map(line),
    '',
    ...report.targets.map((x) => `${x.status === 'met' ? '✔' : x.status === 'not met' ? '✘' : '·'} ${x.target}: ${x.status} — ${x.detail}`),
  ].join('\n');
}

const COLORS: Record<string, string> = { v1: '#d62728', 'v2-plan': '#ff7f0e', tracker: '#2ca02c' };

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
