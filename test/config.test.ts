import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../src/config';
import { configSecrets } from '../src/redact';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config.temporal).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'balance-tracker', rpcTaskQueue: 'balance-tracker-rpc' });
    expect(config.tierIntervalsMs).toEqual({ high: 30_000, medium: 300_000, low: 3_600_000 });
    expect(config.rpcUrl).toBeNull();
    expect(config.rpcMaxRps).toBe(50);
    expect(config.rpcMaxRetryAfterMs).toBe(60_000);
    expect(config.commitment).toBe('confirmed');
    expect(config.batchTimeoutMs).toBeNull();
  });

  it('caps Retry-After at RPC_MAX_RETRY_AFTER, a duration like the others', () => {
    expect(loadConfig({ RPC_MAX_RETRY_AFTER: '2m' }).rpcMaxRetryAfterMs).toBe(120_000);
    expect(problems({ RPC_MAX_RETRY_AFTER: '60' })).toEqual(["RPC_MAX_RETRY_AFTER: expected a duration like 30s, 5m or 1h (at least 1s), got '60'"]);
    expect(problems({ RPC_MAX_RETRY_AFTER: '500ms' })).toEqual(["RPC_MAX_RETRY_AFTER: expected a duration like 30s, 5m or 1h (at least 1s), got '500ms'"]);
  });

  it('accepts an RPC URL with credentials in it (they are sent as Basic authorization), and never echoes them', () => {
    expect(loadConfig({ SOLANA_RPC_URL: 'https://user:Key-0123456789abcdef@rpc.example.com/' }).rpcUrl).toBe('https://user:Key-0123456789abcdef@rpc.example.com/');
    expect(problems({ SOLANA_RPC_URL: 'ftp://user:Key-0123456789abcdef@rpc.example.com/' })).toEqual([
      "SOLANA_RPC_URL: expected a http or https URL, got 'ftp://rpc.example.com/***'",
    ]);
    // Credentials that are not valid percent-encoding could not be sent: refused on entry.
    expect(problems({ SOLANA_RPC_URL: 'https://user:Key-%ZZ-0123456789@rpc.example.com/' })).toEqual([
      "SOLANA_RPC_URL: expected a http or https URL, got 'https://rpc.example.com/***'",
    ]);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'balances',
      DATABASE_URL: 'postgresql://app:pw@db:5432/bt',
      SOLANA_RPC_URL: 'https://rpc.example.com/?api-key=abc',
      SOLANA_COMMITMENT: 'finalized',
      RPC_MAX_RPS: '12.5',
      TIER_HIGH_INTERVAL: '10s',
      TIER_MEDIUM_INTERVAL: '2m',
      TIER_LOW_INTERVAL: '6h',
      BATCH_TIMEOUT: '90s',
    });
    expect(config).toMatchObject({
      temporal: { address: 'temporal.internal:7233', namespace: 'balances' },
      databaseUrl: 'postgresql://app:pw@db:5432/bt',
      rpcUrl: 'https://rpc.example.com/?api-key=abc',
      commitment: 'finalized',
      rpcMaxRps: 12.5,
      tierIntervalsMs: { high: 10_000, medium: 120_000, low: 21_600_000 },
      batchTimeoutMs: 90_000,
    });
  });

  it.each([
    ['TEMPORAL_ADDRESS', 'localhost', "TEMPORAL_ADDRESS: expected host:port, got 'localhost'"],
    ['DATABASE_URL', 'mysql://x@y/z', "DATABASE_URL: expected a postgres or postgresql URL, got 'mysql://y/***'"],
    ['SOLANA_RPC_URL', 'ftp://rpc.example.com/key123', "SOLANA_RPC_URL: expected a http or https URL, got 'ftp://rpc.example.com/***'"],
    ['SOLANA_RPC_URL', 'not a url', "SOLANA_RPC_URL: expected a http or https URL, got '***'"],
    ['SOLANA_COMMITMENT', 'max', "SOLANA_COMMITMENT: expected one of processed, confirmed, finalized, got 'max'"],
    ['RPC_MAX_RPS', '0', "RPC_MAX_RPS: expected a number from 0.01 to 100000, got '0'"],
    ['RPC_MAX_RPS', 'fast', "RPC_MAX_RPS: expected a number from 0.01 to 100000, got 'fast'"],
    ['TIER_HIGH_INTERVAL', '30', "TIER_HIGH_INTERVAL: expected a duration like 30s, 5m or 1h (at least 1s), got '30'"],
    ['TIER_MEDIUM_INTERVAL', '500ms', "TIER_MEDIUM_INTERVAL: expected a duration like 30s, 5m or 1h (at least 1s), got '500ms'"],
    ['TIER_LOW_INTERVAL', '-1h', "TIER_LOW_INTERVAL: expected a duration like 30s, 5m or 1h (at least 1s), got '-1h'"],
    ['SWEEP_CONCURRENCY', '1.5', "SWEEP_CONCURRENCY: expected an integer from 1 to 256, got '1.5'"],
    ['BATCHES_PER_CHILD', '1000', "BATCHES_PER_CHILD: expected an integer from 1 to 100, got '1000'"],
    ['BATCH_WINDOW', '0', "BATCH_WINDOW: expected an integer from 1 to 100, got '0'"],
    ['BATCHES_PER_ACTIVITY', '21', "BATCHES_PER_ACTIVITY: expected an integer from 1 to 20, got '21'"],
    ['BATCH_TIMEOUT', '500ms', "BATCH_TIMEOUT: expected a duration like 30s, 5m or 1h (at least 1s), got '500ms'"],
    ['METRICS_PORT', '70000', "METRICS_PORT: expected an integer from 1 to 65535, got '70000'"],
    ['LOG_LEVEL', 'loud', "LOG_LEVEL: expected one of debug, info, warn, error, got 'loud'"],
  ])('%s=%s is refused with a message naming the variable', (name, value, message) => {
    expect(problems({ [name]: value })).toEqual([message]);
  });

  it('reads TRACKED_MINTS as distinct addresses; unset or blank tracks SOL only', () => {
    const usdc = 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v';
    const t22 = '2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo';
    expect(loadConfig({}).trackedMints).toEqual([]);
    expect(loadConfig({ TRACKED_MINTS: '  ' }).trackedMints).toEqual([]);
    expect(loadConfig({ TRACKED_MINTS: `${usdc}, ${t22}` }).trackedMints).toEqual([usdc, t22]);
    expect(problems({ TRACKED_MINTS: `${usdc},${usdc}` })).toEqual([`TRACKED_MINTS: ${usdc} is listed twice`]);
    expect(problems({ TRACKED_MINTS: `${usdc},nope,` })).toEqual([
      "TRACKED_MINTS: entry 2 ('nope') is not an address: too short: 4 characters, an address has 32 to 44",
      "TRACKED_MINTS: entry 3 ('') is not an address: empty address",
    ]);
  });

  it('sets BATCHES_PER_ACTIVITY, when not given, to about 20 calls an attempt: 20 batches without mints, fewer with', () => {
    const usdc = 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v';
    const t22 = '2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo';
    expect(loadConfig({}).batchesPerActivity).toBe(20);
    expect(loadConfig({ TRACKED_MINTS: usdc }).batchesPerActivity).toBe(10);
    expect(loadConfig({ TRACKED_MINTS: `${usdc},${t22}` }).batchesPerActivity).toBe(6);
    expect(loadConfig({ TRACKED_MINTS: `${usdc},${t22}`, BATCHES_PER_ACTIVITY: '15' }).batchesPerActivity).toBe(15);
  });

  it('reports every problem at once', () => {
    expect(problems({ RPC_MAX_RPS: 'x', LOG_LEVEL: 'y' })).toHaveLength(2);
  });

  it('never shows the RPC key or the database password when described', () => {
    const shown = JSON.stringify(describeConfig(loadConfig({ SOLANA_RPC_URL: 'https://rpc.example.com/v2/SECRETKEY', DATABASE_URL: 'postgres://app:hunter22@db/bt' })));
    expect(shown).not.toContain('SECRETKEY');
    expect(shown).not.toContain('hunter22');
    expect(shown).toContain('https://rpc.example.com/***');
    expect(shown).toContain('postgres://app:***@db/bt');
  });

  describe('webhooks', () => {
    const SECRET = 'whsec-0123456789abcdef';

    it('are off without WEBHOOK_URL, with defaults once it is set', () => {
      expect(loadConfig({}).webhook).toBeNull();
      expect(loadConfig({ WEBHOOK_URL: 'https://hooks.example.com/in', WEBHOOK_SECRET: SECRET }).webhook).toEqual({
        url: 'https://hooks.example.com/in',
        secret: SECRET,
        batchSize: 100,
        maxAgeMs: 86_400_000,
        timeoutMs: 10_000,
        maxBackoffMs: 300_000,
      });
      expect(
        loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:8080/', WEBHOOK_SECRET: SECRET, WEBHOOK_BATCH_SIZE: '7', WEBHOOK_MAX_AGE: '2h', WEBHOOK_TIMEOUT: '500ms', WEBHOOK_MAX_BACKOFF: '3s' }).webhook,
      ).toMatchObject({ batchSize: 7, maxAgeMs: 7_200_000, timeoutMs: 500, maxBackoffMs: 3_000 });
    });

    it.each([
      [{ WEBHOOK_URL: 'https://hooks.example.com/' }, 'WEBHOOK_SECRET: required when WEBHOOK_URL is set (the key batches are signed with)'],
      [{ WEBHOOK_SECRET: SECRET }, 'WEBHOOK_SECRET: set, but WEBHOOK_URL is not (set both to deliver the change feed, or neither)'],
      [{ WEBHOOK_URL: 'https://hooks.example.com/', WEBHOOK_SECRET: 'short' }, 'WEBHOOK_SECRET: expected at least 16 characters, got 5'],
      [{ WEBHOOK_URL: 'ftp://u:pw-secret-123@hooks.example.com/x', WEBHOOK_SECRET: SECRET }, "WEBHOOK_URL: expected a http or https URL, got 'ftp://hooks.example.com/***'"],
      [{ WEBHOOK_URL: 'https://h.example.com/', WEBHOOK_SECRET: SECRET, WEBHOOK_BATCH_SIZE: '0' }, "WEBHOOK_BATCH_SIZE: expected an integer from 1 to 1000, got '0'"],
      [{ WEBHOOK_URL: 'https://h.example.com/', WEBHOOK_SECRET: SECRET, WEBHOOK_BATCH_SIZE: '5000' }, "WEBHOOK_BATCH_SIZE: expected an integer from 1 to 1000, got '5000'"],
      [{ WEBHOOK_URL: 'https://h.example.com/', WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_AGE: '24' }, "WEBHOOK_MAX_AGE: expected a duration like 30s, 5m or 1h (at least 1s), got '24'"],
      [{ WEBHOOK_URL: 'https://h.example.com/', WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT: '10ms' }, "WEBHOOK_TIMEOUT: expected a duration like 30s, 5m or 1h (at least 100ms), got '10ms'"],
      [{ WEBHOOK_URL: 'https://h.example.com/', WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_BACKOFF: 'soon' }, "WEBHOOK_MAX_BACKOFF: expected a duration like 30s, 5m or 1h (at least 1s), got 'soon'"],
    ])('%j is refused: %s', (env, message) => {
      expect(problems(env)).toEqual([message]);
    });

    it('never show the secret or the URL credentials, and register both as secrets', () => {
      const config = loadConfig({ WEBHOOK_URL: 'https://hook:pw-0123456789abcdef@hooks.example.com/in/tok-0123456789abcdef', WEBHOOK_SECRET: SECRET });
      const shown = JSON.stringify(describeConfig(config));
      for (const secret of [SECRET, 'pw-0123456789abcdef', 'tok-0123456789abcdef']) expect(shown).not.toContain(secret);
      expect(shown).toContain('https://hooks.example.com/***');
      expect(configSecrets(config)).toEqual(expect.arrayContaining([SECRET, 'pw-0123456789abcdef', 'tok-0123456789abcdef']));
      // A refused secret is not echoed either.
      expect(problems({ WEBHOOK_URL: 'https://h.example.com/', WEBHOOK_SECRET: 'tiny-secret' }).join()).not.toContain('tiny-secret');
    });
  });
});
