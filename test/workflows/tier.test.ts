// The tier and batch workflows on a TestWorkflowEnvironment with activity test doubles: no
// Postgres, no RPC node. What the end-to-end tests cannot reach easily: coalescing, carry-over
// across continue-as-new, bad signals and queries, failing activities and children.

import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promotionText, sumReports } from '../../src/cli/tiers';
import { batchWorkflowId, progressQuery, promoteWalletsSignal, promoteWalletsUpdate, requestSweepSignal, type BatchProgress } from '../../workflows/definitions';
import { testAddresses } from '../helpers/addresses';
import { checked, FakeTier, type Harness, runHistories, startHarness, waitForProgress } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A promise the test resolves: activities wait on it to hold a sweep open. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Moves that find only `tracked` in the database: every other address comes back untracked. */
function trackOnly(fake: FakeTier, tracked: string): void {
  fake.moveWallets = async ({ addresses }) => ({
    moved: addresses.filter((a) => a === tracked).length,
    unchanged: 0,
    unknown: addresses.filter((a) => a !== tracked).length,
    unknownExamples: addresses.filter((a) => a !== tracked),
  });
}

async function status(workflowId: string): Promise<string | undefined> {
  return (await h.env.client.workflow.getHandle(workflowId).describe()).status.name;
}

describe('sweep requests', () => {
  it('fold into one pending sweep while a sweep runs', async () => {
    const fake = new FakeTier({ wallets: 300, childSize: 100 });
    const held = gate();
    fake.checkBatch = async ({ fromId, toId }) => {
      await held.wait;
      return checked(toId - fromId + 1);
    };
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      await handle.signal(requestSweepSignal, { reason: 'first' });
      await waitForProgress(h, handle.workflowId, (p) => p.state === 'sweeping');
      for (let i = 0; i < 5; i++) await handle.signal(requestSweepSignal, { reason: `extra ${i}` });
      const waiting = await waitForProgress(h, handle.workflowId, (p) => p.coalescedRequests === 4);
      expect(waiting).toMatchObject({ state: 'sweeping', pendingSweep: true, totals: { sweeps: 0 } });
      held.open();
      const done = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 2 && p.state === 'idle');
      expect(done).toMatchObject({ pendingSweep: false, coalescedRequests: 4, totals: { sweeps: 2, walletsChecked: 600 }, lastSweep: { reason: 'extra 0' } });
      expect(fake.calls.planSweep).toBe(2);
      await handle.terminate();
    });
  });
});

describe('continue-as-new', () => {
  it('carries the totals, the promotions, the coalesced count and a pending sweep into the next run', async () => {
    const fake = new FakeTier({ wallets: 300, childSize: 100 });
    const held = gate();
    fake.checkBatch = async ({ fromId, toId }) => {
      await held.wait;
      return checked(toId - fromId + 1, 1);
    };
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h, { sweepsPerRun: 1 });
      await handle.signal(requestSweepSignal, { reason: 'first' });
      await waitForProgress(h, handle.workflowId, (p) => p.state === 'sweeping');
      await handle.signal(requestSweepSignal, { reason: 'second' });
      await handle.signal(requestSweepSignal, { reason: 'folded' });
      await handle.signal(promoteWalletsSignal, { tier: 'low', addresses: testAddresses(2, 'can') });
      await waitForProgress(h, handle.workflowId, (p) => p.promotions.length === 1 && p.coalescedRequests === 1);
      held.open();
      const done = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 2 && p.runs >= 2 && p.state === 'idle');
      expect(done).toMatchObject({
        pendingSweep: false,
        coalescedRequests: 1,
        totals: { sweeps: 2, walletsChecked: 600, walletsChanged: 6, rpcCalls: 6, batchesFailed: 0 },
        lastSweep: { reason: 'second', walletsChecked: 300 },
        promotions: [{ tier: 'low', requested: 2, moved: 2 }],
      });
      const runs = await runHistories(h, handle.workflowId);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      await handle.terminate();
    });
  });
});

