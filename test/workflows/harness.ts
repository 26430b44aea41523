// Workflow tests on @temporalio/testing: a TestWorkflowEnvironment on the Temporal CLI this
// project builds, the real workflow bundle, and activities replaced by test doubles that
// simulate a tier of any size (ids 1..N, every wallet due) without Postgres or an RPC node.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { MainActivities, RpcActivities } from '../../activities';
import { checkGroup } from '../../activities/check-batch';
import type { PageRequest, SweepPage, SweepPlan, SweepSummary } from '../../activities/sweep';
import type { TierMoveSummary } from '../../activities/tiers';
import type { IdRange } from '../../src/db/checks';
import type { ScheduleState } from '../../src/schedules';
import { KIND_KEY, TIER_KEY } from '../../src/search-attributes';
import { ensureTemporalCli } from '../../tools/toolchain/binaries';
import type { Tier } from '../../src/tiers';
import { sharedBundle } from '../helpers/engine';
import { progressQuery, type TierProgress } from '../../workflows/definitions';
import type { tierWorkflow } from '../../workflows/tier';

export interface Harness {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundle;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const path = await ensureTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path }, searchAttributes: [TIER_KEY, KIND_KEY], ui: false },
  });
  return { env, bundle: sharedBundle(), close: () => env.teardown() };
}

type Activities = MainActivities & RpcActivities;
type CheckBatchResult = Awaited<ReturnType<Activities['checkBatch']>>;

/** A simulated tier: wallets with ids 1..wallets, all due, cut into children of childSize. */
export interface FakeTierOptions {
  wallets: number;
  childSize?: number;
  sweepConcurrency?: number;
  batchWindow?: number;
  /** BATCHES_PER_ACTIVITY (default 1). */
  batchesPerActivity?: number;
  batchTimeoutMs?: number;
  intervalMs?: number;
}

export class FakeTier {
  readonly taskQueue = `wf-test-${randomUUID()}`;
  readonly summaries: SweepSummary[] = [];
  readonly moves: { addresses: string[]; tier: Tier }[] = [];
  readonly calls: Record<string, number> = {};
  /** What checkBatch returned per batch key: what recordedBatches reports as written. */
  readonly written = new Map<string, CheckBatchResult>();
  wallets: number;
  childSize: number;
  /** Per child range: the batches planBatches returns (default: batches of 100 over the range). */
  batchesOf: (child: { fromId: number; toId: number }) => IdRange[] = ({ fromId, toId }) => cut(fromId, toId, 100);
  checkBatch: (input: { fromId: number; toId: number; batchKey: string }) => Promise<CheckBatchResult> = async ({ fromId, toId }) => checked(toId - fromId + 1);
  readSchedule: () => Promise<ScheduleState | null> = async () => ({ paused: false, intervalMs: this.options.intervalMs ?? 30_000, note: '' });
  moveWallets: (input: { addresses: string[]; tier: Tier }) => Promise<TierMoveSummary> = async ({ addresses }) => ({ moved: addresses.length, unchanged: 0, unknown: 0, unknownExamples: [] });
  sweepFinished: (summary: SweepSummary) => Promise<void> = async () => {};

  constructor(private readonly options: FakeTierOptions) {
    this.wallets = options.wallets;
    this.childSize = options.childSize ?? 2_000;
  }

  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  page({ afterId, pageSize }: Pick<PageRequest, 'afterId' | 'pageSize'>): SweepPage {
    const left = Math.max(0, this.wallets - afterId);
    const childrenLeft = Math.ceil(left / this.childSize);
    const children: IdRange[] = [];
    for (let from = afterId + 1; from <= this.wallets && children.length < pageSize; from += this.childSize) {
      const to = Math.min(this.wallets, from + this.childSize - 1);
      children.push({ fromId: from, toId: to, wallets: to - from + 1 });
    }
    return { children, due: left, childrenLeft };
  }

