import { describe, expect, it } from 'vitest';
import { rpcBudget } from '../src/budget';
import { attemptTimeoutMs } from '../src/rpc/attempt';

describe('RPC budget split', () => {
  const intervals = { high: 30_000, medium: 300_000, low: 3_600_000 };

  it('adds one call per 100 wallets per interval over the tiers', () => {
    const fit = rpcBudget({ high: 10_000, medium: 100_000, low: 1_000_000 }, intervals, 50);
    // 100 calls / 30 s + 1,000 / 300 s + 10,000 / 3,600 s
    expect(fit.tiers.high.rps).toBeCloseTo(3.333, 3);
    expect(fit.tiers.medium.rps).toBeCloseTo(3.333, 3);
    expect(fit.tiers.low.rps).toBeCloseTo(2.778, 3);
    expect(fit.requiredRps).toBeCloseTo(9.444, 3);
    expect(fit.fits).toBe(true);
  });

  it('says when the tiers need more than the budget', () => {
    const fit = rpcBudget({ high: 200_000, medium: 0, low: 0 }, intervals, 50);
    expect(fit.requiredRps).toBeCloseTo(66.667, 3);
    expect(fit.fits).toBe(false);
  });

  it('counts a partial batch as a whole call', () => {
    expect(rpcBudget({ high: 1, medium: 101, low: 0 }, { high: 1_000, medium: 1_000, low: 1_000 }, 3).requiredRps).toBe(3);
  });

  it('counts each tracked mint as one more account per wallet: ceil(wallets × (1 + mints) / 100) calls', () => {
    const second = { high: 1_000, medium: 1_000, low: 1_000 };
    expect(rpcBudget({ high: 100, medium: 101, low: 0 }, second, 10, 2).requiredRps).toBe(3 + 4);
    expect(rpcBudget({ high: 250, medium: 0, low: 0 }, second, 10, 2).tiers.high.rps).toBe(8);
  });
});

describe('an RPC attempt\'s start-to-close timeout', () => {
  it('is a minute for little work, and grows with the calls mints and batches per activity add, each allowed its turn and RPC_TIMEOUT', () => {
    expect(attemptTimeoutMs(10_000, 0, 1)).toBe(60_000);
    expect(attemptTimeoutMs(10_000, 2, 1)).toBe(3 * 12_000 + 30_000);
    expect(attemptTimeoutMs(10_000, 0, 10)).toBe(10 * 12_000 + 30_000);
    expect(attemptTimeoutMs(10_000, 2, 10)).toBe(30 * 12_000 + 30_000);
    expect(attemptTimeoutMs(1_000, 2, 1)).toBe(60_000);
  });
});
