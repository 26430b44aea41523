// `tiers promote <address…> --to <tier>`: sends promoteWallets to the target tier's workflow
// and shows what the workflow reports for it (a signal cannot answer; the report appears in
// the workflow's `progress`).

import { checkAddress } from '../address';
import { TIERS, type Tier, tierWorkflowId } from '../tiers';
import { MAX_PROMOTE_ADDRESSES, type PromotionReport, promoteWalletsSignal } from '../../workflows/definitions';
import { type CommandSpec, tierOption } from './args';
import type { Context } from './context';
import { CliError, EXIT, oneLine } from './errors';
import { formatCount, quote, toJson } from './output';
import { tierState } from './temporal';
import { validateArguments } from './validate';

/** How long to wait for the tier workflow to report the promotion. */
const REPORT_TIMEOUT_MS = 60_000;
const POLL_MS = 250;
/** The workflow keeps this many recent reports. */
const KEPT_REPORTS = 10;

/** The reports in `after` (newest first) that were not in `before`. */
export function newReports(before: PromotionReport[], after: PromotionReport[]): PromotionReport[] {
  const old = before.map((r) => JSON.stringify(r));
  const now = after.map((r) => JSON.stringify(r));
  for (let i = 0; i <= now.length; i++) {
    if (now.slice(i).every((key, j) => key === old[j])) return after.slice(0, i);
  }
  return after;
}

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
  reportsShown: string;
}

/** The reports of one command's signals, added up (oldest first). */
export function sumReports(tier: Tier, requested: number, reports: PromotionReport[], sent: number): PromotionTotal {
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
    reportsShown: reports.length < sent ? `the last ${reports.length} of ${sent}` : 'all',
  };
}

/**
 * The text of a promotion report. Its invalid addresses and errors repeat what anyone's signal
 * carried (up to 64 characters of it), so they are quoted like all untrusted text; the reasons
 * are the address check's own text, which escapes what it names.
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
  if (total.reportsShown !== 'all') out.push(`  (counts from ${total.reportsShown} reports; the workflow keeps the newest ${KEPT_REPORTS})`);
  if (total.moved > 0) out.push(`moved wallets are checked on the ${tier} tier's next sweep`);
  const err = total.errors.map((error) => `error: ${id} rejected a promotion: ${quote(error, 300)}`);
  return { out, err };
}

async function promotions(ctx: Context, tier: Tier): Promise<PromotionReport[]> {
  const state = await tierState(ctx, tier);
  if (state.kind !== 'running') throw new CliError(`cannot promote to ${tier}: ${state.detail}`);
  return state.progress.promotions;
}

export const tiersPromote: CommandSpec = {
  path: ['tiers', 'promote'],
  summary: 'move wallets to another tier (sends the promoteWallets signal)',
  args: '<address...>',
  description: `
Moves tracked wallets into the tier given by --to, through the tier workflow: the command
sends the promoteWallets signal to balance-tier-<tier> (in chunks of at most
${formatCount(MAX_PROMOTE_ADDRESSES)} addresses), waits for the workflow to report what it did, and prints
that report: wallets moved, already in the tier, and not tracked (ignored). Moved wallets are
checked on the target tier's next sweep. Moving works in both directions (high to low too).

Every address is validated here first; if any is invalid, each is named with its reason and
no signal is sent. The tier workflow must be running (start a worker).

Exit status: 0 when the workflow reported (also when some wallets were not tracked), 2 for an
invalid address or tier, 1 when Temporal cannot be reached, the tier workflow is not running,
or it did not report within ${REPORT_TIMEOUT_MS / 1000} s.`,
  options: { to: { type: 'string', value: 'tier', description: `the tier to move the wallets to: ${TIERS.join(', ')} (required)` } },
  async run(ctx, args) {
    const tier = tierOption(args, 'to');
    const { addresses } = validateArguments(args.positionals);
    const id = tierWorkflowId(tier);
    const before = await promotions(ctx, tier);
    const client = await ctx.temporal();
    const handle = client.workflow.getHandle(id);
    const chunks: string[][] = [];
    for (let i = 0; i < addresses.length; i += MAX_PROMOTE_ADDRESSES) chunks.push(addresses.slice(i, i + MAX_PROMOTE_ADDRESSES));
    for (const chunk of chunks) {
      try {
        await ctx.withDeadline(() => handle.signal(promoteWalletsSignal, { addresses: chunk, tier }));
      } catch (error) {
        throw new CliError(`cannot signal ${id}: ${oneLine(error, ctx.secrets())}`, EXIT.failure, error);
      }
    }
    // Only the newest reports are kept: with more chunks than that, the last ones are shown.
    const expected = Math.min(chunks.length, KEPT_REPORTS);
    const deadline = Date.now() + REPORT_TIMEOUT_MS;
    let reports: PromotionReport[] = [];
    for (;;) {
      reports = newReports(before, await promotions(ctx, tier));
      if (reports.length >= expected) break;
      if (Date.now() > deadline) {
        throw new CliError(`sent promoteWallets to ${id}, but it has not reported within ${REPORT_TIMEOUT_MS / 1000} s (is a worker running?)`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    reports = reports.slice(0, expected).reverse();
    const total = sumReports(tier, addresses.length, reports, chunks.length);
    if (ctx.json) {
      ctx.io.out(toJson(total));
      return total.errors.length > 0 ? EXIT.failure : EXIT.ok;
    }
    const text = promotionText(id, total);
    for (const line of text.out) ctx.io.out(line);
    for (const line of text.err) ctx.io.err(line);
    return total.errors.length > 0 ? EXIT.failure : EXIT.ok;
  },
};
