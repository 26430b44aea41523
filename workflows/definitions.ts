// Signals, queries and updates, shared by the workflows and by clients (CLI, tests).

import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { WalletId } from '../src/db/types';
import type { Tier } from '../src/tiers';

/** What a sweep and a batch child count as their batches complete. */
export interface Tally {
  batchesDone: number;
  batchesFailed: number;
  walletsChecked: number;
  walletsChanged: number;
  walletsSetAside: number;
  staleReads: number;
  rpcCalls: number;
}

const TALLY_KEYS = ['batchesDone', 'batchesFailed', 'walletsChecked', 'walletsChanged', 'walletsSetAside', 'staleReads', 'rpcCalls'] as const;

/**
 * What a sweep's children and their batches know about it: fixed at its plan (planSweep) and
 * passed whole from there to every child and every batch, and carried across continue-as-new.
 */
export interface SweepContext {
  tier: Tier;
  sweepId: string;
  /** Batches of sweeps planned before this instant no longer count; every batch of the sweep uses the same one. */
  cutoff: string;
  /** When the sweep was planned: its batches record it. */
  plannedAt: string;
  /**
   * RPC activities in flight at once per child (BATCH_WINDOW); the task-queue rate limit does the
   * pacing, the window only keeps enough attempts waiting on it.
   */
  batchWindow: number;
  /** Batches per RPC activity (BATCHES_PER_ACTIVITY); missing in contexts planned before it: 1. */
  batchesPerActivity?: number;
  /** How long one batch may keep retrying before it counts failed (BATCH_TIMEOUT). */
  batchTimeoutMs: number;
  /**
   * One attempt's start-to-close timeout (src/rpc/attempt.ts: it grows with the tracked mints).
   * Absent in sweeps planned before it existed, whose attempts keep their minute.
   */
  attemptTimeoutMs?: number;
  rpcTaskQueue: string;
}

/** A part of a sweep: an id range of its tier (a child's, or one batch's). */
export interface SweepRange {
  sweep: SweepContext;
  fromId: WalletId;
  toId: WalletId;
}

/** What starts a tier workflow (clients need no more of its input). */
export interface TierStart {
  tier: Tier;
}

export const emptyTally = (): Tally => ({ batchesDone: 0, batchesFailed: 0, walletsChecked: 0, walletsChanged: 0, walletsSetAside: 0, staleReads: 0, rpcCalls: 0 });

export function addTally(into: Tally, from: Tally): void {
  for (const key of TALLY_KEYS) into[key] += from[key];
}

export interface SweepProgress extends Tally {
  sweepId: string;
  reason: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  intervalMs: number;
  due: number;
  childrenTotal: number;
  childrenDone: number;
  /** Counted at the plan; each child corrects it, when done, by the batches it found. */
  batchesTotal: number;
  /** Why the sweep ended before planning all its wallets (its planning activity failed); null when it did not. */
  error: string | null;
}

export interface Totals {
  sweeps: number;
  walletsChecked: number;
  walletsChanged: number;
  batchesFailed: number;
  walletsSetAside: number;
  rpcCalls: number;
}

/** Examples a promotion report names of its invalid and of its untracked addresses; the counts are exact. */
export const PROMOTION_EXAMPLES = 20;

export interface PromotionReport {
  at: string;
  tier: Tier | string;
  requested: number;
  moved: number;
  unchanged: number;
  /** Up to PROMOTION_EXAMPLES examples each; the counts are exact. */
  invalid: { address: string; reason: string }[];
  invalidCount: number;
  unknown: string[];
  unknownCount: number;
  error: string | null;
}

export interface TierProgress {
  tier: Tier;
  state: 'idle' | 'sweeping';
  paused: boolean | null;
  intervalMs: number | null;
  scheduleCheckedAt: string | null;
  pendingSweep: boolean;
  coalescedRequests: number;
  current: SweepProgress | null;
  lastSweep: SweepProgress | null;
  totals: Totals;
  promotions: PromotionReport[];
  runs: number;
}

export interface BatchProgress extends Tally {
  tier: Tier;
  sweepId: string;
  fromId: WalletId;
  toId: WalletId;
  batchesTotal: number;
  failures: string[];
}

export interface PromoteWalletsInput {
  addresses: string[];
  tier: Tier;
}

export const requestSweepSignal = defineSignal<[{ reason: string }]>('requestSweep');
/** For operators, other systems and the Web UI: the report appears in `progress`. */
export const promoteWalletsSignal = defineSignal<[PromoteWalletsInput]>('promoteWallets');
/** The same promotion, answered with its report; input with anything wrong in it is refused before it enters history. */
export const promoteWalletsUpdate = defineUpdate<PromotionReport, [PromoteWalletsInput]>('promoteWallets');
export const progressQuery = defineQuery<TierProgress>('progress');
export const batchProgressQuery = defineQuery<BatchProgress>('progress');

/**
 * A batch child's workflow id: `balance-batch-high-8-1a2b3c4d-3` is child 3 of the high tier's
 * 8th sweep (the tier once, unlike the tier workflow's id followed by the sweep's).
 */
export const batchWorkflowId = (sweepId: string, childIndex: number): string => `balance-batch-${sweepId}-${childIndex}`;

/** At most this many addresses per promoteWallets signal or update; the CLI splits larger lists. */
export const MAX_PROMOTE_ADDRESSES = 10_000;

/**
 * A claimed webhook batch as activities pass it: the feed's changes in (after, last], positions
 * as decimal strings (JSON payloads carry no bigint). Also the delivery settings the workflow
 * needs for its timeouts, read from the worker's config (the URL and secret never are).
 */
export interface WebhookBatch {
  after: string;
  first: string;
  last: string;
  changes: number;
  oldestObservedAt: string;
  /** Retried until then: the oldest change's observation plus WEBHOOK_MAX_AGE (ms since the epoch). */
  deadlineMs: number;
  timeoutMs: number;
  maxBackoffMs: number;
}

export interface WebhookClaim {
  /** The delivery cursor: every change up to it is delivered or dead-lettered. */
  position: string;
  batch: WebhookBatch | null;
}

export interface WebhookTotals {
  batchesDelivered: number;
  changesDelivered: number;
  deadLetters: number;
  deadLetterChanges: number;
}

export interface WebhookProgress extends WebhookTotals {
  /** waiting: all delivered, woken by the next change; delivering: a batch is being sent (or retried). */
  state: 'waiting' | 'delivering';
  position: string;
  batch: WebhookBatch | null;
  /** The oldest undelivered change's age when the workflow last looked (seconds); 0 when all are delivered. */
  lagSeconds: number;
  lastDeadLetter: { first: string; last: string; reason: string; error: string | null; at: string } | null;
  runs: number;
}

export const webhookProgressQuery = defineQuery<WebhookProgress>('progress');

/** The failure type of a batch the receiver refused (a 4xx other than 408/429): not retried, dead-lettered. */
export const WEBHOOK_REFUSED = 'WebhookRefused';

/** The one webhook delivery workflow of a service (its Temporal namespace and task queue). */
export const WEBHOOK_WORKFLOW_ID = 'balance-webhook-delivery';
