// The one place configuration is read. Every variable is validated once, on
// entry; a wrong value stops the process with a message naming the variable.

import { checkAddress } from './address';
import { formatDuration, parseDuration } from './duration';
import { redactUrl } from './redact';
import { TIERS, type Tier } from './tiers';

export const COMMITMENTS = ['processed', 'confirmed', 'finalized'] as const;
export type Commitment = (typeof COMMITMENTS)[number];

export interface Config {
  temporal: { address: string; namespace: string; taskQueue: string; rpcTaskQueue: string };
  databaseUrl: string;
  /** Null when unset: `npm start` then runs the local simulator. The worker requires it. */
  rpcUrl: string | null;
  commitment: Commitment;
  rpcMaxRps: number;
  rpcTimeoutMs: number;
  /** The longest Retry-After a 429 is honoured with; a longer one waits this long. */
  rpcMaxRetryAfterMs: number;
  tierIntervalsMs: Record<Tier, number>;
  /** Batch child workflows a sweep keeps in flight at once. */
  sweepConcurrency: number;
  /** getMultipleAccounts batches (of up to 100 wallets) per child workflow. */
  batchesPerChild: number;
  /** RPC activities each child keeps in flight at once; a sweep has up to sweepConcurrency × batchWindow. */
  batchWindow: number;
  /** Batches one RPC activity checks, one after another (each written on its own); the Temporal overhead is per activity. */
  batchesPerActivity: number;
  /** How long one batch may keep retrying before its sweep counts it failed; null: the tier's interval, at least BATCH_TIMEOUT_MIN_MS. */
  batchTimeoutMs: number | null;
  metricsPort: number | null;
  logLevel: LogLevel;
  segmentation: SegmentationRules;
  /** Mint addresses whose associated token accounts are tracked for every wallet; empty: SOL only. */
  trackedMints: string[];
  /** Null when WEBHOOK_URL is unset: no delivery. */
  webhook: WebhookConfig | null;
}

/** Where and how the change feed is POSTed (README, "Webhooks"). url and secret are secrets. */
export interface WebhookConfig {
  url: string;
  /** The HMAC-SHA256 key the body is signed with. */
  secret: string;
  /** Changes per POST, at most. */
  batchSize: number;
  /** How long a batch is retried, counted from its oldest change's observation; then it is dead-lettered. */
  maxAgeMs: number;
  /** One POST's timeout. */
  timeoutMs: number;
  /** The longest wait between two attempts (retries back off up to it; a Retry-After is capped at it). */
  maxBackoffMs: number;
}

/** A signing key shorter than this is refused: it could be guessed. */
export const WEBHOOK_SECRET_MIN_LENGTH = 16;

