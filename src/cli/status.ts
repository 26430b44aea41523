// `status`: every tier at a glance, from live sources: the tier workflow's `progress` query,
// the tier's Temporal Schedule (read now: paused, interval, next sweep), the tier's open batch
// children (retrying now, last error), and wallet counts and staleness in Postgres.

import { setTimeout as sleep } from 'node:timers/promises';
import { type BudgetFit, rpcBudget } from '../budget';
import { formatDuration } from '../duration';
import { recordedCluster } from '../db/cluster';
import { stalestWallets } from '../db/metrics';
import { mintSummaries, type MintSummary } from '../db/tokens';
import { tierCounts, type TierCounts } from '../db/reads';
import { lastRetier, type RetierRun } from '../db/segmentation';
import { deliveryState, type DeliveryState } from '../db/webhooks';
import { describeTierSchedule, type ScheduleView, tierIntervalMs } from '../schedules';
import { TIERS, type Tier, tierScheduleId, tierWorkflowId } from '../tiers';
import { TOKEN_2022_PROGRAM_ADDRESS } from '../tokens';
import type { SweepProgress, TierProgress } from '../../workflows/definitions';
import type { CommandSpec } from './args';
import { type Context, describeQueryError } from './context';
import { CliError, EXIT, oneLine } from './errors';
import { formatCount, formatMs, renderTable, toJson } from './output';
import { MAX_DESCRIBED_CHILDREN, type RetryingBatches, retryingBatches } from './retrying';
import { isDeadline, tierState, type WorkflowState } from './temporal';
import { deliveryLine } from './webhooks';

export interface TierStatus {
  tier: Tier;
  workflowId: string;
  /** running | not-running | no-answer */
  workflow: WorkflowState['kind'];
  /** Why the workflow is not running or not answering. */
  problem: string | null;
  /** Read live from Temporal: paused, interval, note, next sweep due. */
  schedule: (ScheduleView & { id: string }) | null;
  scheduleProblem: string | null;
  /** `unread`: wallets never read yet. */
  wallets: TierCounts;
  /** Seconds since the tier's least recently checked wallet was checked; null without wallets. */
  stalestAgeSeconds: number | null;
  /** The stalest wallet is older than twice the tier's interval. */
  stale: boolean;
  /** Open batch children and their retrying activities; null when Temporal could not say. */
  retrying: RetryingBatches | null;
  retryingProblem: string | null;
  /** The tier workflow's own answer; its `paused` is as of its last sweep, `schedule.paused` is now. */
  progress: TierProgress | null;
}

// Right after an update (a pause, an unpause) the server's scheduler workflow continues-as-new,
// and describing it fails ("Failed to describe schedule") or answers "not found" until the new
// run has taken its first task (seen for over a second on a loaded machine): a few short tries,
// about 5 s in all, ride that out instead of reporting a healthy schedule as broken or missing.
const DESCRIBE_TRIES = 6;
const DESCRIBE_PAUSE_MS = 250;

const pauseBeforeTry = (attempt: number) => sleep(DESCRIBE_PAUSE_MS * attempt);

async function schedule(ctx: Context, tier: Tier): Promise<{ schedule: TierStatus['schedule']; problem: string | null }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const state = await ctx.withDeadline((client) => describeTierSchedule(client, tier));
      if (state === null && attempt < DESCRIBE_TRIES) {
        await pauseBeforeTry(attempt);
        continue;
      }
      return state
        ? { schedule: { id: tierScheduleId(tier), ...state }, problem: null }
        : { schedule: null, problem: `no schedule ${tierScheduleId(tier)}: a worker creates it at start-up` };
    } catch (error) {
      if (attempt < DESCRIBE_TRIES && !isDeadline(error)) {
        await pauseBeforeTry(attempt);
        continue;
      }
      return { schedule: null, problem: `cannot describe schedule ${tierScheduleId(tier)}: ${oneLine(error, ctx.secrets())}` };
    }
  }
}

