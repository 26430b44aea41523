// One batch: read up to 100 due wallets, one getMultipleAccounts call, one write.
// Failures become Temporal retry decisions; nothing here loops or sleeps.

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { checkAddress } from '../src/address';
import { readBatch, recordedBatch, setAsideInvalid, writeBatch } from '../src/db/checks';
import { recordBatch } from '../src/metrics';
import { RpcFailure } from '../src/rpc/balances';
import { createPacer } from '../src/rpc/pacer';
import { TIER_PRIORITY } from '../src/tiers';
import type { SweepRange } from '../workflows/definitions';
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

/**
 * How late after its start an attempt may still make its RPC call, its wait for this process's
 * pacer included (about a second after an idle spell). The read before it takes milliseconds,
 * or a few hundred while the worker's connection pool is busy. One process's pacer keeps its
 * calls spaced, but several processes each pace only their own: a call that comes this much
 * after the turn Temporal gave it can land together with later turns of other workers, so this
 * bound is also how far the RPC budget can be overdrawn at the provider with several workers
 * (RPC_MAX_RPS × this, on top of Temporal's one-second burst; see README, "The RPC budget").
 */
export const MAX_CALL_DELAY_MS = 2_000;
const TURN_RETRY_DELAY = '1s';

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

export function checkBatchActivities({ sql, readBalances, config }: ActivityDeps) {
  const pace = createPacer(config.rpcMaxRps);
  return {
    async checkBatch({ sweep: { tier, cutoff, plannedAt }, fromId, toId, batchKey }: CheckBatchInput): Promise<CheckBatchResult> {
      const started = performance.now();
      const { readAt, wallets, minContextSlot } = await readBatch(sql, { tier, cutoff, fromId, toId });
      const empty: CheckBatchResult = { wallets: 0, changed: 0, historyRows: 0, stale: 0, setAside: 0, rpcCalls: 0, slot: null };
      if (wallets.length === 0) {
        // Nothing due: an earlier attempt already wrote this batch (and its completion was lost to
        // a timeout or a dead worker: report what it wrote, so progress counts every wallet
        // checked), or the wallets moved away.
        const earlier = await recordedBatch(sql, batchKey);
        if (!earlier) return empty;
        return { ...empty, wallets: earlier.wallets, changed: earlier.changed, historyRows: earlier.changed, rpcCalls: 1, slot: earlier.slot.toString() };
      }

      const invalid = wallets.flatMap((w) => {
        const check = checkAddress(w.address);
        return check.ok ? [] : [{ id: w.id, reason: check.reason }];
      });
      await setAsideInvalid(sql, invalid);
      const valid = invalid.length ? wallets.filter((w) => !invalid.some((i) => i.id === w.id)) : wallets;
      if (valid.length === 0) return { ...empty, setAside: invalid.length };

      // The task-queue rate limit paces when attempts start, not when they call. An attempt held
      // up before its call (a frozen database, or an attempt Temporal already timed out) would
      // call late, bunched with others: it gives its turn back and retries through the limiter.
      // So does one whose turn in this process's pacer is too far away.
      const held = performance.now() - started;
      if (held > MAX_CALL_DELAY_MS || !(await pace(MAX_CALL_DELAY_MS - held, TIER_PRIORITY[tier]))) {
        // Not a fault, so no growing backoff: the attempt only queues again for a turn.
        throw ApplicationFailure.create({ type: 'RpcTurnExpired', message: 'held up before its RPC call; retried to keep the RPC budget', nextRetryDelay: TURN_RETRY_DELAY });
      }
      let read;
      try {
        // A node behind the newest read of these wallets is refused by the RPC itself.
        read = await readBalances(valid.map((w) => w.address), minContextSlot ?? undefined);
      } catch (error) {
        if (error instanceof RpcFailure) throw toApplicationFailure(error);
        throw error;
      }
      const result = await writeBatch(sql, {
        batchKey,
        tier,
        fromId,
        toId,
        plannedAt,
        readAt,
        slot: read.slot,
        observations: valid.map((w, i) => ({ id: w.id, lamports: read.balances[i]!.lamports, onChain: read.balances[i]!.onChain })),
      });
      // A batch another attempt already recorded was counted by that attempt.
      if (result.recorded) recordBatch(tier, { wallets: valid.length, changed: result.changed, seconds: (performance.now() - started) / 1000 });
      Context.current().log.debug('batch checked', { batchKey, wallets: valid.length, changed: result.changed });
      return {
        wallets: valid.length,
        changed: result.changed,
        historyRows: result.historyRows,
        stale: result.stale,
        setAside: invalid.length,
        rpcCalls: 1,
        slot: read.slot.toString(),
      };
    },
  };
}
