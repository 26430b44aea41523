// One batch: read up to 100 due wallets and their ATAs for the tracked mints, in
// ceil(wallets × (1 + mints) / 100) getMultipleAccounts calls, one write.
// Failures become Temporal retry decisions; nothing here sleeps but the pacer.

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { checkAddress } from '../src/address';
import { readBatch, recordedBatch, setAsideInvalid, writeBatch } from '../src/db/checks';
import { recordBatch } from '../src/metrics';
import { type AccountBalance, MAX_ACCOUNTS_PER_CALL, RpcFailure } from '../src/rpc/balances';
import { MAX_CALL_DELAY_MS } from '../src/rpc/attempt';
import { TIER_PRIORITY } from '../src/tiers';
import { callsFor, tokenObservation } from '../src/tokens';
import type { WalletId } from '../src/db/types';
import { redact } from '../src/log';
import type { SweepContext, SweepRange } from '../workflows/definitions';
import type { ActivityDeps } from './deps';

export interface CheckBatchInput extends SweepRange {
  /** Unique per sweep, child and batch: a replayed write of the same batch is a no-op. */
  batchKey: string;
}

export interface CheckBatchResult {
  wallets: number;
  changed: number;
  historyRows: number;
  stale: number;
  setAside: number;
  rpcCalls: number;
  slot: string | null;
}

/** A batch an earlier attempt recorded, as its check reported it (the calls it made, not repeated). */
export function asChecked(recorded: { wallets: number; changed: number; slot: bigint }, mints: number): CheckBatchResult {
  return { wallets: recorded.wallets, changed: recorded.changed, historyRows: recorded.changed, stale: 0, setAside: 0, rpcCalls: callsFor(recorded.wallets, mints), slot: recorded.slot.toString() };
}

const TURN_RETRY_DELAY = '1s';
/** How long a batch's second and later calls may wait for their turns (see checkOne). */
const LATER_CALL_WAIT_MS = 15_000;

/** Error types a retry can never fix; the batch child records the batch as failed. */
export const NON_RETRYABLE_RPC = 'RpcRejected';

export function toApplicationFailure(failure: RpcFailure): ApplicationFailure {
  const type = `Rpc${failure.kind.replace(/(^|_)(\w)/g, (_m, _s, c: string) => c.toUpperCase())}`;
  if (failure.kind === 'rejected') {
    return ApplicationFailure.create({ type: NON_RETRYABLE_RPC, message: failure.message, nonRetryable: true });
  }
  // A 429 waits exactly as long as the server asked; other transient kinds use the policy's backoff.
  return ApplicationFailure.create({ type, message: failure.message, nextRetryDelay: failure.retryAfterMs });
}

const turnExpired = () =>
  // Not a fault, so no growing backoff: the attempt only queues again for a turn.
  ApplicationFailure.create({ type: 'RpcTurnExpired', message: 'no turn of the RPC budget came in time; retried through the queue', nextRetryDelay: TURN_RETRY_DELAY });

/** One batch of a checkBatches activity: its id range and its own key. */
export interface BatchSpan {
  fromId: WalletId;
  toId: WalletId;
  batchKey: string;
}

export interface CheckBatchesInput {
  sweep: SweepContext;
  /** Checked in this order, one after another; each is written on its own, under its own key. */
  batches: BatchSpan[];
}

/** A batch's outcome: what it wrote, or why it can never succeed (a non-retryable failure, redacted). */
export type BatchOutcome = CheckBatchResult | { failed: string };

/**
 * How often a long attempt heartbeats. A normal attempt ends well within it and sends none, so
 * the server does no work for them; one whose worker died is noticed after the heartbeat
 * timeout instead of its start-to-close timeout.
 */
const HEARTBEAT_EVERY_MS = 5_000;

/** A non-retryable failure, reported as its batch's outcome (redacted), or null for any other error. */
function rejection(error: unknown): { failed: string } | null {
  return error instanceof ApplicationFailure && error.nonRetryable ? { failed: redact(`${error.type}: ${error.message}`) } : null;
}

/**
 * A group's batches, one after another. A batch that can never succeed is reported and the
 * others go on. Any other failure ends the attempt: thrown for Temporal's retry policy when
 * nothing of the group was checked yet, or when the failure names its own delay (a 429's
 * Retry-After, a turn of the budget that did not come); once some batches were checked it is
 * returned as a shorter list instead, and the batch child hands the rest to a new activity. A
 * retry's backoff grows with its attempt number, and an attempt that got somewhere is no fault
 * to back off from: ten batches on a provider failing one call in three would otherwise reach
 * the one-minute cap and take minutes.
 */
export async function checkGroup<B>(
  batches: readonly B[],
  check: (batch: B, index: number) => Promise<CheckBatchResult>,
  on: { checked?(done: number): void; stopped?(error: unknown, done: number): void } = {},
): Promise<BatchOutcome[]> {
  const outcomes: BatchOutcome[] = [];
  for (const [i, batch] of batches.entries()) {
    try {
      outcomes.push(await check(batch, i));
    } catch (error) {
      const rejected = rejection(error);
      if (rejected) outcomes.push(rejected);
      else if (outcomes.length === 0 || (error instanceof ApplicationFailure && error.nextRetryDelay != null)) throw error;
      else {
        on.stopped?.(error, outcomes.length);
        return outcomes;
      }
    }
    on.checked?.(outcomes.length);
  }
  return outcomes;
}

