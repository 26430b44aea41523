// The benchmark's command line: every knob with the defaults, validated once.

import { parseArgs } from 'node:util';
import { parseDuration } from '../src/duration';
import { TIERS, type Tier } from '../src/tiers';

export const RUN_NAMES = ['v1', 'v2-plan', 'tracker', 'tracker-tokens', 'seg-off', 'seg-on'] as const;
/** This service's runs through runTracker: SOL only, and with --mints tracked mints (issue 14). */
export const TRACKER_RUNS = ['tracker', 'tracker-tokens'] as const;
export type TrackerRunName = (typeof TRACKER_RUNS)[number];
export type RunName = (typeof RUN_NAMES)[number];
/** The segmentation pair (bench/segmentation-run.ts): this service with re-tiering off and on. */
export const SEGMENTATION_RUNS = ['seg-off', 'seg-on'] as const;
export type SegmentationRunName = (typeof SEGMENTATION_RUNS)[number];

/** Re-tiering rules of the seg-on run (the service's RETIER_* settings). */
export interface RetierSettings {
  intervalMs: number;
  windowMs: number;
  highMinChanges: number;
  quietAfterMs: number;
}

export interface BenchParams {
  wallets: number;
  /** Provider rate limit in requests/s; 0 is no limit. */
  rps: number;
  latencyMs: number;
  jitterMs: number;
  /** Multiplies the simulator's default change rates (1: a busy wallet changes ~every 40 s, another ~every 5.5 h). */
  changeRate: number;
  out: string;
  seed: string;
  slotMs: number;
  /** Steady-state period per run, seconds. */
  steadySeconds: number;
  /** Changes in the last `freshnessGraceSeconds` of the steady state are not counted (too young to be seen). */
  freshnessGraceSeconds: number;
  /** V1's full sweep is stopped after this long and extrapolated from its rate. */
  baselineMaxSweepSeconds: number;
  /** The same for the V2 plan. */
  v2PlanMaxSweepSeconds: number;
  /** The tracker's full sweep gives up after this long. */
  trackerMaxSweepSeconds: number;
  intervalsMs: Record<Tier, number>;
  /** Fraction of all wallets put in the medium tier (the busy wallets go to high, the rest to low). */
  mediumFraction: number;
  runs: RunName[];
  /** Mints the tracker-tokens run tracks (TRACKED_MINTS), made by the simulator: SPL Token and Token-2022 in turn. */
  mints: number;
  /** Lines in the `wallets import` measurement; 0 skips it. */
  importLines: number;
  /** V1's backoff base (the plan's 30 s) and cap. */
  v1BackoffBaseMs: number;
  v1BackoffCapMs: number;
  /** Simulator provider model: a strict sliding window (the default) or a token bucket. */
  providerBurst: number;
  sweepConcurrency: number | null;
  batchesPerChild: number | null;
  /** RPC_MAX_RPS for the tracker; default: the provider's limit. */
  trackerRps: number | null;
  /** The segmentation pair: wallets (default: --wallets, at most 100,000) and the provider's limit, which is also the budget (default: --rps, 50 when that is 0). */
  segWallets: number | null;
  segRps: number | null;
  /** Warm-up before the measured period: seg-on (first sweeps and re-tierings), seg-off. */
  segWarmupSeconds: number;
  segOffWarmupSeconds: number;
  /** The measured period of each run of the pair. */
  segMeasureSeconds: number;
  /** Changes in the measured period's last G s are left out of its freshness; null: derived from the intervals. */
  segGraceSeconds: number | null;
  /** seg-on's high-tier interval; its low-tier interval is derived from the budget. */
  segHighIntervalMs: number;
  /** seg-on's low-tier interval; null: the shortest that fits the budget. */
  segLowIntervalMs: number | null;
  segRetier: RetierSettings;
  /** Only re-renders DIR/report.md and report.svg from DIR/report.json. */
  render: boolean;
  /** The Temporal the service's runs use: the CLI's dev server, or the server on Postgres (tools/stack/cluster.ts). */
  temporal: TemporalKind;
}

export const TEMPORAL_KINDS = ['dev', 'cluster'] as const;
export type TemporalKind = (typeof TEMPORAL_KINDS)[number];

