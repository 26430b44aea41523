// `wallets add | remove | list | show`.

import { countWallets, findWallet, listWallets, trackedTiers, walletHistory, type WalletView } from '../db/reads';
import { addWallets, removeWallets } from '../db/wallets';
import { DEFAULT_TIER, TIERS } from '../tiers';
import { type CommandSpec, intOption, tierOption } from './args';
import { CliError, EXIT } from './errors';
import { formatCount, formatSol, formatTime, quote, renderFields, renderTable, toJson } from './output';
import { checkAddress } from '../address';
import { validateArguments } from './validate';

const TIER_LIST = TIERS.join(', ');

export const walletsAdd: CommandSpec = {
  path: ['wallets', 'add'],
  summary: 'start tracking wallets',
  args: '<address...>',
  description: `
Starts tracking the given wallets. Every address is validated first (base58 that decodes to
32 bytes; whitespace is never trimmed): if any is invalid, each invalid one is named with its
reason and nothing is written. Adding a wallet that is already tracked is a no-op that says so
(its tier is not changed: use \`tiers promote\`). New wallets are checked on their tier's next
sweep. Creates the database schema if it is missing.

Exit status: 0 when done (also when every wallet was already tracked), 2 when an address is
invalid, 1 when Postgres cannot be reached.`,
  options: { tier: { type: 'string', value: 'tier', description: `tier for new wallets: ${TIER_LIST} (default ${DEFAULT_TIER})` } },
  async run(ctx, args) {
    const tier = tierOption(args, 'tier', DEFAULT_TIER);
    const { addresses, repeated } = validateArguments(args.positionals);
    const sql = await ctx.db({ migrate: true });
    const added = new Set(await addWallets(sql, addresses, tier));
    const existing = await trackedTiers(sql, addresses.filter((a) => !added.has(a)));
    const already = addresses.filter((a) => !added.has(a)).map((address) => ({ address, tier: existing.get(address) ?? null }));
    if (ctx.json) {
      ctx.io.out(toJson({ tier, added: [...added], alreadyTracked: already, repeatedArguments: repeated }));
      return EXIT.ok;
    }
    for (const address of added) ctx.io.out(`added ${address} (tier ${tier})`);
    for (const { address, tier: current } of already) {
      // A wallet removed between the insert and the lookup has no tier: say so plainly.
      ctx.io.out(current ? `already tracked: ${address} (tier ${current}); nothing changed` : `already tracked: ${address}; nothing changed`);
    }
    if (addresses.length > 1 || repeated > 0) {
      ctx.io.out(
        `${formatCount(added.size)} added, ${formatCount(already.length)} already tracked` +
          (repeated > 0 ? `, ${formatCount(repeated)} repeated in the arguments` : ''),
      );
    }
    return EXIT.ok;
  },
};

export const walletsRemove: CommandSpec = {
  path: ['wallets', 'remove'],
  summary: 'stop tracking wallets (deletes their balance and history)',
  args: '<address...>',
  description: `
Stops tracking the given wallets: their rows and balance history are deleted. Every address
is validated first; if any is invalid, nothing is removed. Removing a wallet that is not
tracked is a no-op that says so.

Exit status: 0 when done, 2 when an address is invalid, 1 when Postgres cannot be reached.`,
  options: {},
  async run(ctx, args) {
    const { addresses } = validateArguments(args.positionals);
    const sql = await ctx.db();
    const removed = new Set(await removeWallets(sql, addresses));
    const notTracked = addresses.filter((a) => !removed.has(a));
    if (ctx.json) {
      ctx.io.out(toJson({ removed: [...removed], notTracked }));
      return EXIT.ok;
    }
    for (const address of removed) ctx.io.out(`removed ${address}`);
    for (const address of notTracked) ctx.io.out(`not tracked: ${address}; nothing to remove`);
    if (addresses.length > 1) ctx.io.out(`${formatCount(removed.size)} removed, ${formatCount(notTracked.length)} not tracked`);
    return EXIT.ok;
  },
};