export function checkBatchActivities({ sql, readBalances, pace, mints, atasOf }: ActivityDeps) {

  /**
   * One batch. `started`: when the attempt started, for its first batch (whose first call must
   * come soon after the turn Temporal gave it); null for the later batches of an attempt, which
   * the pacer alone spaces.
   */
  async function checkOne({ sweep: { tier, cutoff, plannedAt }, fromId, toId, batchKey }: CheckBatchInput, started: number | null): Promise<CheckBatchResult> {
    const begun = performance.now();
    const { readAt, wallets, minContextSlot } = await readBatch(sql, { tier, cutoff, fromId, toId });
    const empty: CheckBatchResult = { wallets: 0, changed: 0, historyRows: 0, stale: 0, setAside: 0, rpcCalls: 0, slot: null };
    if (wallets.length === 0) {
      // Nothing due: an earlier attempt already wrote this batch (and its completion was lost to
      // a timeout or a dead worker: report what it wrote, so progress counts every wallet
      // checked), or the wallets moved away.
      const earlier = await recordedBatch(sql, batchKey);
      return earlier ? asChecked(earlier, mints.length) : empty;
    }

    const invalid = wallets.flatMap((w) => {
      const check = checkAddress(w.address);
      return check.ok ? [] : [{ id: w.id, reason: check.reason }];
    });
    await setAsideInvalid(sql, invalid);
    const valid = invalid.length ? wallets.filter((w) => !invalid.some((i) => i.id === w.id)) : wallets;
    if (valid.length === 0) return { ...empty, setAside: invalid.length };

    // Each wallet, then its ATAs in mint order; the calls take 100 of these accounts each.
    const atas = await atasOf(valid, mints);
    const keys = valid.flatMap((w, i) => [w.address, ...atas[i]!]);
    const accounts: { account: AccountBalance; slot: bigint }[] = [];
    let slot = minContextSlot ?? undefined;
    for (let offset = 0; offset < keys.length; offset += MAX_ACCOUNTS_PER_CALL) {
      // Each call takes its turn of the shared budget just before it is made, so however late
      // the attempt comes to it the budget holds. A batch's first call whose turn does not come
      // within MAX_CALL_DELAY_MS gives the attempt back to Temporal's queue; so does an attempt
      // held up that long before its first call (a frozen database): Temporal may have timed it
      // out and started another, which must not be raced with reads from before it. The batch's
      // later calls wait longer: giving up then would throw away the calls already made.
      const held = offset === 0 && started !== null ? performance.now() - started : 0;
      const maxWait = offset === 0 ? MAX_CALL_DELAY_MS - held : LATER_CALL_WAIT_MS;
      if (held > MAX_CALL_DELAY_MS || !(await pace(maxWait, TIER_PRIORITY[tier]))) throw turnExpired();
      let read;
      try {
        // A node behind the newest read of these wallets, or behind this batch's earlier calls,
        // is refused by the RPC itself: the batch's reads never go back in time.
        read = await readBalances(keys.slice(offset, offset + MAX_ACCOUNTS_PER_CALL), slot);
      } catch (error) {
        if (error instanceof RpcFailure) throw toApplicationFailure(error);
        throw error;
      }
      slot = read.slot;
      for (const account of read.balances) accounts.push({ account, slot: read.slot });
    }
    const stride = 1 + mints.length;
    let tokens;
    try {
      tokens = valid.flatMap((w, i) =>
        mints.map((m, j) => {
          const { account, slot: at } = accounts[i * stride + 1 + j]!;
          return { id: w.id, ...tokenObservation(account, w.address, m), slot: at };
        }),
      );
    } catch (error) {
      if (error instanceof RpcFailure) throw toApplicationFailure(error);
      throw error;
    }
    const rpcCalls = callsFor(valid.length, mints.length);
    const result = await writeBatch(sql, {
      batchKey,
      tier,
      fromId,
      toId,
      plannedAt,
      readAt,
      slot: slot!,
      observations: valid.map((w, i) => {
        const { account, slot: at } = accounts[i * stride]!;
        return { id: w.id, lamports: account.lamports, onChain: account.onChain, slot: at };
      }),
      tokens,
    });
    // A batch another attempt already recorded was counted by that attempt.
    if (result.recorded) {
      recordBatch(tier, { wallets: valid.length, changed: result.changed, tokenAccounts: tokens.length, tokensChanged: result.tokensChanged, seconds: (performance.now() - begun) / 1000 });
    }
    Context.current().log.debug('batch checked', { batchKey, wallets: valid.length, changed: result.changed, tokensChanged: result.tokensChanged });
    return {
      wallets: valid.length,
      changed: result.changed,
      historyRows: result.historyRows,
      stale: result.stale,
      setAside: invalid.length,
      rpcCalls,
      slot: slot!.toString(),
    };
  }

  return {
    /** One batch per activity: what batch children started before checkBatches still schedule. */
    checkBatch: (input: CheckBatchInput): Promise<CheckBatchResult> => checkOne(input, performance.now()),

    /**
     * Several batches of a child in one activity, so the Temporal overhead (an activity's events
     * and a workflow task) is paid once per BATCHES_PER_ACTIVITY batches. A retried attempt finds
     * the batches an earlier attempt wrote not due any more (readBatch) and reports what they
     * wrote (recordedBatch) without an RPC call. See checkGroup for what a failure does.
     */
    async checkBatches({ sweep, batches }: CheckBatchesInput): Promise<BatchOutcome[]> {
      const started = performance.now();
      let beat = started;
      return checkGroup(batches, (batch, i) => checkOne({ sweep, ...batch }, i === 0 ? started : null), {
        checked(done) {
          if (performance.now() - beat <= HEARTBEAT_EVERY_MS) return;
          beat = performance.now();
          Context.current().heartbeat(done);
        },
        stopped(error, done) {
          Context.current().log.warn('batch failed after others of its group were checked; the rest go to a new activity', {
            done,
            left: batches.length - done,
            error: error instanceof Error ? redact(error.message) : 'unknown error',
          });
        },
      });
    },
  };
}
