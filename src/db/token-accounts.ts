// Each wallet's associated token account (ATA) for each tracked mint: derived with
// findAssociatedTokenPda the first time a batch needs it, then read from Postgres (migration
// 011), so a sweep, a restarted worker or another worker derives nothing it has derived before.

import { findAssociatedTokenPda } from '@solana-program/token';
import { address } from '@solana/kit';
import type { TrackedMint } from '../tokens';
import type { Sql } from './client';
import type { WalletId } from './types';

export interface AtaWallet {
  id: WalletId;
  address: string;
}

/** Each wallet's ATAs, in mint order: [wallet][mint]. */
export type AtaResolver = (wallets: readonly AtaWallet[], mints: readonly TrackedMint[]) => Promise<string[][]>;

export function createAtaResolver(sql: Sql): AtaResolver {
  return async (wallets, mints) => {
    if (mints.length === 0 || wallets.length === 0) return wallets.map(() => []);
    const stored = await sql<{ walletId: WalletId; mint: string; tokenProgram: string; address: string }[]>`
      SELECT wallet_id, mint, token_program, address FROM token_accounts
      WHERE wallet_id = ANY(${wallets.map((w) => w.id)}::bigint[]) AND mint = ANY(${mints.map((m) => m.address)}::text[])`;
    const known = new Map(stored.map((r) => [`${r.walletId}:${r.mint}:${r.tokenProgram}`, r.address]));
    const derived: { walletId: WalletId; mint: TrackedMint; address: string }[] = [];
    const atas = await Promise.all(
      wallets.map((w) =>
        Promise.all(
          mints.map(async (mint) => {
            const hit = known.get(`${w.id}:${mint.address}:${mint.program}`);
            if (hit) return hit;
            const [ata] = await findAssociatedTokenPda({ owner: address(w.address), mint: address(mint.address), tokenProgram: address(mint.program) });
            derived.push({ walletId: w.id, mint, address: ata });
            return ata;
          }),
        ),
      ),
    );
    if (derived.length > 0) {
      // A mint's program never changes, but a row from another one is replaced, not trusted.
      await sql`
        INSERT INTO token_accounts (wallet_id, mint, token_program, address)
        SELECT * FROM unnest(${derived.map((d) => d.walletId)}::bigint[], ${derived.map((d) => d.mint.address)}::text[],
                             ${derived.map((d) => d.mint.program)}::text[], ${derived.map((d) => d.address)}::text[])
        ON CONFLICT (wallet_id, mint) DO UPDATE SET token_program = excluded.token_program, address = excluded.address`;
    }
    return atas;
  };
}