describe('bad input', () => {
  it('bad promotions, sweep requests and queries are reported or refused, and the tier keeps working', async () => {
    const fake = new FakeTier({ wallets: 100, childSize: 100 });
    const [tracked, untracked] = testAddresses(2, 'promote');
    trackOnly(fake, tracked!);
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      const hostile = 'evn\u202e\u001b[31mred\u200b';
      // Objects whose toString is not a function: String() of them throws.
      const trap = { toString: 'x', valueOf: 'y' };
      const signals: unknown[] = [
        { tier: 'nope', addresses: [] },
        { tier: trap, addresses: [] },
        { tier: 'high', addresses: 'x' },
        { tier: 'high', addresses: testAddresses(10_001, 'many') },
        { tier: 'high', addresses: [1, null, trap, hostile, tracked, untracked] },
        42,
      ];
      for (const input of signals) await handle.signal('promoteWallets', input);
      await handle.signal('requestSweep', { reason: trap });
      await handle.signal('requestSweep', [null]);
      const progress = await waitForProgress(h, handle.workflowId, (p) => p.promotions.length === signals.length && p.totals.sweeps === 1);
      // Reports are listed as they finish: a move's report comes after the quick refusals.
      const report = (pick: (r: (typeof progress.promotions)[number]) => boolean) => progress.promotions.find(pick);
      const unknownTier = report((r) => r.tier === 'nope');
      const trapTier = report((r) => r.tier === '(an object)');
      const notList = report((r) => r.error === 'addresses must be a list');
      const tooMany = report((r) => r.requested === 10_001);
      const mixed = report((r) => r.requested === 6);
      const notObject = report((r) => r.tier === 'undefined');
      expect(unknownTier).toMatchObject({ tier: 'nope', error: "unknown tier 'nope': expected high, medium or low" });
      expect(trapTier).toMatchObject({ tier: '(an object)', error: "unknown tier '(an object)': expected high, medium or low" });
      expect(notList).toMatchObject({ error: 'addresses must be a list', moved: 0 });
      expect(tooMany).toMatchObject({ requested: 10_001, moved: 0, error: 'too many addresses (10001); at most 10000 per signal' });
      expect(mixed).toMatchObject({ requested: 6, moved: 1, unchanged: 0, unknownCount: 1, unknown: [untracked], invalidCount: 4, error: null });
      expect(mixed!.invalid.map((i) => i.address)).toEqual(['1', 'null', '(an object)', hostile]);
      expect(notObject).toMatchObject({ error: "unknown tier 'undefined': expected high, medium or low" });
      expect(fake.moves).toEqual([{ tier: 'high', addresses: [tracked, untracked] }]);
      expect(progress.lastSweep).toMatchObject({ reason: '(an object)', walletsChecked: 100 });

      // The CLI shows the report's untrusted text escaped: nothing invisible, no terminal control.
      const text = promotionText(handle.workflowId, sumReports('high', 6, [mixed!, trapTier!]));
      const printed = [...text.out, ...text.err].join('\n');
      for (const hidden of ['\u001b', '\u202e', '\u200b']) expect(printed).not.toContain(hidden);
      expect(text.out).toContainEqual(expect.stringMatching(/^ {2}invalid: "evn\\u202e\\u001b\[31mred\\u200b": /));
      expect(text.out).toContain(`  not tracked: ${untracked}`);
      expect(text.err).toEqual([`error: ${handle.workflowId} rejected a promotion: "unknown tier '(an object)': expected high, medium or low"`]);

      // Queries: extra arguments are ignored, an unknown query is refused; neither harms the tier.
      expect((await handle.query('progress', 'junk', { x: 1 })) as unknown).toMatchObject({ tier: 'high' });
      await expect(handle.query('noSuchQuery')).rejects.toThrow();
      await handle.signal(requestSweepSignal, { reason: 'after' });
      await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 2);
      expect(await status(handle.workflowId)).toBe('RUNNING');
      await handle.terminate();
    });
  });
});