export interface Status {
  /** Genesis hash of the cluster the stored balances came from; null before a worker first ran. */
  cluster: string | null;
  tiers: TierStatus[];
  /** The latest re-tiering (segmentation), or null when none has run. */
  lastRetier: RetierRun | null;
  /** Do the tiers' sizes and intervals fit RPC_MAX_RPS? */
  budget: BudgetFit;
  /** Every mint ever tracked (TRACKED_MINTS), with its ATAs read and changed. */
  tokens: (MintSummary & { tracked: boolean })[];
  /** Webhook delivery (lag, deliveries, failures, dead letters); null when WEBHOOK_URL is not set. */
  webhooks: DeliveryState | null;
}

export async function collectStatus(ctx: Context): Promise<Status> {
  const sql = await ctx.db();
  await ctx.temporal();
  const counts = await tierCounts(sql, TIERS);
  const tiers = await collectTiers(ctx, counts);
  const config = ctx.config();
  const intervalOf = (t: Tier) => tierIntervalMs(t, tiers.find((s) => s.tier === t)?.schedule, config.tierIntervalsMs);
  const staleAfterMs = (t: Tier) => 2 * intervalOf(t);
  const ages = await stalestWallets(sql, Object.fromEntries(TIERS.map((t) => [t, { horizonMs: staleAfterMs(t) }])) as Record<Tier, { horizonMs: number }>);
  for (const t of tiers) {
    t.stalestAgeSeconds = ages[t.tier]?.stalestAgeSeconds ?? null;
    t.stale = t.stalestAgeSeconds !== null && t.stalestAgeSeconds * 1000 > staleAfterMs(t.tier);
  }
  const checked = (t: Tier) => counts[t].wallets - counts[t].setAside;
  const budget = rpcBudget(
    { high: checked('high'), medium: checked('medium'), low: checked('low') },
    { high: intervalOf('high'), medium: intervalOf('medium'), low: intervalOf('low') },
    config.rpcMaxRps,
    config.trackedMints.length,
  );
  const tokens = (await mintSummaries(sql)).map((m) => ({ ...m, tracked: config.trackedMints.includes(m.mint) }));
  const webhooks = config.webhook ? await deliveryState(sql) : null;
  return { cluster: await recordedCluster(sql), tiers, lastRetier: await lastRetier(sql), budget, tokens, webhooks };
}

function collectTiers(ctx: Context, counts: Record<Tier, TierCounts>): Promise<TierStatus[]> {
  return Promise.all(
    TIERS.map(async (tier): Promise<TierStatus> => {
      const [state, sched, retrying] = await Promise.all([tierState(ctx, tier), schedule(ctx, tier), retryingOf(ctx, tier)]);
      return {
        tier,
        workflowId: tierWorkflowId(tier),
        workflow: state.kind,
        problem: state.kind === 'running' ? null : state.detail,
        schedule: sched.schedule,
        scheduleProblem: sched.problem,
        wallets: counts[tier],
        stalestAgeSeconds: null,
        stale: false,
        ...retrying,
        progress: state.kind === 'running' ? state.progress : null,
      };
    }),
  );
}

async function retryingOf(ctx: Context, tier: Tier): Promise<{ retrying: RetryingBatches | null; retryingProblem: string | null }> {
  try {
    return { retrying: await ctx.withDeadline((client) => retryingBatches(client, tier, ctx.secrets())), retryingProblem: null };
  } catch (error) {
    return { retrying: null, retryingProblem: `cannot list ${tier}'s batch workflows: ${oneLine(error, ctx.secrets())}` };
  }
}

function sweepText(s: TierStatus): string {
  if (s.workflow === 'not-running') return 'WORKFLOW NOT RUNNING';
  if (s.workflow === 'no-answer') return 'NO ANSWER';
  const current = s.progress!.current;
  if (!current) return s.progress!.pendingSweep ? 'idle, sweep pending' : 'idle';
  const pct = current.batchesTotal > 0 ? Math.floor(((current.batchesDone + current.batchesFailed) / current.batchesTotal) * 100) : 100;
  return `sweeping ${current.batchesDone + current.batchesFailed}/${current.batchesTotal} batches (${pct}%), ${formatCount(current.walletsChecked)}/${formatCount(current.due)} wallets`;
}

/** "14:50:01Z" today; the date too when it was another day. */
function clockTime(iso: string, now: Date): string {
  const text = new Date(iso).toISOString();
  return text.slice(0, 10) === now.toISOString().slice(0, 10) ? `${text.slice(11, 19)}Z` : `${text.slice(0, 10)} ${text.slice(11, 19)}Z`;
}

