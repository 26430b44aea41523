// Signals and queries, shared by the workflows and by clients (CLI, tests).

import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Tier } from '../src/tiers';

export interface SweepProgress {
  sweepId: string;
  reason: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  intervalMs: number;
  due: number;
  childrenTotal: number;
  childrenDone: number;
  batchesTotal: number;
  batchesDone: number;
  batchesFailed: number;
  walletsChecked: number;
  walletsChanged: number;
  walletsSetAside: number;
  staleReads: number;
  rpcCalls: number;
}

export interface Totals {
  sweeps: number;
  walletsChecked: number;
  walletsChanged: number;
  batchesFailed: number;
  walletsSetAside: number;
  rpcCalls: number;
}

export interface PromotionReport {
  at: string;
  tier: Tier | string;
  requested: number;
  moved: number;
  unchanged: number;
  /** Up to 20 examples each; the counts are exact. */
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

export interface BatchProgress {
  tier: Tier;
  sweepId: string;
  fromId: number;
  toId: number;
  batchesTotal: number;
  batchesDone: number;
  batchesFailed: number;
  walletsChecked: number;
  walletsChanged: number;
  walletsSetAside: number;
  staleReads: number;
  rpcCalls: number;
  failures: string[];
}

export interface PromoteWalletsInput {
  addresses: string[];
  tier: Tier;
}

export const requestSweepSignal = defineSignal<[{ reason: string }]>('requestSweep');
export const promoteWalletsSignal = defineSignal<[PromoteWalletsInput]>('promoteWallets');
export const progressQuery = defineQuery<TierProgress>('progress');
export const batchProgressQuery = defineQuery<BatchProgress>('progress');

/** At most this many addresses per promoteWallets signal; the CLI splits larger lists. */
export const MAX_PROMOTE_ADDRESSES = 10_000;