describe('promotion by update', () => {
  it('refuses bad input before it enters history, and answers a valid promotion with its report', async () => {
    const fake = new FakeTier({ wallets: 100, childSize: 100 });
    const [tracked, untracked] = testAddresses(2, 'update');
    trackOnly(fake, tracked!);
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      const refused: [unknown, string][] = [
        [{ tier: 'high', addresses: 'x' }, 'addresses must be a list'],
        [{ tier: 'high', addresses: testAddresses(10_001, 'update-many') }, 'too many addresses (10001); at most 10000 per signal'],
        [{ tier: 'high', addresses: [tracked, 'not-an-address', 7] }, '2 of 3 addresses are invalid, the first "not-an-address": invalid character \'-\' (U+002D) at position 4: not base58'],
        [{ tier: 'ultra', addresses: [tracked] }, "unknown tier 'ultra': expected high, medium or low"],
        [{ tier: 'high', addresses: [] }, 'no addresses to promote'],
        [null, "unknown tier 'undefined': expected high, medium or low"],
      ];
      for (const [input, message] of refused) {
        const error: unknown = await handle.executeUpdate('promoteWallets', { args: [input] }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((error as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'InvalidPromotion', message });
      }
      expect(fake.moves).toEqual([]);
      expect((await handle.query(progressQuery)).promotions).toEqual([]);

      const report = await handle.executeUpdate(promoteWalletsUpdate, { args: [{ tier: 'low', addresses: [tracked, untracked, tracked] }] });
      expect(report).toMatchObject({ tier: 'low', requested: 3, moved: 1, unchanged: 0, unknownCount: 1, unknown: [untracked], invalidCount: 0, invalid: [], error: null });
      expect(fake.moves).toEqual([{ tier: 'low', addresses: [tracked, untracked] }]);
      expect((await handle.query(progressQuery)).promotions).toEqual([report]);

      // Only the valid update is in the history: accepted once, completed with the report.
      const events = (await handle.fetchHistory()).events ?? [];
      const accepted = events.flatMap((e) => (e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input ? [e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest.input] : []));
      expect(accepted.map((input) => ({ name: input.name, args: input.args!.payloads!.map((p) => defaultPayloadConverter.fromPayload(p)) }))).toEqual([
        { name: 'promoteWallets', args: [{ tier: 'low', addresses: [tracked, untracked, tracked] }] },
      ]);
      expect(events.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
      expect(await status(handle.workflowId)).toBe('RUNNING');
      await handle.terminate();
    });
  });
});

