// A typed client for the simulator's /__sim/ control endpoints, for tests and benchmarks
// that run the simulator in another process. Lamports are bigints here, strings on the wire.

import type { ProviderKnobs } from './provider';
import { servedReadsFromJson, type ServedReads, type ServedReadsJson, type SimulatorStats } from './stats';
import type { MintSpec } from './world';

export interface WalletSeed {
  address: string;
  /** Null: the account does not exist. */
  lamports: bigint | null;
}

export interface SlotInfo {
  /** The newest slot (processed). */
  slot: number;
  confirmed: number;
  finalized: number;
}

export interface SimulatorControl {
  stats(options?: { arrivals?: boolean }): Promise<SimulatorStats>;
  /** Balances served since start-up (a stats reset keeps them), per address and slot (a simulator run with recordReads). */
  reads(): Promise<ServedReads>;
  resetStats(): Promise<void>;
  knobs(): Promise<ProviderKnobs>;
  setKnobs(partial: Partial<ProviderKnobs>): Promise<ProviderKnobs>;
  slot(): Promise<SlotInfo>;
  /** Advances the world; returns the new newest slot. */
  advance(slots?: number, options?: { changes?: boolean }): Promise<number>;
  /** The true balance at `slot` (default: the newest); null when the account did not exist. */
  truth(address: string, slot?: number): Promise<bigint | null>;
  wallets(offset?: number, limit?: number): Promise<{ total: number; addresses: string[] }>;
  /** Adds wallets (all or none); returns the world's wallet count. */
  addWallets(wallets: readonly WalletSeed[]): Promise<number>;
  /** Sets a balance from the next slot on; returns that slot. */
  setBalance(address: string, lamports: bigint | null): Promise<number>;
  /** The world's mints. */
  mints(): Promise<MintSpec[]>;
  /** The true amount of the wallet's ATA for the mint at `slot` (default: the newest); null when it did not exist. */
  tokenTruth(wallet: string, mint: string, slot?: number): Promise<bigint | null>;
  /** Sets the amount of the wallet's ATA for the mint from the next slot on (null: closes it); returns that slot. */
  setTokenAmount(wallet: string, mint: string, amount: bigint | null): Promise<number>;
}

export class SimulatorControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SimulatorControlError';
  }
}

/** `baseUrl` is the simulator's URL (the JSON-RPC endpoint); control paths are resolved against it. */
export function simulatorControl(baseUrl: string): SimulatorControl {
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(new URL(`/__sim/${path}`, baseUrl), {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = (await response.json()) as T & { error?: string };
    if (!response.ok) throw new SimulatorControlError(response.status, `${method} /__sim/${path}: ${payload.error ?? response.statusText}`);
    return payload;
  };
  const amountText = (amount: bigint | null): string | null => (amount === null ? null : amount.toString());
  const amountOf = (text: string | null): bigint | null => (text === null ? null : BigInt(text));
  const slotQuery = (fields: Record<string, string>, slot: number | undefined): URLSearchParams => {
    const query = new URLSearchParams(fields);
    if (slot !== undefined) query.set('slot', String(slot));
    return query;
  };

  return {
    stats: ({ arrivals = true } = {}) => call('GET', `stats${arrivals ? '' : '?arrivals=false'}`),
    reads: async () => servedReadsFromJson(await call<ServedReadsJson>('GET', 'reads')),
    resetStats: async () => {
      await call('POST', 'stats/reset');
    },
    knobs: () => call('GET', 'knobs'),
    setKnobs: (partial) => call('POST', 'knobs', partial),
    slot: () => call('GET', 'slot'),
    advance: async (slots = 1, { changes = true } = {}) => (await call<{ slot: number }>('POST', 'advance', { slots, changes })).slot,
    truth: async (address, slot) => amountOf((await call<{ lamports: string | null }>('GET', `truth?${slotQuery({ address }, slot)}`)).lamports),
    wallets: (offset = 0, limit = 1000) => call('GET', `wallets?offset=${offset}&limit=${limit}`),
    addWallets: async (wallets) => {
      const body = { wallets: wallets.map(({ address, lamports }) => ({ address, lamports: amountText(lamports) })) };
      return (await call<{ total: number }>('POST', 'wallets', body)).total;
    },
    setBalance: async (address, lamports) =>
      (await call<{ appliesAtSlot: number }>('POST', 'balance', { address, lamports: amountText(lamports) })).appliesAtSlot,
    mints: async () => (await call<{ mints: MintSpec[] }>('GET', 'mints')).mints,
    tokenTruth: async (wallet, mint, slot) => amountOf((await call<{ amount: string | null }>('GET', `token-truth?${slotQuery({ wallet, mint }, slot)}`)).amount),
    setTokenAmount: async (wallet, mint, amount) =>
      (await call<{ appliesAtSlot: number }>('POST', 'token-amount', { wallet, mint, amount: amountText(amount) })).appliesAtSlot,
  };
}