/** The JSON shape of a wallet: bigints become strings in toJson. */
function walletJson(w: WalletView) {
  return {
    address: w.address,
    tier: w.tier,
    tierSince: w.tierSince,
    pinnedUntil: w.pinnedUntil,
    lamports: w.lamports,
    sol: w.lamports === null ? null : formatSol(w.lamports),
    onChain: w.onChain,
    slot: w.slot,
    lastCheckedAt: w.lastCheckedAt,
    lastChangedAt: w.changedAt,
    invalidReason: w.invalidReason,
    addedAt: w.createdAt,
  };
}

function lastChecked(w: WalletView, now: number): string {
  if (w.lastCheckedAt !== null) return formatTime(w.lastCheckedAt, now);
  if (w.invalidReason !== null) return 'never (set aside)';
  if (w.checksPrunedBefore !== null) return `not since ${formatTime(w.checksPrunedBefore, now)} (older checks pruned)`;
  // Read before, but not yet by a batch of the tier it is in now.
  return w.lamports === null ? 'never' : 'not since its tier changed';
}

function stateNote(w: WalletView): string {
  if (w.invalidReason !== null) return `set aside: ${w.invalidReason}`;
  if (w.lamports === null) return 'not read yet';
  if (w.onChain === false) return 'not on chain';
  return '';
}

export const walletsList: CommandSpec = {
  path: ['wallets', 'list'],
  summary: 'list tracked wallets with their balances',
  args: '',
  description: `
Lists tracked wallets in the order they were added, with balance (SOL), slot of the read,
when each was last checked and last changed. NOTE shows wallets set aside as invalid (no
longer checked), not read yet, or not on chain (0 lamports).

Exit status: 0 when listed (also when nothing matches), 2 for bad usage, 1 when Postgres
cannot be reached.`,
  options: {
    tier: { type: 'string', value: 'tier', description: `only wallets in this tier: ${TIER_LIST}` },
    limit: { type: 'string', value: 'n', description: 'show at most n wallets (default 100, at most 100,000)' },
    'set-aside': { type: 'boolean', description: 'only wallets set aside as invalid' },
  },
  async run(ctx, args) {
    const tier = args.values.tier === undefined ? undefined : tierOption(args, 'tier');
    const limit = intOption(args, 'limit', { min: 1, max: 100_000, fallback: 100 });
    const setAside = args.values['set-aside'] === true;
    const sql = await ctx.db();
    const [wallets, total] = await Promise.all([listWallets(sql, { tier, setAside, limit }), countWallets(sql, { tier, setAside })]);
    if (ctx.json) {
      ctx.io.out(toJson({ total, limit, tier: tier ?? null, wallets: wallets.map(walletJson) }));
      return EXIT.ok;
    }
    const scope = `${setAside ? 'set-aside ' : ''}wallets${tier ? ` in tier ${tier}` : ''}`;
    if (wallets.length === 0) {
      ctx.io.out(`no ${scope}`);
      return EXIT.ok;
    }
    const now = Date.now();
    const rows = wallets.map((w) => [
      w.address,
      w.tier,
      w.lamports === null ? '-' : formatSol(w.lamports),
      w.slot === null ? '-' : w.slot.toString(),
      lastChecked(w, now),
      formatTime(w.changedAt, now),
      stateNote(w),
    ]);
    ctx.io.out(renderTable(['ADDRESS', 'TIER', 'SOL', 'SLOT', 'LAST CHECKED', 'LAST CHANGED', 'NOTE'], rows, ['left', 'left', 'right', 'right']));
    ctx.io.out(
      wallets.length < total
        ? `showing ${formatCount(wallets.length)} of ${formatCount(total)} ${scope} (--limit shows more)`
        : `${formatCount(total)} ${scope}`,
    );
    return EXIT.ok;
  },
};