describe('failing activities', () => {
  it('a schedule read, a sweep record and a move that fail leave the tier running with its totals', async () => {
    const fake = new FakeTier({ wallets: 200, childSize: 100 });
    fake.readSchedule = async () => {
      throw ApplicationFailure.retryable('describe failed right after an update', 'ScheduleDescribeFailed');
    };
    fake.sweepFinished = async () => {
      throw ApplicationFailure.nonRetryable('log sink gone', 'Broken');
    };
    fake.moveWallets = async () => {
      throw ApplicationFailure.nonRetryable('database refused the move', 'MoveRefused');
    };
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      // The first read fails all its attempts before anything else happens.
      await waitForProgress(h, handle.workflowId, () => (fake.calls.readSchedule ?? 0) >= 3);
      await handle.signal(promoteWalletsSignal, { tier: 'high', addresses: testAddresses(1, 'move') });
      await handle.signal(requestSweepSignal, { reason: 'one' });
      const first = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 1 && p.promotions.length === 1);
      expect(first.promotions[0]!.error).toMatch(/^moving the wallets failed, none may have moved: .*database refused the move/);
      // The sweep's own plan brought the schedule state the failed read could not.
      expect(first).toMatchObject({ paused: false, intervalMs: 30_000, totals: { sweeps: 1, walletsChecked: 200 } });
      await handle.signal(requestSweepSignal, { reason: 'two' });
      const second = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 2);
      expect(second.totals.walletsChecked).toBe(400);
      expect(fake.calls.sweepFinished).toBeGreaterThanOrEqual(2);
      expect(await status(handle.workflowId)).toBe('RUNNING');
      await handle.terminate();
    });
  });

  it('a child that fails costs its batches, not the sweep; children are named and summarized for the Web UI', async () => {
    const fake = new FakeTier({ wallets: 6_000, childSize: 2_000 });
    fake.batchesOf = ({ fromId }) => {
      if (fromId === 2_001) throw ApplicationFailure.nonRetryable('cannot plan this range', 'Broken');
      return [{ fromId, toId: fromId + 99, wallets: 100 }];
    };
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      await handle.signal(requestSweepSignal, { reason: 'go' });
      const done = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 1);
      // The failed child's 20 planned batches count failed; the others found one batch each.
      expect(done.lastSweep).toMatchObject({ due: 6_000, childrenTotal: 3, childrenDone: 3, batchesDone: 2, batchesFailed: 20, batchesTotal: 22, walletsChecked: 200 });
      expect(done.totals.batchesFailed).toBe(20);
      expect(fake.summaries).toEqual([expect.objectContaining({ tier: 'high', wallets: 200, batchesFailed: 20, rpcCalls: 2, error: null })]);
      const sweepId = done.lastSweep!.sweepId;
      expect(sweepId).toMatch(/^high-1-[0-9a-f]{8}$/);
      const child = h.env.client.workflow.getHandle(batchWorkflowId(sweepId, 0));
      expect(child.workflowId).toBe(`balance-batch-${sweepId}-0`);
      expect(await (await child.describe()).staticSummary()).toBe('high sweep 1, wallets 1–2,000 (2,000 due)');
      expect((await h.env.client.workflow.getHandle(batchWorkflowId(sweepId, 1)).describe()).status.name).toBe('FAILED');
      await handle.terminate();
    });
  });
});

describe('a batch whose error never clears', () => {
  it('counts failed after BATCH_TIMEOUT, the sweep ends, and the next sweep tries its wallets again', async () => {
    const fake = new FakeTier({ wallets: 200, childSize: 100, batchTimeoutMs: 4_000 });
    fake.checkBatch = async () => {
      throw ApplicationFailure.retryable('RPC node is behind the slot already stored', 'RpcUnavailable');
    };
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      await handle.signal(requestSweepSignal, { reason: 'one' });
      const first = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 1);
      expect(first.lastSweep).toMatchObject({ due: 200, childrenDone: 2, batchesTotal: 2, batchesDone: 0, batchesFailed: 2, walletsChecked: 0 });
      expect(fake.summaries[0]).toMatchObject({ batchesFailed: 2, wallets: 0 });
      const child: BatchProgress = await h.env.client.workflow.getHandle(batchWorkflowId(first.lastSweep!.sweepId, 0)).result();
      expect(child.failures).toEqual([expect.stringMatching(/^ids 1-100: gave up after retrying for BATCH_TIMEOUT; last error RpcUnavailable: RPC node is behind the slot already stored/)]);
      const attempts = fake.calls.checkBatch!;
      expect(attempts).toBeGreaterThan(2);
      // The wallets are still due: the next sweep tries them again (and this time they succeed).
      fake.checkBatch = async ({ fromId, toId }) => checked(toId - fromId + 1);
      await handle.signal(requestSweepSignal, { reason: 'two' });
      const second = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 2);
      expect(second.lastSweep).toMatchObject({ batchesDone: 2, batchesFailed: 0, walletsChecked: 200 });
      expect(second.totals).toMatchObject({ batchesFailed: 2, walletsChecked: 200 });
      await handle.terminate();
    });
  });
});

