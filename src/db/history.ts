// A wallet's whole change history, oldest first, streamed (a busy wallet has many rows).

import type { BalanceChange } from './reads';
import type { Sql } from './client';

const PAGE = 1_000;

export async function* allWalletChanges(sql: Sql, walletId: bigint): AsyncGenerator<BalanceChange> {
  const cursor = sql<{ slot: bigint; lamports: string; previous_lamports: string | null; observed_at: Date }[]>`
    SELECT slot, lamports::text AS lamports, previous_lamports::text AS previous_lamports, observed_at
    FROM balance_changes WHERE wallet_id = ${walletId.toString()}::bigint
    ORDER BY slot`.cursor(PAGE);
  for await (const rows of cursor) {
    for (const r of rows) {
      yield { slot: BigInt(r.slot), lamports: BigInt(r.lamports), previousLamports: r.previous_lamports === null ? null : BigInt(r.previous_lamports), observedAt: r.observed_at };
    }
  }
}
