// `webhooks status` and `webhooks replay`: where delivery to WEBHOOK_URL stands, and re-sending
// dead letters through the same POST as the delivery workflow (same body, key and signature).

import { type WebhookConfig } from '../config';
import type { Sql } from '../db/client';
import { changesThrough } from '../db/feed';
import { type DeadLetter, deadLetters, deliveryState, type DeliveryState, removeDeadLetter } from '../db/webhooks';
import { postBatch, WebhookError } from '../webhooks/send';
import { type CommandSpec, positionOption } from './args';
import type { Context } from './context';
import { CliError, EXIT, oneLine, UsageError } from './errors';
import { formatCount, formatMs, formatTime, quote, renderTable, toJson } from './output';

/** One line for `status`: lag, backlog, deliveries, failures, dead letters. */
export function deliveryLine(s: DeliveryState, now = Date.now()): string {
  const lag = s.lagSeconds === null ? 'all delivered' : `lag ${formatMs(s.lagSeconds * 1000)} (${formatCount(s.undelivered)} changes undelivered)`;
  const dead = s.deadLetters > 0 ? `${formatCount(s.deadLetters)} dead letters (${formatCount(s.deadLetterChanges)} changes; balance-tracker webhooks replay)` : 'no dead letters';
  const failed = s.failedAttempts > 0n ? `; last failure ${formatTime(s.lastErrorAt, now)}: ${quote(s.lastError ?? '', 120)}` : '';
  return (
    `Webhooks: ${lag}; delivered through position ${s.position} of ${s.latest}: ${formatCount(s.batchesDelivered)} batches, ` +
    `${formatCount(s.changesDelivered)} changes, last ${formatTime(s.lastDeliveredAt, now)}; ${formatCount(s.failedAttempts)} failed attempts; ${dead}${failed}`
  );
}

function requireWebhook(ctx: Context, command: string): WebhookConfig {
  const webhook = ctx.config().webhook;
  if (!webhook) throw new UsageError(`${command}: WEBHOOK_URL and WEBHOOK_SECRET must be set (the receiver and the signing key)`, command);
  return webhook;
}

export const webhooksStatus: CommandSpec = {
  path: ['webhooks', 'status'],
  summary: 'delivery lag, deliveries, failures and the dead letters',
  args: '',
  description: `
Shows where delivery of the change feed to WEBHOOK_URL stands, from Postgres: the delivery
cursor and the feed's newest position, the lag (age of the oldest undelivered change), batches
and changes delivered, failed attempts with the newest failure (redacted), and every dead
letter (its positions, why: rejected by a 4xx or expired past WEBHOOK_MAX_AGE, and the error).

Exit status: 0 when shown, 1 when Postgres cannot be reached.`,
  options: {},
  async run(ctx) {
    const sql = await ctx.db();
    const [state, dead] = await Promise.all([deliveryState(sql), deadLetters(sql)]);
    if (ctx.json) {
      ctx.io.out(toJson({ configured: ctx.config().webhook !== null, ...state, deadLetterList: dead }));
      return EXIT.ok;
    }
    ctx.io.out(ctx.config().webhook ? deliveryLine(state) : `${deliveryLine(state)}\n(WEBHOOK_URL is not set here)`);
    if (dead.length > 0) {
      ctx.io.out(
        `\n${renderTable(
          ['FIRST', 'LAST', 'CHANGES', 'REASON', 'DEAD AT', 'ERROR'],
          dead.map((d) => [d.firstPosition.toString(), d.lastPosition.toString(), formatCount(d.changes), d.reason, formatTime(d.deadAt), quote(d.error ?? '', 80)]),
          ['right', 'right', 'right', 'left', 'left', 'left'],
        )}`,
      );
    }
    return EXIT.ok;
  },
};

/** --all, or --from and --to together; anything else is refused before anything is sent. */
function replayRange(args: Parameters<CommandSpec['run']>[1]): { from: bigint; to: bigint } | null {
  const from = positionOption(args, 'from');
  const to = positionOption(args, 'to');
  const all = args.values.all === true;
  if (all && (from !== undefined || to !== undefined)) throw new UsageError(`${args.command}: give --all or --from/--to, not both`, args.command);
  if (all) return null;
  if (from === undefined || to === undefined) throw new UsageError(`${args.command}: give --all, or both --from <position> and --to <position>`, args.command);
  if (from > to) throw new UsageError(`${args.command}: --from ${from} is after --to ${to}`, args.command);
  return { from, to };
}

async function replay(sql: Sql, webhook: WebhookConfig, letter: DeadLetter): Promise<string | null> {
  const changes = await changesThrough(sql, letter.firstPosition - 1n, letter.lastPosition);
  try {
    await postBatch(webhook, changes);
  } catch (error) {
    if (error instanceof WebhookError) return error.message;
    throw error;
  }
  await removeDeadLetter(sql, letter.firstPosition);
  return null;
}

export const webhooksReplay: CommandSpec = {
  path: ['webhooks', 'replay'],
  summary: 're-send dead-lettered batches to WEBHOOK_URL; delivered ones are removed',
  args: '',
  description: `
Re-sends dead letters (batches delivery gave up on) to WEBHOOK_URL, oldest first, each as the
same POST the delivery workflow made: the same body, idempotency key and signature. A batch the
receiver accepts (2xx) is removed from the dead letters; one it does not stays, with the reason
printed. Each batch is sent once per run: run it again to retry. --all replays every dead letter;
--from P --to Q those holding a position from P to Q.

Exit status: 0 when every selected batch was delivered (also when none matched), 1 when one was
not (or Postgres failed), 2 when the options are invalid or WEBHOOK_URL / WEBHOOK_SECRET are
not set (nothing is sent then).`,
  options: {
    all: { type: 'boolean', description: 'replay every dead letter' },
    from: { type: 'string', value: 'position', description: 'replay dead letters holding a position from this one…' },
    to: { type: 'string', value: 'position', description: '…to this one' },
  },
  async run(ctx, args) {
    const range = replayRange(args);
    const webhook = requireWebhook(ctx, args.command);
    const sql = await ctx.db();
    const letters = await deadLetters(sql, range);
    const results: { firstPosition: bigint; lastPosition: bigint; changes: number; delivered: boolean; error: string | null }[] = [];
    for (const letter of letters) {
      const error = await replay(sql, webhook, letter);
      results.push({ firstPosition: letter.firstPosition, lastPosition: letter.lastPosition, changes: letter.changes, delivered: error === null, error });
      if (!ctx.json) {
        const what = `positions ${letter.firstPosition}–${letter.lastPosition} (${formatCount(letter.changes)} changes)`;
        ctx.io.out(error === null ? `delivered ${what}` : `not delivered ${what}: ${oneLine(error, ctx.secrets())}`);
      }
    }
    const failed = results.filter((r) => !r.delivered).length;
    if (ctx.json) ctx.io.out(toJson({ replayed: results }));
    else if (letters.length === 0) ctx.io.out(range ? `no dead letters hold a position from ${range.from} to ${range.to}` : 'no dead letters');
    else ctx.io.out(`${formatCount(results.length - failed)} of ${formatCount(results.length)} delivered`);
    if (failed > 0) throw new CliError(`${formatCount(failed)} dead letter${failed === 1 ? '' : 's'} not delivered (kept; run again to retry)`, EXIT.failure);
    return EXIT.ok;
  },
};
