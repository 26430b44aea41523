// The tracked mints as read from chain, and each wallet's token balances as stored.

import type { TrackedMint } from '../tokens';
import type { Sql } from './client';
import type { WalletId } from './types';

/** Records the mints a worker read at start; a mint's program and decimals never change. */
export async function recordMints(sql: Sql, mints: readonly TrackedMint[]): Promise<void> {
  if (mints.length === 0) return;
  await sql`
    INSERT INTO mints (address, token_program, decimals)
    SELECT * FROM unnest(${mints.map((m) => m.address)}::text[], ${mints.map((m) => m.program)}::text[], ${mints.map((m) => m.decimals)}::smallint[])
    ON CONFLICT (address) DO UPDATE SET token_program = excluded.token_program, decimals = excluded.decimals`;
}

export interface StoredToken {
  mint: string;
  /** The raw u64 amount; 0 when the ATA does not exist. */
  amount: bigint;
  decimals: number;
  onChain: boolean;
  slot: bigint;
}

/** The stored token balances of each wallet (every mint ever read, tracked now or not), by mint. */
export async function tokensOf(sql: Sql, walletIds: readonly WalletId[]): Promise<Map<WalletId, StoredToken[]>> {
  const rows = await sql<(StoredToken & { walletId: WalletId })[]>`
    SELECT t.wallet_id, t.mint, t.amount, m.decimals, t.on_chain, t.slot
    FROM token_balances t JOIN mints m ON m.address = t.mint
    WHERE t.wallet_id = ANY(${walletIds as WalletId[]}::bigint[])
    ORDER BY t.wallet_id, t.mint`;
  const byWallet = new Map<WalletId, StoredToken[]>();
  for (const { walletId, ...token } of rows) byWallet.set(walletId, [...(byWallet.get(walletId) ?? []), token]);
  return byWallet;
}

export interface MintSummary {
  mint: string;
  program: string;
  decimals: number;
  /** Wallets whose ATA for the mint has been read. */
  accounts: number;
  /** Of those, the ATAs that exist. */
  onChain: number;
  /** Observed changes (first reads not counted) in the last hour. */
  changesLastHour: number;
}

/** Every mint ever tracked, with how many ATAs were read and changed. */
export async function mintSummaries(sql: Sql): Promise<MintSummary[]> {
  return sql<MintSummary[]>`
    SELECT m.address AS mint, m.token_program AS program, m.decimals,
           coalesce(b.accounts, 0)::int AS accounts, coalesce(b.on_chain, 0)::int AS on_chain,
           (SELECT count(*)::int FROM token_changes c
            WHERE c.mint = m.address AND c.previous_amount IS NOT NULL AND c.observed_at > now() - interval '1 hour') AS changes_last_hour
    FROM mints m
    LEFT JOIN (SELECT mint, count(*) AS accounts, count(*) FILTER (WHERE on_chain) AS on_chain FROM token_balances GROUP BY mint) b ON b.mint = m.address
    ORDER BY m.address`;
}
