// `tiers promote <address…> --to <tier>`: promotes through the target tier's workflow with the
// promoteWallets update, which answers each promotion with its report.

import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { type Address, checkAddress } from '../address';
import { TIERS, type Tier, tierWorkflowId } from '../tiers';
import { MAX_PROMOTE_ADDRESSES, type PromotionReport, promoteWalletsUpdate } from '../../workflows/definitions';
import { type CommandSpec, tierOption } from './args';
import type { Context } from './context';
import { CliError, EXIT, oneLine } from './errors';
import { formatCount, quote, toJson } from './output';
import { tierState } from './temporal';
import { validateArguments } from './validate';

/** How long the tier workflow may take to answer one promotion (its move included). */
const ANSWER_TIMEOUT_MS = 60_000;

export interface PromotionTotal {
  tier: Tier;
  requested: number;
  moved: number;
  unchanged: number;
  unknownCount: number;
  unknown: string[];
  invalidCount: number;
  invalid: PromotionReport['invalid'];
  errors: string[];
  reports: PromotionReport[];
}

/** The reports of one command's promotions (one per chunk), added up. */
export function sumReports(tier: Tier, requested: number, reports: PromotionReport[]): PromotionTotal {
  const sum = (pick: (r: PromotionReport) => number) => reports.reduce((n, r) => n + pick(r), 0);
  return {
    tier,
    requested,
    moved: sum((r) => r.moved),
    unchanged: sum((r) => r.unchanged),
    unknownCount: sum((r) => r.unknownCount),
    unknown: reports.flatMap((r) => r.unknown),
    invalidCount: sum((r) => r.invalidCount),
    invalid: reports.flatMap((r) => r.invalid),
    errors: reports.flatMap((r) => (r.error ? [r.error] : [])),
    reports,
  };
}

/**
 * The text of a promotion report. Its invalid addresses and errors repeat what a promotion
 * carried (up to 64 characters of it; anyone's signal, in `progress`), so they are quoted like
 * all untrusted text; the reasons are the address check's own text, which escapes what it names.
 */
export function promotionText(id: string, total: PromotionTotal): { out: string[]; err: string[] } {
  const { tier } = total;
  const out = [
    `${id} reported: ${formatCount(total.moved)} moved to ${tier}, ${formatCount(total.unchanged)} already in ${tier}, ` +
      `${formatCount(total.unknownCount)} not tracked (ignored)` +
      (total.invalidCount > 0 ? `, ${formatCount(total.invalidCount)} invalid (ignored)` : ''),
  ];
  // Untracked addresses passed the workflow's validation; anything else is shown quoted.
  for (const address of total.unknown) out.push(`  not tracked: ${checkAddress(address).ok ? address : quote(address)}`);
  if (total.unknownCount > total.unknown.length) out.push(`  … and ${formatCount(total.unknownCount - total.unknown.length)} more not tracked`);
  for (const { address, reason } of total.invalid) out.push(`  invalid: ${quote(address, 64)}: ${reason}`);
  if (total.moved > 0) out.push(`moved wallets are checked on the ${tier} tier's next sweep`);
  const err = total.errors.map((error) => `error: ${id} rejected a promotion: ${quote(error, 300)}`);
  return { out, err };
}

/** One promotion of at most MAX_PROMOTE_ADDRESSES addresses, answered by the tier workflow with its report. */
async function promoteChunk(ctx: Context, tier: Tier, addresses: Address[]): Promise<PromotionReport> {
  const id = tierWorkflowId(tier);
  try {
    return await ctx.withDeadline(
      (client) => client.workflow.getHandle(id).executeUpdate(promoteWalletsUpdate, { args: [{ addresses, tier }] }),
      ANSWER_TIMEOUT_MS,
    );
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      throw new CliError(`${id} refused the promotion: ${quote(error.cause?.message ?? error.message, 300)}`, EXIT.usage, error);
    }
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw new CliError(`${id} has not answered the promotion within ${ANSWER_TIMEOUT_MS / 1000} s (is a worker running?); it may still make it`, EXIT.failure, error);
    }
    throw new CliError(`cannot promote through ${id}: ${oneLine(error, ctx.secrets())}`, EXIT.failure, error);
  }
}

/** Promotes validated addresses, a chunk per update, and adds up the reports. */
export async function promote(ctx: Context, tier: Tier, addresses: Address[]): Promise<PromotionTotal> {
  // Said at once, rather than after an update nobody answers.
  const state = await tierState(ctx, tier);
  if (state.kind !== 'running') throw new CliError(`cannot promote to ${tier}: ${state.detail}`);
  const reports: PromotionReport[] = [];
  for (let i = 0; i < addresses.length; i += MAX_PROMOTE_ADDRESSES) {
    reports.push(await promoteChunk(ctx, tier, addresses.slice(i, i + MAX_PROMOTE_ADDRESSES)));
  }
  return sumReports(tier, addresses.length, reports);
}

export const tiersPromote: CommandSpec = {
  path: ['tiers', 'promote'],
  summary: 'move wallets to another tier (through the promoteWallets update)',
  args: '<address...>',
  description: `
Moves tracked wallets into the tier given by --to, through the tier workflow: the command
sends the promoteWallets update to balance-tier-<tier> (one per ${formatCount(MAX_PROMOTE_ADDRESSES)} addresses),
which answers with what it did, and prints that report: wallets moved, already in the tier,
and not tracked (ignored). Moved wallets are checked on the target tier's next sweep. Moving
works in both directions (high to low too).

Every address is validated here first; if any is invalid, each is named with its reason and
nothing is sent. The tier workflow must be running (start a worker).

Exit status: 0 when the workflow reported (also when some wallets were not tracked), 2 for an
invalid address or tier (or input the workflow refused), 1 when Temporal cannot be reached,
the tier workflow is not running, a move failed, or it did not answer within ${ANSWER_TIMEOUT_MS / 1000} s.`,
  options: { to: { type: 'string', value: 'tier', description: `the tier to move the wallets to: ${TIERS.join(', ')} (required)` } },
  async run(ctx, args) {
    const tier = tierOption(args, 'to');
    const { addresses } = validateArguments(args.positionals);
    const total = await promote(ctx, tier, addresses);
    if (ctx.json) {
      ctx.io.out(toJson(total));
      return total.errors.length > 0 ? EXIT.failure : EXIT.ok;
    }
    const text = promotionText(tierWorkflowId(tier), total);
    for (const line of text.out) ctx.io.out(line);
    for (const line of text.err) ctx.io.err(line);
    return total.errors.length > 0 ? EXIT.failure : EXIT.ok;
  },
};