export const USAGE = `usage: npm run bench -- [options]

  --wallets N            wallets in the world and in each store (default 100000)
  --rps R                provider rate limit, requests/s; 0 = none (default 50)
  --latency-ms L         provider latency (default 40), ± --jitter-ms J (default L / 4)
  --change-rate C        multiplies the simulator's change rates (default 1)
  --out DIR              where report.json, report.md, report.svg go (default bench-out)
  --steady-s S           steady-state period per run (default 90)
  --grace-s G            changes in the last G s of the steady state are left out of freshness (default 35)
  --v1-max-s T           stop v1's full sweep after T s and extrapolate from its rate (default 60)
  --v2-plan-max-s T      the same for v2-plan (default 300)
  --tracker-max-s T      give up the tracker's full sweep after T s (default 1800)
  --intervals H,M,L      tier intervals (default 30s,5m,1h)
  --medium-fraction F    share of wallets in the medium tier (default 0.18; busy wallets are high, the rest low)
  --runs a,b,c           which runs, in order (default v1,v2-plan,tracker,tracker-tokens,seg-off,seg-on; none: only the import)
  --mints M              mints the tracker-tokens run tracks, each wallet's ATA read with it (default 2)
  --import-lines N       lines for the wallets import measurement; 0 skips it (default 1000000)
  --provider-burst B     0: strict sliding-window limit (default); B > 0: a token bucket of B requests
  --tracker-rps R        the tracker's RPC_MAX_RPS (default: --rps, or 100000 when --rps is 0)
  --sweep-concurrency N, --batches-per-child N   the tracker's SWEEP_CONCURRENCY, BATCHES_PER_CHILD
  --seed S, --slot-ms MS world seed (default bench) and slot length (default 400)
  --v1-backoff-ms B,CAP  V1's backoff base and cap (default 30000,300000: the plan's 30 s)
  --render               only re-render report.md and report.svg from --out's report.json
  --temporal dev|cluster the service's Temporal: the CLI's dev server (default), or the Temporal
                         server persisting to Postgres as compose runs it (npm run stack:cluster)

  The segmentation pair (runs seg-off and seg-on; see bench/README.md):
  --seg-wallets N        wallets, all added in tier medium (default: --wallets, at most 100000)
  --seg-rps R            the provider's limit for the pair, also its RPC_MAX_RPS unless --tracker-rps
                         (default: --rps, or 50 when --rps is 0)
  --seg-warmup-s W       seg-on's warm-up before the measured period (default 300)
  --seg-off-warmup-s W   seg-off's warm-up (default 60)
  --seg-measure-s M      measured period of each (default 150)
  --seg-grace-s G        changes in the period's last G s are left out (default: 1.25 × the longest interval in use, at least --grace-s)
  --seg-high-interval D  seg-on's high-tier interval (default 2s)
  --seg-low-interval D   seg-on's low-tier interval (default: the shortest that fits the budget)
  --seg-retier I,W,C,Q   seg-on's RETIER_INTERVAL, RETIER_WINDOW, RETIER_HIGH_MIN_CHANGES, RETIER_QUIET_AFTER
                         (default 5s,4m,1,1m)
`;

export class UsageError extends Error {}

