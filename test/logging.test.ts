// Structured logs: JSON lines with their fields, secrets redacted, and the lines of a real
// sweep (ours and the Temporal SDK's) carrying workflow and activity ids but never the RPC key.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { log, registerSecrets, setLogFormat, setLogLevel, setLogSink } from '../src/log';
import { urlSecrets } from '../src/redact';
import { requestTierSweep } from '../src/tier-control';
import { installRuntime } from '../src/worker';
import { type Engine, startEngine } from './helpers/engine';

const KEY = 'Sup3rS3cretK3y-0123456789';
const RPC_URL = `https://rpc.example.com/v2/${KEY}?api-key=${KEY}`;

function capture(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const restoreSink = setLogSink((line) => lines.push(line));
  return { lines, restore: restoreSink };
}

describe('a log line', () => {
  let restore: (() => void)[] = [];
  afterEach(() => {
    for (const r of restore.reverse()) r();
    restore = [];
    setLogLevel('info');
  });

  it('is a JSON object with time, level, message and fields, and an RPC URL in it is redacted', () => {
    const out = capture();
    restore.push(out.restore, setLogFormat('json'));
    log.info(`calling ${RPC_URL} now`, { rpcUrl: RPC_URL, batch: 7, slot: 2n ** 64n - 1n, error: new Error(`fetch ${RPC_URL} failed`) });
    expect(out.lines).toHaveLength(1);
    const line = out.lines[0]!;
    expect(line).not.toContain(KEY);
    expect(line).not.toContain('api-key');
    const entry = JSON.parse(line);
    expect(entry).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      msg: 'calling https://rpc.example.com/*** now',
      rpcUrl: 'https://rpc.example.com/***',
      batch: 7,
      slot: '18446744073709551615',
      error: { name: 'Error', message: 'fetch https://rpc.example.com/*** failed' },
    });
  });

  it('hides a registered secret wherever it appears, also outside a URL', () => {
    const out = capture();
    restore.push(out.restore, setLogFormat('json'));
    // What the worker registers for its RPC URL: the URL and the parts of it that look like a key.
    expect(urlSecrets(RPC_URL)).toEqual([RPC_URL, KEY, KEY]);
    registerSecrets(...urlSecrets(RPC_URL));
    log.warn(`provider said: key ${KEY} is over quota`, { detail: `key=${KEY}` });
    expect(out.lines[0]).not.toContain(KEY);
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ level: 'warn', msg: 'provider said: key *** is over quota', detail: 'key=***' });
  });

  it('is short text on a terminal, redacted too, and lines below LOG_LEVEL are dropped', () => {
    const out = capture();
    restore.push(out.restore, setLogFormat('text'));
    log.debug('hidden at info');
    log.error('rpc down', { url: 'https://other.example.com/v2/AnotherKey-42?x=1' });
    expect(out.lines).toEqual(['ERROR rpc down url=https://other.example.com/***']);
  });
});

describe('a real sweep\'s logs', () => {
  const API_KEY = 'L0gT3stK3y-abcdef-987654';
  let engine: Engine;
  const lines: string[] = [];
  let restore: (() => void)[] = [];

  beforeAll(async () => {
    restore = [setLogSink((line) => lines.push(line)), setLogFormat('json')];
    setLogLevel('debug');
    // Before startEngine, which would otherwise install the runtime at warn.
    installRuntime('debug');
    engine = await startEngine({
      simulator: { wallets: 250, seed: 21, knobs: { errorRate: 0.3 } },
      rpcPathSuffix: `/v2/${API_KEY}?api-key=${API_KEY}`,
      env: { LOG_LEVEL: 'debug', TIER_HIGH_INTERVAL: '1s' },
    });
    await addWallets(engine.sql, engine.sim.world.addresses(0, 250) as Address[], 'high');
  });
  afterAll(async () => {
    await engine?.stop();
    for (const r of restore.reverse()) r();
    setLogLevel('info');
  });

  it('carry workflow and activity ids, are JSON, and never show the RPC key or URL path', async () => {
    await requestTierSweep(engine.client, engine.config, 'high', 'logging test');
    await engine.waitForSweeps('high', 1, 90_000);
    // Runtime log lines are forwarded in batches every 100 ms.
    await sleep(500);

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // Our own activity line, through Context.current().log.
    const checked = entries.filter((e) => e.msg === 'batch checked');
    expect(checked.length).toBe(3);
    for (const e of checked) {
      expect(e).toMatchObject({
        level: 'debug',
        source: 'temporal',
        sdkComponent: 'activity',
        activityType: 'checkBatches',
        workflowType: 'batchWorkflow',
        workflowId: expect.stringMatching(/^balance-batch-high-/),
        workflowRunId: expect.any(String),
        activityId: expect.any(String),
        taskQueue: engine.config.temporal.rpcTaskQueue,
        batchKey: expect.any(String),
      });
      expect(e).not.toHaveProperty('taskToken');
    }
    // The SDK's lines: workflows and failed attempts (the simulator answers 30% with 5xx); a
    // failure after some of the group's batches were checked ends the activity with our own line.
    expect(entries.some((e) => e.msg === 'Workflow started' && e.workflowId === 'balance-tier-high' && e.workflowType === 'tierWorkflow')).toBe(true);
    const failedMessages = ['Activity failed', 'batch failed after others of its group were checked; the rest go to a new activity'];
    const failed = entries.filter((e) => failedMessages.includes(e.msg as string) && e.activityType === 'checkBatches');
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect(e).toMatchObject({ level: 'warn', workflowId: expect.any(String), activityId: expect.any(String) });

    const all = lines.join('\n');
    expect(all).not.toContain(API_KEY);
    expect(all).not.toContain('api-key');
    expect(all).not.toContain('/v2/');
  });
});