  activities(): Partial<Activities> {
    return {
      planSweep: async ({ tier, sweepId, pageSize }): Promise<SweepPlan> => {
        this.count('planSweep');
        return {
          sweep: {
            tier,
            sweepId,
            cutoff: new Date(Date.now() - 30_000).toISOString(),
            plannedAt: new Date().toISOString(),
            batchWindow: this.options.batchWindow ?? 4,
            batchesPerActivity: this.options.batchesPerActivity ?? 1,
            batchTimeoutMs: this.options.batchTimeoutMs ?? 60_000,
            rpcTaskQueue: this.taskQueue,
          },
          intervalMs: this.options.intervalMs ?? 30_000,
          sweepConcurrency: this.options.sweepConcurrency ?? 8,
          paused: false,
          firstPage: this.page({ afterId: 0, pageSize }),
        };
      },
      planSweepPage: async (request) => {
        this.count('planSweepPage');
        return this.page(request);
      },
      planBatches: async (child) => {
        this.count('planBatches');
        return this.batchesOf(child);
      },
      checkBatch: async (input) => {
        this.count('checkBatch');
        return this.checkBatch(input);
      },
      // As the real one: each batch checked on its own, once written not checked again.
      checkBatches: async ({ batches }) => {
        this.count('checkBatches');
        return checkGroup(batches, async (batch) => {
          let result = this.written.get(batch.batchKey);
          if (!result) {
            this.count('checkBatch');
            result = await this.checkBatch(batch);
            this.written.set(batch.batchKey, result);
          }
          return result;
        });
      },
      recordedBatches: async (keys) => {
        this.count('recordedBatches');
        return keys.map((key) => this.written.get(key) ?? null);
      },
      readSchedule: async () => {
        this.count('readSchedule');
        return this.readSchedule();
      },
      moveWallets: async (input) => {
        this.count('moveWallets');
        this.moves.push(input);
        return this.moveWallets(input);
      },
      sweepFinished: async (summary) => {
        this.count('sweepFinished');
        this.summaries.push(summary);
        return this.sweepFinished(summary);
      },
    };
  }

  async worker(harness: Harness): Promise<Worker> {
    return Worker.create({
      connection: harness.env.nativeConnection,
      taskQueue: this.taskQueue,
      workflowBundle: harness.bundle,
      activities: this.activities(),
      maxConcurrentWorkflowTaskExecutions: 64,
    });
  }

  async start(harness: Harness, input: Omit<Parameters<typeof tierWorkflow>[0], 'tier'> & { tier?: Tier } = {}) {
    return harness.env.client.workflow.start('tierWorkflow', {
      taskQueue: this.taskQueue,
      workflowId: `balance-tier-test-${randomUUID()}`,
      args: [{ tier: 'high', ...input }] as Parameters<typeof tierWorkflow>,
    });
  }
}

export function cut(fromId: number, toId: number, size: number): IdRange[] {
  const ranges: IdRange[] = [];
  for (let from = fromId; from <= toId; from += size) {
    const to = Math.min(toId, from + size - 1);
    ranges.push({ fromId: from, toId: to, wallets: to - from + 1 });
  }
  return ranges;
}

export const checked = (wallets: number, changed = 0): CheckBatchResult => ({ wallets, changed, historyRows: changed, stale: 0, setAside: 0, rpcCalls: 1, slot: '1' });

/** Polls the tier's progress until `done` holds, or fails with the last answer. */
export async function waitForProgress(
  harness: Harness,
  workflowId: string,
  done: (p: TierProgress) => boolean,
  timeoutMs = 60_000,
): Promise<TierProgress> {
  const handle = harness.env.client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  let last: TierProgress | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await handle.query(progressQuery);
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`progress did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last)}; last error: ${String(lastError)}`);
    }
    await sleep(200);
  }
}

/** Every run of a workflow, oldest first, with its history's event count and encoded size. */
export async function runHistories(harness: Harness, workflowId: string): Promise<{ runId: string; events: number; bytes: number }[]> {
  const client = harness.env.client;
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.firstRunId ?? undefined;
  const runs: { runId: string; events: number; bytes: number }[] = [];
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    runs.push({ runId, events: events.length, bytes: temporal.api.history.v1.History.encode(history).finish().length });
    const last = events[events.length - 1];
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}