function nextSweepText(s: TierStatus, now: Date): string {
  if (!s.schedule) return '-';
  if (s.schedule.paused) return 'paused';
  if (!s.schedule.nextActionAt) return '-';
  const inMs = new Date(s.schedule.nextActionAt).getTime() - now.getTime();
  return inMs <= 0 ? 'due now' : `in ${formatMs(inMs)}`;
}

function stalestText(s: TierStatus): string {
  if (s.stalestAgeSeconds === null) return '-';
  const age = formatMs(s.stalestAgeSeconds * 1000);
  return s.stale ? `${age} STALE` : age;
}

function retryingText(s: TierStatus): string {
  if (!s.retrying) return '?';
  if (s.retrying.retrying === 0) return '0';
  const more = s.retrying.openChildren > s.retrying.describedChildren ? '+' : '';
  return `${formatCount(s.retrying.retrying)}${more} (attempt ${s.retrying.maxAttempt})`;
}

function lastSweepCells(last: SweepProgress | null, now: Date): string[] {
  if (!last) return ['-', '-', '-', '-'];
  return [
    `${last.finishedAt ? clockTime(last.finishedAt, now) : '-'}, ${last.durationMs === null ? '-' : formatMs(last.durationMs)}`,
    formatCount(last.walletsChecked),
    formatCount(last.walletsChanged),
    formatCount(last.rpcCalls),
  ];
}

function errorsText(s: TierStatus): string {
  const parts: string[] = [];
  const failed = s.progress?.lastSweep?.batchesFailed ?? 0;
  if (failed > 0) parts.push(`${formatCount(failed)} failed batch${failed === 1 ? '' : 'es'}`);
  if (s.wallets.setAside > 0) parts.push(`${formatCount(s.wallets.setAside)} set aside`);
  return parts.length ? parts.join(', ') : 'none';
}

function budgetText(budget: BudgetFit): string {
  const need = `${budget.requiredRps.toFixed(2)} requests/s of RPC_MAX_RPS ${budget.maxRps}`;
  return budget.fits
    ? `RPC budget: the tiers need ${need}: fits`
    : `RPC budget: the tiers need ${need}: DOES NOT FIT, sweeps will fall behind (fewer wallets in fast tiers, longer intervals, or a larger budget)`;
}

function retierText(run: RetierRun | null): string {
  if (!run) return 'Re-tiering: has not run yet';
  const moves = Object.entries(run.moved).sort(([a], [b]) => a.localeCompare(b));
  const total = moves.reduce((sum, [, n]) => sum + n, 0);
  const detail = moves.map(([move, n]) => `${move} ${formatCount(n)}`).join(', ');
  return `Re-tiering: last run ${run.ranAt.toISOString()} moved ${formatCount(total)} wallet${total === 1 ? '' : 's'}${detail ? ` (${detail})` : ''}; ${formatCount(run.pinned)} pinned`;
}

function tokenLines(tokens: Status['tokens']): string[] {
  return tokens.map(
    (t) =>
      `Tokens: ${t.mint} (${t.program === TOKEN_2022_PROGRAM_ADDRESS ? 'Token-2022' : 'SPL Token'}, ${t.decimals} decimals): ` +
      `${formatCount(t.accounts)} ATAs read, ${formatCount(t.onChain)} on chain, ${formatCount(t.changesLastHour)} changes in the last hour` +
      (t.tracked ? '' : ' (no longer in TRACKED_MINTS; history kept)'),
  );
}