describe('several batches per activity (BATCHES_PER_ACTIVITY)', () => {
  it('groups a child\'s batches, reports each on its own, and counts what a group that gave up had written', async () => {
    // 2 children of 700 wallets: 7 batches each, in activities of 3, 3 and 1.
    const fake = new FakeTier({ wallets: 1_400, childSize: 700, batchesPerActivity: 3, batchTimeoutMs: 4_000 });
    fake.checkBatch = async ({ fromId, toId }) => {
      // In each child: its second batch can never succeed, its fifth keeps failing after the fourth was written.
      if (fromId % 700 === 101) throw ApplicationFailure.nonRetryable('RPC rejected the request', 'RpcRejected');
      if (fromId % 700 === 401) throw ApplicationFailure.retryable('RPC server error (HTTP 503)', 'RpcUnavailable');
      return checked(toId - fromId + 1);
    };
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      await handle.signal(requestSweepSignal, { reason: 'grouped' });
      const { lastSweep } = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 1);
      // Per child: batch 2 rejected; batches 5 and 6 lost with their group (the group's attempts
      // never got past 5); batch 4 of that group was written and counts done.
      expect(lastSweep).toMatchObject({ batchesTotal: 14, batchesDone: 8, batchesFailed: 6, walletsChecked: 800 });
      expect(fake.calls.checkBatches).toBeGreaterThan(6);
      expect(fake.calls.recordedBatches).toBe(2);
      const child: BatchProgress = await h.env.client.workflow.getHandle(batchWorkflowId(lastSweep!.sweepId, 0)).result();
      expect(child.failures).toEqual([
        'ids 101-200: RpcRejected: RPC rejected the request',
        expect.stringMatching(/^ids 401-500: gave up after retrying for BATCH_TIMEOUT; last error RpcUnavailable/),
        expect.stringMatching(/^ids 501-600: gave up after retrying for BATCH_TIMEOUT; last error RpcUnavailable/),
      ]);
      await handle.terminate();
    });
  });
});

describe('a group whose every attempt gets somewhere', () => {
  it('hands the rest of the group to a new activity instead of backing off: no attempt past the second', async () => {
    // One child of 10 batches in one activity; each batch fails its first try, then succeeds. Had
    // one activity retried them all, its backoff would reach the one-minute cap (about 5 minutes).
    const fake = new FakeTier({ wallets: 1_000, childSize: 1_000, batchesPerActivity: 10, batchTimeoutMs: 120_000 });
    const tried = new Set<string>();
    fake.checkBatch = async ({ fromId, toId, batchKey }) => {
      if (!tried.has(batchKey)) {
        tried.add(batchKey);
        throw ApplicationFailure.retryable('RPC server error (HTTP 503)', 'RpcUnavailable');
      }
      return checked(toId - fromId + 1);
    };
    const worker = await fake.worker(h);
    await worker.runUntil(async () => {
      const handle = await fake.start(h);
      await handle.signal(requestSweepSignal, { reason: 'flaky' });
      const { lastSweep } = await waitForProgress(h, handle.workflowId, (p) => p.totals.sweeps === 1);
      expect(lastSweep).toMatchObject({ batchesTotal: 10, batchesDone: 10, batchesFailed: 0, walletsChecked: 1_000 });
      const history = await h.env.client.workflow.getHandle(batchWorkflowId(lastSweep!.sweepId, 0)).fetchHistory();
      const events = history.events ?? [];
      const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkBatches');
      const attempts = events.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : []));
      // The first activity: batch 1 fails (nothing done: retried), then batch 1 done and batch 2
      // fails (returned). Each of the nine after it: its first batch done, the next fails.
      expect(scheduled).toHaveLength(10);
      expect(Math.max(...attempts)).toBe(2);
      expect(fake.calls.checkBatches).toBe(11);
      await handle.terminate();
    });
  });
});
