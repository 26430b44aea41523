// The long-lived workflow that owns one tier: it sweeps when its schedule asks,
// coalesces extra requests, moves wallets between tiers on signal, answers `progress`,
// and continues-as-new to keep its history small without losing totals or a pending sweep.

import {
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { MainActivities } from '../activities';
import { checkAddress } from '../src/address';
import { KIND_KEY, TIER_KEY } from '../src/search-attributes';
import { isTier, type Tier } from '../src/tiers';
import { batchWorkflow } from './batch';
import {
  addTally,
  emptyTally,
  MAX_PROMOTE_ADDRESSES,
  type PromotionReport,
  type SweepProgress,
  type TierProgress,
  type Totals,
  progressQuery,
  promoteWalletsSignal,
  requestSweepSignal,
} from './definitions';
import { isUndecodable, undecodableReason } from './payload-converter';
import { inWindow } from './window';

const activities = proxyActivities<MainActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const local = proxyLocalActivities<MainActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
});

/** How often an idle tier re-reads its schedule, so `progress` shows pause and interval changes. */
const SCHEDULE_REFRESH_MS = 60_000;
const KEEP_PROMOTIONS = 10;
const EXAMPLES = 20;

export interface CarriedState {
  pendingSweep: { reason: string } | null;
  coalescedRequests: number;
  lastSweep: SweepProgress | null;
  totals: Totals;
  promotions: PromotionReport[];
  runs: number;
}

export interface TierWorkflowInput {
  tier: Tier;
  /** Sweeps per run before continuing as new, even when Temporal has not suggested it yet. */
  sweepsPerRun?: number;
  carried?: CarriedState;
}

const emptyTotals = (): Totals => ({
  sweeps: 0,
  walletsChecked: 0,
  walletsChanged: 0,
  batchesFailed: 0,
  walletsSetAside: 0,
  rpcCalls: 0,
});