export function renderStatus({ cluster, tiers: statuses, lastRetier: retier, budget, tokens, webhooks }: Status, now = new Date()): string {
  const rows = statuses.map((s) => {
    const interval = s.schedule ? formatDuration(s.schedule.intervalMs) : 'no schedule';
    const paused = s.schedule ? (s.schedule.paused ? 'yes' : 'no') : '-';
    return [
      s.tier,
      interval,
      paused,
      nextSweepText(s, now),
      formatCount(s.wallets.wallets),
      formatCount(s.wallets.unread),
      stalestText(s),
      sweepText(s),
      retryingText(s),
      ...lastSweepCells(s.progress?.lastSweep ?? null, now),
      errorsText(s),
    ];
  });
  const table = renderTable(
    ['TIER', 'INTERVAL', 'PAUSED', 'NEXT SWEEP', 'WALLETS', 'NEVER READ', 'STALEST', 'CURRENT SWEEP', 'RETRYING', 'LAST SWEEP', 'CHECKED', 'CHANGED', 'RPC CALLS', 'ERRORS'],
    rows,
    ['left', 'left', 'left', 'left', 'right', 'right', 'right', 'left', 'left', 'right', 'right', 'right', 'right'],
  );
  const notes: string[] = [];
  for (const s of statuses) {
    if (s.problem) notes.push(`${s.tier}: ${s.problem}`);
    if (s.scheduleProblem) notes.push(`${s.tier}: ${s.scheduleProblem}`);
    if (s.retryingProblem) notes.push(`${s.tier}: ${s.retryingProblem}`);
    if (s.stale && s.schedule) {
      notes.push(`${s.tier}: STALE: its stalest wallet was checked ${formatMs(s.stalestAgeSeconds! * 1000)} ago, more than twice its ${formatDuration(s.schedule.intervalMs)} interval`);
    }
    if (s.retrying && s.retrying.retrying > 0) {
      const at = s.retrying.lastErrorAt ? ` (${clockTime(s.retrying.lastErrorAt, now)})` : '';
      notes.push(`${s.tier}: ${formatCount(s.retrying.retrying)} batch${s.retrying.retrying === 1 ? '' : 'es'} retrying, up to attempt ${s.retrying.maxAttempt}; last error${at}: ${s.retrying.lastError ?? 'none recorded'}`);
    }
    if (s.schedule?.paused && s.schedule.note) notes.push(`${s.tier}: schedule paused: ${s.schedule.note}`);
    if (s.wallets.setAside > 0) notes.push(`${s.tier}: ${formatCount(s.wallets.setAside)} wallets set aside as invalid (balance-tracker wallets list --set-aside)`);
  }
  const summary = [`Cluster: ${cluster ? `genesis hash ${cluster}` : 'not recorded yet (a worker records it at its first start)'}`, retierText(retier), budgetText(budget), ...tokenLines(tokens), ...(webhooks ? [deliveryLine(webhooks, now.getTime())] : [])].join('\n');
  return notes.length ? `${table}\n\n${summary}\n\n${notes.join('\n')}` : `${table}\n\n${summary}`;
}

export const statusCommand: CommandSpec = {
  path: ['status'],
  summary: 'every tier: schedule, next sweep, staleness, current and last sweep, batches retrying, errors',
  args: '',
  description: `
Shows every tier from live sources: the tier's Temporal Schedule, read now (interval, paused,
when the next sweep is due), the tier's wallets in Postgres (count, never read yet, how long
ago the stalest one was checked: STALE past twice the interval; set aside as invalid), the
tier workflow's \`progress\` query (current sweep; last sweep: when it finished, how long it
took, wallets checked and changed, RPC calls, failed batches) and the tier's open batch child
workflows (RETRYING: batch activities past their first attempt, among up to ${MAX_DESCRIBED_CHILDREN} children
described; "+" when there are more; the newest error, redacted, in a note below). Below the
table: the cluster the data came from, how many wallets the last re-tiering moved, and whether
the tiers' sizes and intervals fit RPC_MAX_RPS (one call per 100 wallets per interval, summed),
and with WEBHOOK_URL set, webhook delivery: its lag (the oldest undelivered change's age),
batches and changes delivered, failed attempts and dead letters (see \`webhooks status\`).
A tier whose workflow is not running, or does not answer, says so in the table and in a note.
--json carries all of it.

Exit status: 0 when shown (also when a tier workflow is not running), 1 when Postgres or
Temporal cannot be reached.`,
  options: {},
  async run(ctx) {
    let status: Status;
    try {
      status = await collectStatus(ctx);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`cannot read the status: ${describeQueryError(error, ctx.secrets())}`, EXIT.failure, error);
    }
    ctx.io.out(ctx.json ? toJson(status) : renderStatus(status));
    return EXIT.ok;
  },
};
