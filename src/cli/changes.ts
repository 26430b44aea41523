// `changes [--after P] [--follow] [--limit n]`: the change feed in feed order, as a table or one
// JSON object per line; --follow keeps streaming, woken by Postgres notifications.

import { once } from 'node:events';
import { changesAfter, type FeedChange, followChanges } from '../db/feed';
import type { CommandSpec } from './args';
import { intOption, positionOption } from './args';
import { EXIT } from './errors';
import { formatSol, toJson } from './output';

const PAGE = 500;
/** SOL in SOL; a token in its base units (the feed does not know its decimals). */
const amount = (c: FeedChange, value: bigint | null) => (value === null ? '-' : c.asset === 'SOL' ? formatSol(value) : value.toString());

/** Fixed widths, so a followed stream lines up without knowing its rows in advance. */
const row = (cells: string[]) =>
  [cells[0]!.padStart(10), cells[1]!.padEnd(44), cells[2]!.padEnd(44), cells[3]!.padStart(12), cells[4]!.padStart(30), cells[5]!.padStart(30), cells[6]!].join('  ');

export const changesCommand: CommandSpec = {
  path: ['changes'],
  summary: 'print the change feed in order (--follow streams new changes)',
  args: '',
  description: `
Prints stored balance changes in feed order: each has a position in one total order, and
"--after P" prints the changes after position P. A change that committed late is never
skipped: positions become visible in commit order. --json prints one JSON object per line:
{"position","wallet","asset","slot","amount","previous","observedAt"}, amounts as exact
integer strings in base units (lamports for SOL), previous null for a first observation.
The text table shows SOL amounts in SOL, token amounts in base units.

--follow keeps printing changes as they are stored, woken by Postgres LISTEN/NOTIFY, until
SIGINT or SIGTERM. To resume without a gap, pass the last position printed as --after.
--limit stops after that many changes (with or without --follow).

Exit status: 0 when printed (also with no changes, and when a follow is interrupted), 2 when
--after or --limit is invalid, 1 when Postgres cannot be reached or fails.`,
  options: {
    after: { type: 'string', value: 'position', description: 'print changes after this position (default 0: from the start)' },
    follow: { type: 'boolean', description: 'keep printing new changes until interrupted' },
    limit: { type: 'string', value: 'n', description: 'stop after n changes' },
  },
  async run(ctx, args) {
    const after = positionOption(args, 'after') ?? 0n;
    const limit = intOption(args, 'limit', { min: 1, max: Number.MAX_SAFE_INTEGER, fallback: Number.MAX_SAFE_INTEGER });
    const sql = await ctx.db();
    let printed = 0;
    const print = (changes: FeedChange[]) => {
      for (const c of changes.slice(0, limit - printed)) {
        if (ctx.json) {
          const { position, address, asset, slot, previous, observedAt } = c;
          ctx.io.out(toJson({ position, wallet: address, asset, slot, amount: c.amount, previous, observedAt }, 0));
        } else {
          if (printed === 0) ctx.io.out(row(['POSITION', 'WALLET', 'ASSET', 'SLOT', 'AMOUNT', 'PREVIOUS', 'OBSERVED']));
          ctx.io.out(row([c.position.toString(), c.address, c.asset, c.slot.toString(), amount(c, c.amount), amount(c, c.previous), c.observedAt.toISOString()]));
        }
        printed++;
      }
    };
    if (args.values.follow) {
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      try {
        await followChanges(sql, {
          after,
          page: Math.min(PAGE, limit),
          signal: stop.signal,
          async onChanges(changes) {
            print(changes);
            if (printed >= limit) stop.abort();
            // A slow reader of the pipe builds lag in the feed, not memory here.
            if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain', { signal: stop.signal }).catch(() => undefined);
          },
        });
      } finally {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
      return EXIT.ok;
    }
    for (let cursor = after; printed < limit; ) {
      const want = Math.min(PAGE, limit - printed);
      const changes = await changesAfter(sql, cursor, want);
      print(changes);
      if (changes.length < want) break;
      cursor = changes.at(-1)!.position;
    }
    if (printed === 0 && !ctx.json) ctx.io.out(`no changes after position ${after}`);
    return EXIT.ok;
  },
};
