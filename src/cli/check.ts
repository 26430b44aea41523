// `wallets check <address…>`: reads these wallets now, through the service's own path: the
// sweep's batch child workflow (batchWorkflow) for their id ranges, whose checkBatch activities
// run on the rate-limited RPC task queue and write exactly as a sweep does. Then prints what
// was found.

import { randomUUID } from 'node:crypto';
import { databaseNow, findWallet, type WalletView } from '../db/reads';
import type { WalletId } from '../db/types';
import { redactText } from '../redact';
import { attemptTimeoutMs } from '../rpc/attempt';
import { KIND_KEY, TIER_KEY } from '../search-attributes';
import type { Tier } from '../tiers';
import type { BatchProgress, SweepContext } from '../../workflows/definitions';
import type { BatchWorkflowInput } from '../../workflows/batch';
import type { CommandSpec } from './args';
import { CliError, EXIT, oneLine, UsageError } from './errors';
import { formatCount, formatSol, formatTime, renderTable, toJson } from './output';
import { validateArguments } from './validate';

/** One command reads at most this many wallets (a batch each unless their ids are adjacent). */
const MAX_CHECK = 100;
const RESULT_TIMEOUT_MS = 120_000;

/** Adjacent ids of one tier form one range (one batch of up to 100). */
function ranges(wallets: WalletView[]): { tier: Tier; fromId: WalletId; toId: WalletId }[] {
  const sorted = [...wallets].sort((a, b) => (a.tier === b.tier ? a.id - b.id : a.tier.localeCompare(b.tier)));
  const out: { tier: Tier; fromId: WalletId; toId: WalletId }[] = [];
  for (const w of sorted) {
    const last = out.at(-1);
    if (last && last.tier === w.tier && last.toId === w.id - 1 && w.id - last.fromId < 100) last.toId = w.id;
    else out.push({ tier: w.tier, fromId: w.id, toId: w.id });
  }
  return out;
}

export const walletsCheck: CommandSpec = {
  path: ['wallets', 'check'],
  summary: 'read tracked wallets now (through Temporal and the RPC budget) and print them',
  args: '<address...>',
  description: `
Reads the given tracked wallets now, the way a sweep does: it starts the sweep's batch child
workflow (batchWorkflow) for their id ranges, whose checkBatch activities run on the RPC task
queue under its rate limit (RPC_MAX_RPS) and write through the same path (a balance change
gets a history row; the check counts as the wallet's last check). Adjacent ids of one tier
share one getMultipleAccounts call; others get one each. Waits for the result (at most
${RESULT_TIMEOUT_MS / 1000} s) and prints each wallet's balance, slot and last check. At most ${MAX_CHECK} addresses.
A worker must be running.

Exit status: 0 when every wallet was read, 2 for an invalid or untracked address, 1 when a
read failed or timed out, or Postgres or Temporal cannot be reached.`,
  options: {},
  async run(ctx, args) {
    if (args.positionals.length > MAX_CHECK) throw new UsageError(`${args.command}: at most ${MAX_CHECK} addresses, got ${args.positionals.length}`, args.command);
    const { addresses } = validateArguments(args.positionals);
    const sql = await ctx.db();
    const found = await Promise.all(addresses.map((a) => findWallet(sql, a)));
    const untracked = addresses.filter((_, i) => found[i] === null);
    if (untracked.length > 0) {
      throw new CliError(`not tracked: ${untracked.join(', ')} (add with: balance-tracker wallets add <address…>); nothing was read`, EXIT.usage);
    }
    const wallets = found as WalletView[];
    const config = ctx.config();
    const client = await ctx.temporal();
    // The database's clock: every check planned before now is old enough to read again.
    const cutoff = new Date(await databaseNow(sql)).toISOString();
    const checkId = `check-${randomUUID().slice(0, 8)}`;
    const results: BatchProgress[] = [];
    try {
      await Promise.all(
        ranges(wallets).map(async (range, index) => {
          const sweep: SweepContext = { tier: range.tier, sweepId: checkId, cutoff, plannedAt: cutoff, batchWindow: 1, batchesPerActivity: config.batchesPerActivity, batchTimeoutMs: RESULT_TIMEOUT_MS, attemptTimeoutMs: attemptTimeoutMs(config.rpcTimeoutMs, config.trackedMints.length, config.batchesPerActivity), rpcTaskQueue: config.temporal.rpcTaskQueue };
          const input: BatchWorkflowInput = { sweep, childIndex: index, fromId: range.fromId, toId: range.toId };
          const handle = await client.workflow.start('batchWorkflow', {
            workflowId: `balance-${checkId}-${range.tier}-${range.fromId}`,
            taskQueue: config.temporal.taskQueue,
            args: [input],
            typedSearchAttributes: [
              { key: TIER_KEY, value: range.tier },
              { key: KIND_KEY, value: 'batch' },
            ],
            memo: { tier: range.tier, purpose: 'balance-tracker wallets check', fromId: range.fromId, toId: range.toId },
            staticSummary: `${range.tier} tier: wallets check, ids ${range.fromId}–${range.toId}`,
            workflowExecutionTimeout: RESULT_TIMEOUT_MS,
          });
          results.push(await handle.result());
        }),
      );
    } catch (error) {
      throw new CliError(`cannot check the wallets: ${oneLine(error, ctx.secrets())} (is a worker running?)`, EXIT.failure, error);
    }
    const failures = results.flatMap((r) => r.failures);
    const after = await Promise.all(addresses.map(async (a) => (await findWallet(sql, a))!));
    const rpcCalls = results.reduce((n, r) => n + r.rpcCalls, 0);
    const changed = results.reduce((n, r) => n + r.walletsChanged, 0);
    if (ctx.json) {
      ctx.io.out(
        toJson({
          checkId,
          rpcCalls,
          changed,
          failures,
          wallets: after.map((w) => ({ address: w.address, tier: w.tier, lamports: w.lamports, sol: w.lamports === null ? null : formatSol(w.lamports), onChain: w.onChain, slot: w.slot, lastCheckedAt: w.lastCheckedAt, changedAt: w.changedAt })),
        }),
      );
    } else {
      const now = Date.now();
      ctx.io.out(
        renderTable(
          ['ADDRESS', 'TIER', 'SOL', 'SLOT', 'CHECKED', 'CHANGED'],
          after.map((w) => [w.address, w.tier, w.lamports === null ? 'not read' : formatSol(w.lamports), w.slot?.toString() ?? '-', formatTime(w.lastCheckedAt, now), formatTime(w.changedAt, now)]),
          ['left', 'left', 'right', 'right', 'left', 'left'],
        ),
      );
      ctx.io.out(`read ${formatCount(addresses.length)} wallet${addresses.length === 1 ? '' : 's'} with ${formatCount(rpcCalls)} RPC call${rpcCalls === 1 ? '' : 's'}; ${formatCount(changed)} changed`);
      for (const failure of failures) ctx.io.err(`error: ${redactText(failure, ctx.secrets())}`);
    }
    return failures.length > 0 ? EXIT.failure : EXIT.ok;
  },
};
