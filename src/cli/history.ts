// `wallets history <address> [--csv]`: every recorded change of one wallet, oldest first.

import { checkAddress } from '../address';
import { allWalletChanges } from '../db/history';
import { findWallet } from '../db/reads';
import type { CommandSpec } from './args';
import { CliError, EXIT } from './errors';
import { formatSol, quote, toJson } from './output';

const CSV_HEADER = 'slot,lamports,previous_lamports,sol,observed_at';

export const walletsHistory: CommandSpec = {
  path: ['wallets', 'history'],
  summary: "export one wallet's balance changes (text, --csv or --json)",
  args: '<address>',
  description: `
Prints every balance change recorded for a tracked wallet, oldest first: the slot it was read
at, the new balance in exact lamports, the balance before it (empty for the first
observation), SOL, and when it was observed. --csv writes CSV with the header
"${CSV_HEADER}" (lamports as exact integers); --json a JSON array (lamports as strings).
Streams from Postgres, so a long history is not held in memory.

Exit status: 0 when printed (also with no changes), 2 when the address is invalid or not
tracked, 1 when Postgres cannot be reached.`,
  options: { csv: { type: 'boolean', description: 'print CSV' } },
  async run(ctx, args) {
    const text = args.positionals[0]!;
    const check = checkAddress(text);
    if (!check.ok) throw new CliError(`invalid address ${quote(text)}: ${check.reason}`, EXIT.usage);
    if (args.values.csv && ctx.json) throw new CliError('choose one of --csv and --json', EXIT.usage);
    const sql = await ctx.db();
    const wallet = await findWallet(sql, check.address);
    if (!wallet) throw new CliError(`not tracked: ${check.address} (add it with: balance-tracker wallets add ${check.address})`, EXIT.usage);
    const changes = allWalletChanges(sql, wallet.id);
    if (args.values.csv) {
      ctx.io.out(CSV_HEADER);
      for await (const c of changes) ctx.io.out(`${c.slot},${c.lamports},${c.previousLamports ?? ''},${formatSol(c.lamports)},${c.observedAt.toISOString()}`);
    } else if (ctx.json) {
      const rows = [];
      for await (const c of changes) rows.push({ slot: c.slot, lamports: c.lamports, previousLamports: c.previousLamports, sol: formatSol(c.lamports), observedAt: c.observedAt });
      ctx.io.out(toJson(rows));
    } else {
      let n = 0;
      for await (const c of changes) {
        if (n++ === 0) ctx.io.out(`${'SLOT'.padEnd(12)}  ${'SOL'.padStart(22)}  ${'PREVIOUS SOL'.padStart(22)}  OBSERVED`);
        ctx.io.out(`${c.slot.toString().padEnd(12)}  ${formatSol(c.lamports).padStart(22)}  ${(c.previousLamports === null ? '-' : formatSol(c.previousLamports)).padStart(22)}  ${c.observedAt.toISOString()}`);
      }
      if (n === 0) ctx.io.out(`no balance changes recorded for ${wallet.address}`);
    }
    return EXIT.ok;
  },
};
