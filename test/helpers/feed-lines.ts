// The change feed as consumers get it (a `changes --json` line, a webhook payload's change):
// read straight from Postgres, amounts and positions as decimal strings.

import type { Sql } from '../../src/db/client';
import type { WebhookChange } from '../../src/webhooks/send';

export type FeedLine = WebhookChange;

export async function storedFeed(sql: Sql): Promise<FeedLine[]> {
  const rows = await sql<{ position: bigint; address: string; asset: string; slot: bigint; amount: bigint; previous: bigint | null; observedAt: Date }[]>`
    SELECT position, address, asset, slot, amount, previous, observed_at FROM change_feed ORDER BY position`;
  return rows.map((r) => ({
    position: r.position.toString(),
    wallet: r.address,
    asset: r.asset,
    slot: r.slot.toString(),
    amount: r.amount.toString(),
    previous: r.previous === null ? null : r.previous.toString(),
    observedAt: r.observedAt.toISOString(),
  }));
}