/** A balance change with its sign. */
const signed = (n: bigint): string => (n > 0n ? `+${n}` : n.toString());
/** Indents a table under its heading. */
const indent = (text: string): string => text.split('\n').map((l) => `  ${l}`).join('\n');

export const walletsShow: CommandSpec = {
  path: ['wallets', 'show'],
  summary: 'show one wallet: balance, tier, slot, last checked, history',
  args: '<address>',
  description: `
Shows one tracked wallet: its balance in SOL and in exact lamports, its tier, the slot the
balance was read at, when it was last checked and last changed, why it was set aside (if it
was), and its most recent balance changes (newest first).

Exit status: 0 when shown, 2 when the address is invalid or not tracked, 1 when Postgres
cannot be reached.`,
  options: { history: { type: 'string', value: 'n', description: 'show the n most recent balance changes (default 10, 0 to 1000)' } },
  async run(ctx, args) {
    const historyLimit = intOption(args, 'history', { min: 0, max: 1000, fallback: 10 });
    const text = args.positionals[0]!;
    const check = checkAddress(text);
    if (!check.ok) throw new CliError(`invalid address ${quote(text)}: ${check.reason}`, EXIT.usage);
    const sql = await ctx.db();
    const wallet = await findWallet(sql, check.address);
    if (!wallet) throw new CliError(`not tracked: ${check.address} (add it with: balance-tracker wallets add ${check.address})`, EXIT.usage);
    const history = await walletHistory(sql, wallet.id, historyLimit);
    if (ctx.json) {
      ctx.io.out(
        toJson({
          ...walletJson(wallet),
          history: history.map((h) => ({
            slot: h.slot,
            lamports: h.lamports,
            sol: formatSol(h.lamports),
            previousLamports: h.previousLamports,
            observedAt: h.observedAt,
          })),
        }),
      );
      return EXIT.ok;
    }
    const now = Date.now();
    const fields: [string, string][] = [
      ['address', wallet.address],
      ['tier', `${wallet.tier} (since ${formatTime(wallet.tierSince, now)})`],
      [
        'pinned',
        wallet.pinnedUntil && wallet.pinnedUntil.getTime() > now
          ? `until ${formatTime(wallet.pinnedUntil, now)} (a manual promotion; automatic re-tiering leaves it alone)`
          : 'no',
      ],
      ['balance', wallet.lamports === null ? 'not read yet' : `${formatSol(wallet.lamports)} SOL`],
      ['lamports', wallet.lamports === null ? '-' : wallet.lamports.toString()],
      ['on chain', wallet.onChain === null ? '-' : wallet.onChain ? 'yes' : 'no (an account that does not exist holds 0 lamports)'],
      ['slot', wallet.slot === null ? '-' : wallet.slot.toString()],
      ['last checked', lastChecked(wallet, now)],
      ['last changed', formatTime(wallet.changedAt, now)],
      ['added', formatTime(wallet.createdAt, now)],
    ];
    if (wallet.invalidReason !== null) fields.push(['set aside', `${wallet.invalidReason} (no longer checked)`]);
    ctx.io.out(renderFields(fields));
    ctx.io.out('');
    if (history.length === 0) {
      ctx.io.out('history: no balance changes recorded');
      return EXIT.ok;
    }
    ctx.io.out(`history (newest first, up to ${historyLimit}):`);
    const rows = history.map((h) => [
      h.slot.toString(),
      formatSol(h.lamports),
      h.lamports.toString(),
      h.previousLamports === null ? 'first read' : signed(h.lamports - h.previousLamports),
      formatTime(h.observedAt, now),
    ]);
    ctx.io.out(indent(renderTable(['SLOT', 'SOL', 'LAMPORTS', 'CHANGE (LAMPORTS)', 'OBSERVED'], rows, ['right', 'right', 'right', 'right'])));
    return EXIT.ok;
  },
};