/** How wallets move between tiers by activity (see README, "Segmentation"). */
export interface SegmentationRules {
  enabled: boolean;
  /** How often re-tiering runs (its schedule's interval when first created). */
  intervalMs: number;
  /** The look-back window in which changes are counted. */
  windowMs: number;
  /** Changes within the window that make a wallet busy (tier high). */
  highMinChanges: number;
  /** A wallet whose balance has not changed for this long is idle (tier low). */
  quietAfterMs: number;
  /** How long a manual promotion keeps a wallet in its tier. */
  pinMs: number;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Bounds one RPC activity's calls (its start-to-close covers them all, each up to MAX_CALL_DELAY_MS late). */
export const MAX_BATCHES_PER_ACTIVITY = 20;

/**
 * BATCHES_PER_ACTIVITY when it is not set: about 20 calls an attempt, however many tracked mints
 * each batch reads with its wallets (20 batches without mints, 6 with 2, 3 with 5). More calls an
 * attempt than that would keep a tier's groups in flight (SWEEP_CONCURRENCY × BATCH_WINDOW) queued
 * at a small RPC_MAX_RPS for longer than BATCH_TIMEOUT.
 */
export function defaultBatchesPerActivity(mints: number): number {
  return Math.max(1, Math.floor(MAX_BATCHES_PER_ACTIVITY / (1 + mints)));
}

export const DEFAULTS = {
  TEMPORAL_ADDRESS: 'localhost:7233',
  TEMPORAL_NAMESPACE: 'default',
  TASK_QUEUE: 'balance-tracker',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/balance_tracker',
  SOLANA_COMMITMENT: 'confirmed',
  RPC_MAX_RPS: '50',
  RPC_TIMEOUT: '10s',
  RPC_MAX_RETRY_AFTER: '60s',
  TIER_HIGH_INTERVAL: '30s',
  TIER_MEDIUM_INTERVAL: '5m',
  TIER_LOW_INTERVAL: '1h',
  SWEEP_CONCURRENCY: '8',
  BATCHES_PER_CHILD: '100',
  BATCH_WINDOW: '4',
  LOG_LEVEL: 'info',
  SEGMENTATION: 'on',
  RETIER_INTERVAL: '10m',
  RETIER_WINDOW: '1h',
  RETIER_HIGH_MIN_CHANGES: '3',
  RETIER_QUIET_AFTER: '24h',
  PIN_DURATION: '24h',
  WEBHOOK_BATCH_SIZE: '100',
  WEBHOOK_MAX_AGE: '24h',
  WEBHOOK_TIMEOUT: '10s',
  WEBHOOK_MAX_BACKOFF: '5m',
} as const;

/** BATCH_TIMEOUT's floor when unset: longer than the outages a sweep should wait out (a node restart, a failover). */
export const BATCH_TIMEOUT_MIN_MS = 5 * 60_000;

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name) ?? fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got '${value}'`);
    return fallback;
  }

  number(name: string, fallback: string, { min, max, integer }: { min: number; max: number; integer: boolean }): number {
    const text = this.raw(name) ?? fallback;
    const value = Number(text);
    const kind = integer ? 'an integer' : 'a number';
    if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      this.problems.push(`${name}: expected ${kind} from ${min} to ${max}, got '${text}'`);
      return Number(fallback);
    }
    return value;
  }

  duration(name: string, fallback: string, minMs: number): number {
    const text = this.raw(name) ?? fallback;
    const ms = parseDuration(text);
    if (ms === null || ms < minMs) {
      this.problems.push(
        `${name}: expected a duration like 30s, 5m or 1h (at least ${formatDuration(minMs)}), got '${text}'`,
      );
      return parseDuration(fallback)!;
    }
    return ms;
  }

  url(name: string, fallback: string | null, protocols: readonly string[]): string | null {
    const text = this.raw(name) ?? fallback;
    if (text === null) return null;
    try {
      const url = new URL(text);
      if (!protocols.includes(url.protocol)) throw new Error('protocol');
      // The credentials are sent decoded (Basic authorization, the Postgres password).
      decodeURIComponent(url.username);
      decodeURIComponent(url.password);
      return text;
    } catch {
      // Never echo the value: it may carry an API key or a password.
      this.problems.push(`${name}: expected a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL, got '${redactUrl(text)}'`);
      return null;
    }
  }

  /** A comma-separated list of distinct Solana addresses; unset or empty: none. */
  addresses(name: string): string[] {
    const text = this.raw(name);
    if (text === undefined) return [];
    const seen = new Set<string>();
    for (const [i, entry] of text.split(',').map((e) => e.trim()).entries()) {
      const check = checkAddress(entry);
      if (!check.ok) this.problems.push(`${name}: entry ${i + 1} ('${entry}') is not an address: ${check.reason}`);
      else if (seen.has(entry)) this.problems.push(`${name}: ${entry} is listed twice`);
      else seen.add(entry);
    }
    return [...seen];
  }

  hostPort(name: string, fallback: string): string {
    const text = this.raw(name) ?? fallback;
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(text)) {
      this.problems.push(`${name}: expected host:port, got '${text}'`);
      return fallback;
    }
    return text;
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const taskQueue = r.string('TASK_QUEUE', DEFAULTS.TASK_QUEUE);
  const metricsPortText = r.raw('METRICS_PORT');
  const trackedMints = r.addresses('TRACKED_MINTS');
  const config: Config = {
    temporal: {
      address: r.hostPort('TEMPORAL_ADDRESS', DEFAULTS.TEMPORAL_ADDRESS),
      namespace: r.string('TEMPORAL_NAMESPACE', DEFAULTS.TEMPORAL_NAMESPACE),
      taskQueue,
      rpcTaskQueue: `${taskQueue}-rpc`,
    },
    databaseUrl: r.url('DATABASE_URL', DEFAULTS.DATABASE_URL, ['postgres:', 'postgresql:']) ?? DEFAULTS.DATABASE_URL,
    rpcUrl: r.url('SOLANA_RPC_URL', null, ['http:', 'https:']),
    commitment: r.oneOf('SOLANA_COMMITMENT', COMMITMENTS, DEFAULTS.SOLANA_COMMITMENT),
    rpcMaxRps: r.number('RPC_MAX_RPS', DEFAULTS.RPC_MAX_RPS, { min: 0.01, max: 100_000, integer: false }),
    rpcTimeoutMs: r.duration('RPC_TIMEOUT', DEFAULTS.RPC_TIMEOUT, 100),
    rpcMaxRetryAfterMs: r.duration('RPC_MAX_RETRY_AFTER', DEFAULTS.RPC_MAX_RETRY_AFTER, 1_000),
    tierIntervalsMs: {
      high: r.duration('TIER_HIGH_INTERVAL', DEFAULTS.TIER_HIGH_INTERVAL, 1_000),
      medium: r.duration('TIER_MEDIUM_INTERVAL', DEFAULTS.TIER_MEDIUM_INTERVAL, 1_000),
      low: r.duration('TIER_LOW_INTERVAL', DEFAULTS.TIER_LOW_INTERVAL, 1_000),
    },
    sweepConcurrency: r.number('SWEEP_CONCURRENCY', DEFAULTS.SWEEP_CONCURRENCY, { min: 1, max: 256, integer: true }),
    batchesPerChild: r.number('BATCHES_PER_CHILD', DEFAULTS.BATCHES_PER_CHILD, { min: 1, max: 100, integer: true }),
    batchWindow: r.number('BATCH_WINDOW', DEFAULTS.BATCH_WINDOW, { min: 1, max: 100, integer: true }),
    batchesPerActivity: r.number('BATCHES_PER_ACTIVITY', String(defaultBatchesPerActivity(trackedMints.length)), { min: 1, max: MAX_BATCHES_PER_ACTIVITY, integer: true }),
    batchTimeoutMs: r.raw('BATCH_TIMEOUT') === undefined ? null : r.duration('BATCH_TIMEOUT', '1m', 1_000),
    metricsPort:
      metricsPortText === undefined ? null : r.number('METRICS_PORT', '9464', { min: 1, max: 65_535, integer: true }),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, DEFAULTS.LOG_LEVEL),
    segmentation: {
      enabled: r.oneOf('SEGMENTATION', ['on', 'off'] as const, DEFAULTS.SEGMENTATION) === 'on',
      intervalMs: r.duration('RETIER_INTERVAL', DEFAULTS.RETIER_INTERVAL, 1_000),
      windowMs: r.duration('RETIER_WINDOW', DEFAULTS.RETIER_WINDOW, 1_000),
      highMinChanges: r.number('RETIER_HIGH_MIN_CHANGES', DEFAULTS.RETIER_HIGH_MIN_CHANGES, { min: 1, max: 1_000_000, integer: true }),
      quietAfterMs: r.duration('RETIER_QUIET_AFTER', DEFAULTS.RETIER_QUIET_AFTER, 1_000),
      pinMs: r.duration('PIN_DURATION', DEFAULTS.PIN_DURATION, 1_000),
    },
    trackedMints,
    webhook: webhookConfig(r),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

function webhookConfig(r: Reader): WebhookConfig | null {
  const url = r.url('WEBHOOK_URL', null, ['http:', 'https:']);
  const secret = r.raw('WEBHOOK_SECRET');
  const settings = {
    batchSize: r.number('WEBHOOK_BATCH_SIZE', DEFAULTS.WEBHOOK_BATCH_SIZE, { min: 1, max: 1_000, integer: true }),
    maxAgeMs: r.duration('WEBHOOK_MAX_AGE', DEFAULTS.WEBHOOK_MAX_AGE, 1_000),
    timeoutMs: r.duration('WEBHOOK_TIMEOUT', DEFAULTS.WEBHOOK_TIMEOUT, 100),
    maxBackoffMs: r.duration('WEBHOOK_MAX_BACKOFF', DEFAULTS.WEBHOOK_MAX_BACKOFF, 1_000),
  };
  if (r.raw('WEBHOOK_URL') === undefined) {
    if (secret !== undefined) r.problems.push('WEBHOOK_SECRET: set, but WEBHOOK_URL is not (set both to deliver the change feed, or neither)');
    return null;
  }
  // Never echo the secret, not even in part.
  if (secret === undefined) r.problems.push('WEBHOOK_SECRET: required when WEBHOOK_URL is set (the key batches are signed with)');
  else if (secret.length < WEBHOOK_SECRET_MIN_LENGTH) r.problems.push(`WEBHOOK_SECRET: expected at least ${WEBHOOK_SECRET_MIN_LENGTH} characters, got ${secret.length}`);
  return url === null || secret === undefined ? null : { url, secret, ...settings };
}

/** The config as it may be shown to a person: secrets redacted. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: redactUrl(config.databaseUrl),
    rpcUrl: config.rpcUrl === null ? null : redactUrl(config.rpcUrl),
    webhook: config.webhook === null ? null : { ...config.webhook, url: redactUrl(config.webhook.url), secret: '***' },
    tierIntervals: Object.fromEntries(TIERS.map((t) => [t, formatDuration(config.tierIntervalsMs[t])])),
  };
}
