// The sweepFinished activity (run by the tier workflow once per finished sweep), on a
// MockActivityEnvironment: one log line with the sweep's figures, and the failed batches
// added to balance_tracker_batches_failed_total. It reads no database and no Temporal.

import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities';
import { sweepActivities } from '../../activities/sweep';
import { loadConfig } from '../../src/config';
import { setLogFormat, setLogSink } from '../../src/log';
import { registry } from '../../src/metrics';

// sweepFinished touches no dependency but the config: the others stay out of this test.
const { sweepFinished } = sweepActivities({ config: loadConfig({}) } as ActivityDeps);

const restore: (() => void)[] = [];
afterEach(() => {
  for (const undo of restore.splice(0)) undo();
});

async function failedBatches(tier: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('balance_tracker_batches_failed_total')?.get();
  return metric?.values.find((v) => v.labels.tier === tier)?.value;
}

describe('sweepFinished', () => {
  it('writes one info line per sweep and counts its failed batches by tier', async () => {
    const lines: string[] = [];
    restore.push(setLogSink((line) => lines.push(line)), setLogFormat('json'));
    const before = (await failedBatches('medium')) ?? 0;
    const env = new MockActivityEnvironment();
    const summary = { tier: 'medium' as const, sweepId: 'medium-7-0123abcd', reason: 'schedule', wallets: 12_000, changed: 31, rpcCalls: 121, batchesFailed: 3, durationMs: 4_200, error: null };
    await env.run(sweepFinished, summary);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'info', msg: 'sweep finished', tier: 'medium', sweepId: 'medium-7-0123abcd', wallets: 12_000, changed: 31, rpcCalls: 121, batchesFailed: 3, durationMs: 4_200 }),
    ]);
    expect(await failedBatches('medium')).toBe(before + 3);
  });

  it('says so, at warn, when the sweep ended before planning all its wallets', async () => {
    const lines: string[] = [];
    restore.push(setLogSink((line) => lines.push(line)), setLogFormat('json'));
    await new MockActivityEnvironment().run(sweepFinished, {
      tier: 'low' as const, sweepId: 'low-2-89abcdef', reason: 'schedule', wallets: 100, changed: 0, rpcCalls: 1, batchesFailed: 0, durationMs: 900, error: 'planning the sweep\'s next wallets failed: db gone',
    });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'sweep ended early', tier: 'low', error: "planning the sweep's next wallets failed: db gone" }),
    ]);
  });
});
