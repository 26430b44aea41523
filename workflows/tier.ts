// The long-lived workflow that owns one tier: it sweeps when its schedule asks, coalesces
// extra requests, moves wallets between tiers on signal or update, answers `progress`, and
// continues-as-new to keep each run's history small — between sweeps and inside a long one —
// without losing totals, a pending sweep or the sweep in progress. Nothing it receives or
// calls may fail it: activity failures, bad signals and queries are reported, not thrown, and
// a bad update is refused by its validator.

import {
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  TemporalFailure,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { MainActivities } from '../activities';
import type { SweepPage } from '../activities/sweep';
import { type IdRange, MAX_BATCH } from '../src/db/checks';
import type { WalletId } from '../src/db/types';
import { KIND_KEY, TIER_KEY } from '../src/search-attributes';
import { batchWorkflow } from './batch';
import {
  addTally,
  batchWorkflowId,
  emptyTally,
  type PromotionReport,
  type SweepContext,
  type SweepProgress,
  type TierProgress,
  type Totals,
  progressQuery,
  promoteWalletsSignal,
  promoteWalletsUpdate,
  requestSweepSignal,
  type TierStart,
} from './definitions';
import { isUndecodable } from './payload-converter';
import { type CheckedPromotion, checkPromotion, validatePromotion } from './promotion';
import { untrustedText } from './untrusted';
import { inWindow } from './window';

const activities = proxyActivities<MainActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
// A promotion's handler must end, or it would hold off continue-as-new (and so every sweep) for good.
const { moveWallets } = proxyActivities<MainActivities>({
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const local = proxyLocalActivities<MainActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
});

/** How often an idle tier re-reads its schedule (and retries a read that failed), so `progress` shows pause and interval changes. */
const SCHEDULE_REFRESH_MS = 60_000;
const KEEP_PROMOTIONS = 10;
/**
 * Child ranges per planning page: ~8 history events each, so a page adds ~4,000 events and
 * ~1 MB at most to a run, and a page's activity result stays ~25 KB.
 */
export const PLAN_PAGE_SIZE = 500;
/** A run continues as new at a page boundary past these (Temporal's limits: 51,200 events, 50 MB). */
const RUN_MAX_EVENTS = 10_000;
const RUN_MAX_BYTES = 10 * 1024 * 1024;

/** A sweep between two pages: all it needs to go on in another run. */
export interface SweepInProgress {
  context: SweepContext;
  /** Children in flight at once (SWEEP_CONCURRENCY at the plan). */
  concurrency: number;
  progress: SweepProgress;
  /** The next page's ranges start after this wallet id. */
  afterId: WalletId;
  /** Batches the finished children found (and the failed ones were planned with). */
  batchesFound: number;
  /** Due wallets of the ranges already handed to children. */
  duePlanned: number;
  startedAtMs: number;
}

export interface CarriedState {
  pendingSweep: { reason: string } | null;
  coalescedRequests: number;
  lastSweep: SweepProgress | null;
  totals: Totals;
  promotions: PromotionReport[];
  runs: number;
  schedule: { paused: boolean; intervalMs: number } | null;
  scheduleCheckedAt: string | null;
  sweep: SweepInProgress | null;
}

export interface TierWorkflowInput extends TierStart {
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

/** An activity's or child's failure as one line: its own message and its cause's. */
function failureText(error: unknown): string {
  if (!(error instanceof Error)) return untrustedText(error, 200);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`.slice(0, 500);
}

/** What an activity, a child or starting one throws on failure (a bug in this code is not one: it fails the task, to be fixed and replayed). */
const isFailure = (error: unknown): boolean => error instanceof TemporalFailure;

/** 1234567 -> "1,234,567" (no Intl in workflow code). */
const count = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export async function tierWorkflow({ tier, sweepsPerRun = 100, carried }: TierWorkflowInput): Promise<void> {
  let pending = carried?.pendingSweep ?? null;
  let coalesced = carried?.coalescedRequests ?? 0;
  let lastSweep = carried?.lastSweep ?? null;
  const totals = carried?.totals ?? emptyTotals();
  const promotions = carried?.promotions ?? [];
  const runs = (carried?.runs ?? 0) + 1;
  let active = carried?.sweep ?? null;
  let schedule = carried?.schedule ?? null;
  let scheduleCheckedAt = carried?.scheduleCheckedAt ?? null;
  let sweepsThisRun = 0;

  setHandler(requestSweepSignal, (input) => {
    // Anyone can signal: a handler that threw on a bad payload would fail every workflow task.
    const reason = typeof input === 'object' && input !== null && !isUndecodable(input) ? (input as { reason?: unknown }).reason : undefined;
    // At most one sweep waits behind the running one; further requests fold into it.
    if (pending) coalesced++;
    else pending = { reason: reason === undefined ? 'signal' : untrustedText(reason, 200) };
  });

  // The signal's report is seen in `progress` only; the update's also comes back to its caller.
  setHandler(promoteWalletsSignal, async (input) => {
    await promote(checkPromotion(input));
  });
  setHandler(promoteWalletsUpdate, async (input) => promote(checkPromotion(input)), { validator: validatePromotion });

  setHandler(progressQuery, (): TierProgress => ({
    tier,
    state: active ? 'sweeping' : 'idle',
    paused: schedule?.paused ?? null,
    intervalMs: schedule?.intervalMs ?? null,
    scheduleCheckedAt,
    pendingSweep: pending !== null,
    coalescedRequests: coalesced,
    current: active?.progress ?? null,
    lastSweep,
    totals,
    promotions,
    runs,
  }));

  /** A failed read keeps the last known schedule; the next refresh tries again. */
  async function refreshSchedule(): Promise<void> {
    try {
      schedule = await local.readSchedule({ tier });
      scheduleCheckedAt = new Date().toISOString();
    } catch (error) {
      if (isCancellation(error)) throw error;
      log.warn('reading the tier schedule failed; keeping the last known one', { tier, error: failureText(error) });
    }
  }

  /** Plans a sweep; null when planning failed (the request is dropped, the next one plans again). */
  async function startSweep(reason: string): Promise<{ sweep: SweepInProgress; page: SweepPage } | null> {
    const sweepId = `${tier}-${totals.sweeps + 1}-${uuid4().slice(0, 8)}`;
    let plan;
    try {
      plan = await activities.planSweep({ tier, sweepId, pageSize: PLAN_PAGE_SIZE });
    } catch (error) {
      if (!isFailure(error)) throw error;
      log.warn('planning a sweep failed; the next request plans again', { tier, reason, error: failureText(error) });
      return null;
    }
    const { sweep: context, intervalMs, sweepConcurrency, paused, firstPage } = plan;
    schedule = paused === null ? null : { paused, intervalMs };
    scheduleCheckedAt = new Date().toISOString();
    const progress: SweepProgress = {
      sweepId,
      reason,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      durationMs: null,
      intervalMs,
      due: firstPage.due,
      childrenTotal: firstPage.childrenLeft,
      childrenDone: 0,
      batchesTotal: Math.ceil(firstPage.due / MAX_BATCH),
      error: null,
      ...emptyTally(),
    };
    return { sweep: { context, concurrency: sweepConcurrency, progress, afterId: 0, batchesFound: 0, duePlanned: 0, startedAtMs: Date.now() }, page: firstPage };
  }

  async function runChild(sweep: SweepInProgress, range: IdRange, childIndex: number): Promise<void> {
    const { context, progress } = sweep;
    const estimate = Math.ceil(range.wallets / MAX_BATCH);
    try {
      const child = await startChild(batchWorkflow, {
        workflowId: batchWorkflowId(progress.sweepId, childIndex),
        args: [{ sweep: context, childIndex, fromId: range.fromId, toId: range.toId }],
        // A sweep's children die with it; the next sweep picks up whatever is still due.
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        typedSearchAttributes: [
          { key: TIER_KEY, value: tier },
          { key: KIND_KEY, value: 'batch' },
        ],
        memo: { tier, sweepId: progress.sweepId, fromId: range.fromId, toId: range.toId, dueWallets: range.wallets },
        staticSummary: `${tier} sweep ${count(totals.sweeps + 1)}, wallets ${count(range.fromId)}–${count(range.toId)} (${count(range.wallets)} due)`,
      });
      const result = await child.result();
      addTally(progress, result);
      // The plan counted the range's due wallets; the child counts again when it starts and
      // also finds wallets moved into the tier since, so its count replaces the estimate.
      progress.batchesTotal += result.batchesTotal - estimate;
      sweep.batchesFound += result.batchesTotal;
    } catch (error) {
      if (isCancellation(error) || !isFailure(error)) throw error;
      // A failed child costs its batches, not the sweep; its wallets stay due.
      progress.batchesFailed += estimate;
      sweep.batchesFound += estimate;
      log.warn('a sweep child failed', { tier, sweepId: progress.sweepId, childIndex, error: failureText(error) });
    }
    progress.childrenDone++;
  }

  /** Runs a sweep's pages; false when the run should continue as new first (between two pages). */
  async function runSweep(sweep: SweepInProgress, first: SweepPage | null): Promise<boolean> {
    const { context, progress } = sweep;
    let page = first;
    for (;;) {
      if (page === null) {
        if (shouldContinueAsNew(false)) return false;
        try {
          page = await activities.planSweepPage({ sweep: context, afterId: sweep.afterId, pageSize: PLAN_PAGE_SIZE });
        } catch (error) {
          if (!isFailure(error)) throw error;
          progress.error = `planning the sweep's next wallets failed: ${failureText(error)}`;
          return true;
        }
        // Later pages see wallets moved into the tier since the plan: the totals follow them.
        progress.due = sweep.duePlanned + page.due;
        progress.childrenTotal = progress.childrenDone + page.childrenLeft;
        progress.batchesTotal = sweep.batchesFound + Math.ceil(page.due / MAX_BATCH);
      }
      if (page.children.length === 0) return true;
      const firstIndex = progress.childrenDone;
      await inWindow(page.children, sweep.concurrency, (range, index) => runChild(sweep, range, firstIndex + index));
      sweep.afterId = page.children[page.children.length - 1]!.toId;
      sweep.duePlanned += page.children.reduce((sum, c) => sum + c.wallets, 0);
      if (page.children.length === page.childrenLeft) return true;
      page = null;
    }
  }

  async function finishSweep(sweep: SweepInProgress): Promise<void> {
    const { progress } = sweep;
    progress.finishedAt = new Date().toISOString();
    progress.durationMs = Date.now() - sweep.startedAtMs;
    totals.sweeps++;
    totals.walletsChecked += progress.walletsChecked;
    totals.walletsChanged += progress.walletsChanged;
    totals.batchesFailed += progress.batchesFailed;
    totals.walletsSetAside += progress.walletsSetAside;
    totals.rpcCalls += progress.rpcCalls;
    lastSweep = progress;
    active = null;
    sweepsThisRun++;
    try {
      await local.sweepFinished({
        tier,
        sweepId: progress.sweepId,
        reason: progress.reason,
        wallets: progress.walletsChecked,
        changed: progress.walletsChanged,
        rpcCalls: progress.rpcCalls,
        batchesFailed: progress.batchesFailed,
        durationMs: progress.durationMs,
        error: progress.error,
      });
    } catch (error) {
      if (isCancellation(error)) throw error;
      // Only the log line and the metric are lost; the sweep's counts are in `progress`.
      log.warn('recording a finished sweep failed', { tier, sweepId: progress.sweepId, error: failureText(error) });
    }
  }

  /** Moves a checked promotion's valid addresses, and keeps its report for `progress`. */
  async function promote({ report, move }: CheckedPromotion): Promise<PromotionReport> {
    if (move) {
      try {
        const moved = await moveWallets(move);
        report.moved = moved.moved;
        report.unchanged = moved.unchanged;
        report.unknownCount = moved.unknown;
        report.unknown = moved.unknownExamples;
      } catch (error) {
        if (isCancellation(error) || !isFailure(error)) throw error;
        report.error = `moving the wallets failed, none may have moved: ${failureText(error)}`;
      }
    }
    promotions.unshift(report);
    promotions.splice(KEEP_PROMOTIONS);
    return report;
  }

  /** Temporal's suggestion or our own budget; `betweenSweeps` adds the sweeps-per-run limit. */
  function shouldContinueAsNew(betweenSweeps: boolean): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > RUN_MAX_EVENTS || info.historySize > RUN_MAX_BYTES || (betweenSweeps && sweepsThisRun >= sweepsPerRun);
  }

  async function continueAsNewNow(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof tierWorkflow>({
      tier,
      sweepsPerRun,
      carried: { pendingSweep: pending, coalescedRequests: coalesced, lastSweep, totals, promotions, runs, schedule, scheduleCheckedAt, sweep: active },
    });
  }

  if (active === null) await refreshSchedule();
  for (;;) {
    // A sweep carried over from the previous run goes on from its cursor (no first page).
    let firstPage: SweepPage | null = null;
    if (active === null) {
      const requested = await condition(() => pending !== null || shouldContinueAsNew(true), SCHEDULE_REFRESH_MS);
      if (pending) {
        const { reason } = pending;
        pending = null;
        const started = await startSweep(reason);
        if (started) ({ sweep: active, page: firstPage } = started);
      } else if (!requested) {
        await refreshSchedule();
      }
    }
    if (active) {
      if (!(await runSweep(active, firstPage))) await continueAsNewNow();
      await finishSweep(active);
    }
    if (shouldContinueAsNew(true)) await continueAsNewNow();
  }
}
