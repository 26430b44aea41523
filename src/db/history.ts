// A wallet's whole change history, oldest first, streamed (a busy wallet has many rows).

import type { BalanceChange } from './reads';
import type { Sql } from './client';
import type { WalletId } from './types';

const PAGE = 1_000;

export async function* allWalletChanges(sql: Sql, walletId: WalletId): AsyncGenerator<BalanceChange> {
  const cursor = sql<BalanceChange[]>`
    SELECT slot, lamports, previous_lamports, observed_at
    FROM balance_changes WHERE wallet_id = ${walletId}
    ORDER BY slot`.cursor(PAGE);
  for await (const rows of cursor) yield* rows;
}
