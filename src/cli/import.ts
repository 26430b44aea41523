// `wallets import <file|->`: bulk intake, streamed in bounded memory whatever the file holds.
// The parts live in ./import/: source (file or stdin), csv (what each line holds), pipeline
// (batched INSERTs and counts), progress and rejects (the rejects file).

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DEFAULT_TIER, TIERS } from '../tiers';
import { type CommandSpec, stringOption, tierOption } from './args';
import { CliError, EXIT, oneLine } from './errors';
import { MAX_LINE_BYTES } from './import/csv';
import { BATCH_SIZE, importAddresses, type ImportResult, SHOWN_REJECTS } from './import/pipeline';
import { PROGRESS_EVERY } from './import/progress';
import { openSource } from './import/source';
import { formatCount, toJson } from './output';

function summary(r: ImportResult): string {
  const valid = r.imported + r.alreadyTracked + r.duplicates;
  const head =
    r.imported === 0 && valid > 0
      ? `nothing new imported from ${r.source}: all ${formatCount(valid)} valid lines name wallets that are already tracked`
      : `imported ${formatCount(r.imported)} new wallet${r.imported === 1 ? '' : 's'} into tier ${r.tier} from ${r.source}`;
  const rows: [string, string][] = [
    ['lines read', formatCount(r.lines)],
    ['new wallets', formatCount(r.imported)],
    ['already tracked', `${formatCount(r.alreadyTracked)}${r.alreadyTracked > 0 ? ' (tier unchanged)' : ''}`],
    ['duplicate lines', formatCount(r.duplicates)],
    ['blank lines', formatCount(r.blank)],
    ['header', r.headerLine === null ? 'none' : `line ${r.headerLine}, skipped`],
    ['rejected lines', r.rejected === 0 ? '0' : `${formatCount(r.rejected)} (all listed in ${r.rejectsFile})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [head, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

export const walletsImport: CommandSpec = {
  path: ['wallets', 'import'],
  summary: 'import wallets in bulk from a file or stdin (newline list or CSV)',
  args: '<file|->',
  description: `
Imports wallets from a file, or from standard input with "-". Streamed: any size imports in
bounded memory, ${formatCount(BATCH_SIZE)} addresses per INSERT. Creates the database schema if it
is missing.

Input: one address per line, or CSV whose first column is the address (a "quoted" first
field is unquoted; other columns are ignored). Accepted and skipped: a UTF-8 BOM, CRLF line
ends, blank lines (empty or only whitespace), and a header on the first non-blank line whose
first column is one of: address, wallet, wallet_address, pubkey, public_key, account, owner
(any case). An address is never trimmed: a line whose address has spaces or tabs around it
is rejected (consistent with \`wallets add\`). Lines longer than ${formatCount(MAX_LINE_BYTES)} bytes and lines
that are not UTF-8 are rejected without being held in memory.

Repeated lines and wallets already tracked are counted, not errors; a tracked wallet keeps
its tier (use \`tiers promote\`). Running the same import again adds nothing and says so.

Rejected lines are reported with their line number and reason: the first ${SHOWN_REJECTS} on stderr,
all of them in the rejects file (tab-separated: line, reason, text as a JSON string):
<file>.rejected.txt by default, stdin.rejected.txt for "-", or --rejects. The valid lines
are imported either way. Progress goes to stderr: a bar on a terminal, otherwise a line
every ${formatCount(PROGRESS_EVERY)} lines. The summary goes to stdout (--json for JSON).

Interrupting an import keeps the batches already written; running it again completes it.

Exit status: 0 when no line was rejected, 3 when some lines were rejected (the valid ones
were imported), 2 for bad usage, an unreadable file or an unwritable rejects file, 1 when
Postgres cannot be reached.`,
  options: {
    tier: { type: 'string', value: 'tier', description: `tier for new wallets: ${TIERS.join(', ')} (default ${DEFAULT_TIER})` },
    rejects: { type: 'string', value: 'file', description: 'where to list rejected lines (default <file>.rejected.txt)' },
  },
  async run(ctx, args) {
    const tier = tierOption(args, 'tier', DEFAULT_TIER);
    const source = args.positionals[0]!;
    const rejectsPath = stringOption(args, 'rejects') ?? (source === '-' ? 'stdin.rejected.txt' : `${source}.rejected.txt`);
    if (rejectsPath === '' || (source !== '-' && resolve(rejectsPath) === resolve(source))) {
      throw new CliError(`${args.command}: --rejects must name a file other than the input`, EXIT.usage);
    }
    // An unreadable input or an unwritable rejects file fails before anything is imported.
    try {
      await access(dirname(resolve(rejectsPath)), constants.W_OK);
    } catch (error) {
      throw new CliError(`cannot write the rejects file ${rejectsPath}: ${oneLine(error)}`, EXIT.usage);
    }
    const input = await openSource(source);
    let sql;
    try {
      sql = await ctx.db({ migrate: true });
    } catch (error) {
      await input.close();
      throw error;
    }
    const result = await importAddresses(sql, {
      source,
      input,
      tier,
      rejectsPath,
      io: ctx.io,
      tty: process.stderr.isTTY === true && !ctx.json,
    });
    ctx.io.out(ctx.json ? toJson(result) : summary(result));
    return result.rejected > 0 ? EXIT.rejected : EXIT.ok;
  },
};