export async function tierWorkflow({ tier, sweepsPerRun = 100, carried }: TierWorkflowInput): Promise<void> {
  let pending = carried?.pendingSweep ?? null;
  let coalesced = carried?.coalescedRequests ?? 0;
  let lastSweep = carried?.lastSweep ?? null;
  const totals = carried?.totals ?? emptyTotals();
  const promotions = carried?.promotions ?? [];
  const runs = (carried?.runs ?? 0) + 1;
  let current: SweepProgress | null = null;
  let schedule: { paused: boolean; intervalMs: number } | null = null;
  let scheduleCheckedAt: string | null = null;
  let sweepsThisRun = 0;

  setHandler(requestSweepSignal, (input) => {
    // Anyone can signal: a handler that threw on a bad payload would fail every workflow task.
    const reason = typeof input === 'object' && input !== null && !isUndecodable(input) ? (input as { reason?: unknown }).reason : undefined;
    // At most one sweep waits behind the running one; further requests fold into it.
    if (pending) coalesced++;
    else pending = { reason: String(reason ?? 'signal').slice(0, 200) };
  });

  setHandler(promoteWalletsSignal, async (input) => {
    const report = await promote(input);
    promotions.unshift(report);
    promotions.splice(KEEP_PROMOTIONS);
  });

  setHandler(progressQuery, (): TierProgress => ({
    tier,
    state: current ? 'sweeping' : 'idle',
    paused: schedule?.paused ?? null,
    intervalMs: schedule?.intervalMs ?? null,
    scheduleCheckedAt,
    pendingSweep: pending !== null,
    coalescedRequests: coalesced,
    current,
    lastSweep,
    totals,
    promotions,
    runs,
  }));

  async function refreshSchedule(): Promise<void> {
    schedule = await local.readSchedule({ tier });
    scheduleCheckedAt = new Date().toISOString();
  }

  async function sweep(reason: string): Promise<void> {
    const plan = await activities.planSweep({ tier });
    schedule = plan.paused === null ? null : { paused: plan.paused, intervalMs: plan.intervalMs };
    scheduleCheckedAt = new Date().toISOString();
    const sweepId = `${tier}-${totals.sweeps + 1}-${uuid4().slice(0, 8)}`;
    const progress: SweepProgress = {
      sweepId,
      reason,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      durationMs: null,
      intervalMs: plan.intervalMs,
      due: plan.due,
      childrenTotal: plan.children.length,
      childrenDone: 0,
      batchesTotal: plan.batches,
      ...emptyTally(),
    };
    current = progress;
    const started = Date.now();
    await inWindow(plan.children, plan.sweepConcurrency, async (range, index) => {
      const child = await startChild(batchWorkflow, {
        workflowId: `${workflowInfo().workflowId}-${sweepId}-${index}`,
        args: [{ tier, sweepId, childIndex: index, cutoff: plan.cutoff, plannedAt: plan.plannedAt, fromId: range.fromId, toId: range.toId, batchWindow: plan.batchWindow, rpcTaskQueue: plan.rpcTaskQueue }],
        // A sweep's children die with it; the next sweep picks up whatever is still due.
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        typedSearchAttributes: [
          { key: TIER_KEY, value: tier },
          { key: KIND_KEY, value: 'batch' },
        ],
        memo: { tier, sweepId, fromId: range.fromId, toId: range.toId, dueWallets: range.wallets },
      });
      try {
        const result = await child.result();
        addTally(progress, result);
        // The plan counted the range's due wallets; the child counts again when it starts and
        // also finds wallets moved into the tier since, so its count replaces the estimate.
        progress.batchesTotal += result.batchesTotal - Math.ceil(range.wallets / 100);
      } catch (error) {
        if (isCancellation(error)) throw error;
        // A failed child costs its batches, not the sweep.
        progress.batchesFailed += Math.ceil(range.wallets / 100);
      }
      progress.childrenDone++;
    });
    progress.finishedAt = new Date().toISOString();
    progress.durationMs = Date.now() - started;
    totals.sweeps++;
    totals.walletsChecked += progress.walletsChecked;
    totals.walletsChanged += progress.walletsChanged;
    totals.batchesFailed += progress.batchesFailed;
    totals.walletsSetAside += progress.walletsSetAside;
    totals.rpcCalls += progress.rpcCalls;
    lastSweep = progress;
    current = null;
    sweepsThisRun++;
  }

  async function promote(input: unknown): Promise<PromotionReport> {
    const report: PromotionReport = {
      at: new Date().toISOString(),
      tier: '',
      requested: 0,
      moved: 0,
      unchanged: 0,
      invalid: [],
      invalidCount: 0,
      unknown: [],
      unknownCount: 0,
      error: null,
    };
    // A signal cannot answer, so everything wrong with it is reported in `progress`.
    if (isUndecodable(input)) return { ...report, tier: '?', error: `undecodable signal input: ${undecodableReason(input)}` };
    const { addresses, tier: target } = (input ?? {}) as { addresses?: unknown; tier?: unknown };
    report.tier = (typeof target === 'string' ? target : String(target)).slice(0, 32);
    if (!isTier(target)) return { ...report, error: `unknown tier '${report.tier}': expected high, medium or low` };
    if (!Array.isArray(addresses)) return { ...report, error: 'addresses must be a list' };
    report.requested = addresses.length;
    if (addresses.length > MAX_PROMOTE_ADDRESSES) {
      return { ...report, error: `too many addresses (${addresses.length}); at most ${MAX_PROMOTE_ADDRESSES} per signal` };
    }
    const valid = new Set<string>();
    for (const candidate of addresses) {
      const check = typeof candidate === 'string' ? checkAddress(candidate) : { ok: false as const, reason: 'not a string' };
      if (check.ok) valid.add(check.address);
      else {
        report.invalidCount++;
        if (report.invalid.length < EXAMPLES) report.invalid.push({ address: String(candidate).slice(0, 64), reason: check.reason });
      }
    }
    if (valid.size === 0) return report;
    const move = await activities.moveWallets({ addresses: [...valid], tier: target });
    report.moved = move.moved.length;
    report.unchanged = move.unchanged.length;
    report.unknownCount = move.unknown.length;
    report.unknown = move.unknown.slice(0, EXAMPLES);
    return report;
  }

  const shouldContinueAsNew = () => workflowInfo().continueAsNewSuggested || sweepsThisRun >= sweepsPerRun;

  await refreshSchedule();
  for (;;) {
    const requested = await condition(() => pending !== null || shouldContinueAsNew(), SCHEDULE_REFRESH_MS);
    if (pending) {
      const { reason } = pending;
      pending = null;
      await sweep(reason);
    } else if (!requested) {
      await refreshSchedule();
    }
    if (shouldContinueAsNew()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof tierWorkflow>({
        tier,
        sweepsPerRun,
        carried: { pendingSweep: pending, coalescedRequests: coalesced, lastSweep, totals, promotions, runs },
      });
    }
  }
}
