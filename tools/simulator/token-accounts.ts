// Token and mint accounts as the SPL Token and Token-2022 programs lay them out. The base
// layouts come from @solana-program/token's codecs; Token-2022 shares them (its account and
// mint start with the same 165 and 82 bytes), and @solana-program/token-2022 cannot be
// installed next to this project's @solana/kit major, so its program id is written here.

import { AccountState, findAssociatedTokenPda, getMintEncoder, getTokenEncoder, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { address, none, type Address } from '@solana/kit';

export const TOKEN_2022_PROGRAM_ADDRESS = address('TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb');

export type TokenProgram = 'token' | 'token-2022';
export const TOKEN_PROGRAMS = ['token', 'token-2022'] as const satisfies readonly TokenProgram[];

export const PROGRAM_ADDRESS: Record<TokenProgram, Address> = {
  token: TOKEN_PROGRAM_ADDRESS,
  'token-2022': TOKEN_2022_PROGRAM_ADDRESS,
};

/**
 * What follows the 165-byte base of every Token-2022 associated token account: the account
 * type (2 = Account) and the ImmutableOwner extension the ATA program always adds, as TLV
 * (type 7 as u16, length 0 as u16). Such an account is 170 bytes (spl-token-2022 extension/mod.rs).
 */
const TOKEN_2022_ATA_EXTENSIONS = Uint8Array.of(2, 7, 0, 0, 0);

const tokenEncoder = getTokenEncoder();
const mintEncoder = getMintEncoder();

/** The wallet's associated token account for the mint under `program` (the ATA program's PDA). */
export async function associatedTokenAddress(owner: string, mint: string, program: TokenProgram): Promise<string> {
  const [ata] = await findAssociatedTokenPda({ owner: address(owner), mint: address(mint), tokenProgram: PROGRAM_ADDRESS[program] });
  return ata;
}

/** An initialized mint with no authorities left (a fixed supply). */
export function mintData(decimals: number, supply: bigint): Uint8Array {
  return Uint8Array.from(mintEncoder.encode({ mintAuthority: none(), supply, decimals, isInitialized: true, freezeAuthority: none() }));
}

/** An initialized associated token account holding `amount` (no delegate, not native, no close authority). */
export function tokenAccountData(program: TokenProgram, mint: string, owner: string, amount: bigint): Uint8Array {
  const base = tokenEncoder.encode({
    mint: address(mint),
    owner: address(owner),
    amount,
    delegate: none(),
    state: AccountState.Initialized,
    isNative: none(),
    delegatedAmount: 0n,
    closeAuthority: none(),
  });
  if (program === 'token') return Uint8Array.from(base);
  const data = new Uint8Array(base.length + TOKEN_2022_ATA_EXTENSIONS.length);
  data.set(base);
  data.set(TOKEN_2022_ATA_EXTENSIONS, base.length);
  return data;
}

/** Rent-exempt minimum of an account holding `space` bytes (Rent::default: 3,480 lamports per byte-year, 2 years, 128 bytes of overhead). */
export function rentExemptMinimum(space: number): bigint {
  return BigInt(128 + space) * 3480n * 2n;
}