export function parseBenchArgs(argv: string[]): BenchParams | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      wallets: { type: 'string' },
      rps: { type: 'string' },
      'latency-ms': { type: 'string' },
      'jitter-ms': { type: 'string' },
      'change-rate': { type: 'string' },
      out: { type: 'string' },
      'steady-s': { type: 'string' },
      'grace-s': { type: 'string' },
      'v1-max-s': { type: 'string' },
      'v2-plan-max-s': { type: 'string' },
      'tracker-max-s': { type: 'string' },
      intervals: { type: 'string' },
      'medium-fraction': { type: 'string' },
      runs: { type: 'string' },
      'import-lines': { type: 'string' },
      mints: { type: 'string' },
      'provider-burst': { type: 'string' },
      'tracker-rps': { type: 'string' },
      'sweep-concurrency': { type: 'string' },
      'batches-per-child': { type: 'string' },
      seed: { type: 'string' },
      'slot-ms': { type: 'string' },
      'v1-backoff-ms': { type: 'string' },
      'seg-wallets': { type: 'string' },
      'seg-rps': { type: 'string' },
      'seg-warmup-s': { type: 'string' },
      'seg-off-warmup-s': { type: 'string' },
      'seg-measure-s': { type: 'string' },
      'seg-grace-s': { type: 'string' },
      'seg-high-interval': { type: 'string' },
      'seg-low-interval': { type: 'string' },
      'seg-retier': { type: 'string' },
      render: { type: 'boolean' },
      temporal: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const num = (flag: keyof typeof values, fallback: number, min: number, max: number, integer = false): number => {
    const text = values[flag];
    if (text === undefined) return fallback;
    const value = Number(text);
    if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got '${String(text)}'`);
    }
    return value;
  };
  const rps = num('rps', 50, 0, 100_000, true);
  const intervalsText = values.intervals ?? '30s,5m,1h';
  const intervalParts = intervalsText.split(',').map((part) => parseDuration(part.trim()));
  if (intervalParts.length !== 3 || intervalParts.some((ms) => ms === null || ms < 1000)) {
    throw new UsageError(`--intervals takes three durations of at least 1s (high,medium,low), got '${intervalsText}'`);
  }
  const runsText = values.runs ?? RUN_NAMES.join(',');
  const runs = runsText === 'none' ? [] : runsText.split(',').map((r) => r.trim());
  for (const run of runs) if (!(RUN_NAMES as readonly string[]).includes(run)) throw new UsageError(`--runs: unknown run '${run}'; the runs are ${RUN_NAMES.join(', ')}`);
  const backoff = (values['v1-backoff-ms'] ?? '30000,300000').split(',').map(Number);
  if (backoff.length !== 2 || backoff.some((b) => !Number.isInteger(b) || b < 1)) throw new UsageError(`--v1-backoff-ms takes two integers: base,cap`);
  const duration = (flag: 'seg-high-interval' | 'seg-low-interval', fallback: string): number => {
    const text = values[flag] ?? fallback;
    const ms = parseDuration(text.trim());
    if (ms === null || ms < 1000) throw new UsageError(`--${flag} takes a duration of at least 1s, got '${text}'`);
    return ms;
  };
  const retierText = values['seg-retier'] ?? '5s,4m,1,1m';
  const retierParts = retierText.split(',').map((part) => part.trim());
  const [retierInterval, retierWindow, retierQuiet] = [retierParts[0], retierParts[1], retierParts[3]].map((part) => (part === undefined ? null : parseDuration(part)));
  const retierChanges = Number(retierParts[2]);
  if (retierParts.length !== 4 || [retierInterval, retierWindow, retierQuiet].some((ms) => ms === null || ms === undefined || ms < 1000) || !Number.isInteger(retierChanges) || retierChanges < 1) {
    throw new UsageError(`--seg-retier takes interval,window,changes,quiet-after (durations of at least 1s and a whole number ≥ 1), got '${retierText}'`);
  }
  const temporal = values.temporal ?? 'dev';
  if (!(TEMPORAL_KINDS as readonly string[]).includes(temporal)) throw new UsageError(`--temporal takes ${TEMPORAL_KINDS.join(' or ')}, got '${temporal}'`);
  const changeRate = num('change-rate', 1, 0, 50);
  const latencyMs = num('latency-ms', 40, 0, 10_000);
  const params: BenchParams = {
    wallets: num('wallets', 100_000, 100, 10_000_000, true),
    rps,
    latencyMs,
    // ± a quarter of the latency unless told: 40 ± 10 ms by default, 5 ± 1.25 ms at 5 ms.
    jitterMs: num('jitter-ms', latencyMs / 4, 0, 10_000),
    changeRate,
    out: values.out ?? 'bench-out',
    seed: values.seed ?? 'bench',
    slotMs: num('slot-ms', 400, 1, 10_000, true),
    steadySeconds: num('steady-s', 90, 0, 24 * 3600),
    freshnessGraceSeconds: num('grace-s', 35, 0, 24 * 3600),
    baselineMaxSweepSeconds: num('v1-max-s', 60, 1, 24 * 3600),
    v2PlanMaxSweepSeconds: num('v2-plan-max-s', 300, 1, 24 * 3600),
    trackerMaxSweepSeconds: num('tracker-max-s', 1800, 1, 24 * 3600),
    intervalsMs: Object.fromEntries(TIERS.map((tier, i) => [tier, intervalParts[i]!])) as Record<Tier, number>,
    mediumFraction: num('medium-fraction', 0.18, 0, 0.98),
    runs: runs as RunName[],
    importLines: num('import-lines', 1_000_000, 0, 10_000_000, true),
    mints: num('mints', 2, 1, 20, true),
    v1BackoffBaseMs: backoff[0]!,
    v1BackoffCapMs: backoff[1]!,
    providerBurst: num('provider-burst', 0, 0, 100_000, true),
    trackerRps: values['tracker-rps'] === undefined ? null : num('tracker-rps', 50, 0.01, 100_000),
    sweepConcurrency: values['sweep-concurrency'] === undefined ? null : num('sweep-concurrency', 8, 1, 256, true),
    batchesPerChild: values['batches-per-child'] === undefined ? null : num('batches-per-child', 20, 1, 100, true),
    segWallets: values['seg-wallets'] === undefined ? null : num('seg-wallets', 100_000, 100, 10_000_000, true),
    segRps: values['seg-rps'] === undefined ? null : num('seg-rps', 50, 1, 100_000, true),
    segWarmupSeconds: num('seg-warmup-s', 300, 0, 24 * 3600),
    segOffWarmupSeconds: num('seg-off-warmup-s', 60, 0, 24 * 3600),
    segMeasureSeconds: num('seg-measure-s', 150, 1, 24 * 3600),
    segGraceSeconds: values['seg-grace-s'] === undefined ? null : num('seg-grace-s', 45, 0, 24 * 3600),
    segHighIntervalMs: duration('seg-high-interval', '2s'),
    segLowIntervalMs: values['seg-low-interval'] === undefined ? null : duration('seg-low-interval', '1m'),
    segRetier: { intervalMs: retierInterval!, windowMs: retierWindow!, highMinChanges: retierChanges, quietAfterMs: retierQuiet! },
    render: values.render ?? false,
    temporal: temporal as TemporalKind,
  };
  if (0.01 * changeRate > 1) throw new UsageError('--change-rate is too high: a busy wallet would change more than once per slot');
  return params;
}
