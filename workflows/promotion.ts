// What a promotion asks for, checked in one place for the promoteWallets signal and update.
// The update's validator refuses input with anything wrong in it before the update enters
// history, and the caller gets the reason; a signal cannot be refused, so its report says what
// was wrong, and its valid addresses still move.

import { ApplicationFailure } from '@temporalio/workflow';
import { type Address, checkAddress } from '../src/address';
import { isTier, type Tier } from '../src/tiers';
import { MAX_PROMOTE_ADDRESSES, PROMOTION_EXAMPLES, type PromotionReport } from './definitions';
import { isUndecodable, undecodableReason } from './payload-converter';
import { untrustedText } from './untrusted';

/** The failure type of a refused promoteWallets update. */
export const INVALID_PROMOTION = 'InvalidPromotion';

export interface CheckedPromotion {
  /** The report so far: target tier, addresses requested, the invalid ones, and an error that stops the promotion. */
  report: PromotionReport;
  /** The distinct valid addresses to move, or null when nothing moves. */
  move: { tier: Tier; addresses: Address[] } | null;
}

export function checkPromotion(input: unknown): CheckedPromotion {
  const report: PromotionReport = {
    at: new Date().toISOString(),
    tier: '',
    requested: 0,
    moved: 0,
    unchanged: 0,
    invalid: [],
    invalidCount: 0,
    unknown: [],
    unknownCount: 0,
    error: null,
  };
  const stop = (fields: Partial<PromotionReport>): CheckedPromotion => ({ report: { ...report, ...fields }, move: null });
  if (isUndecodable(input)) return stop({ tier: '?', error: `undecodable signal input: ${undecodableReason(input)}` });
  const { addresses, tier } = (typeof input === 'object' && input !== null ? input : {}) as { addresses?: unknown; tier?: unknown };
  report.tier = untrustedText(tier, 32);
  if (!isTier(tier)) return stop({ error: `unknown tier '${report.tier}': expected high, medium or low` });
  if (!Array.isArray(addresses)) return stop({ error: 'addresses must be a list' });
  report.requested = addresses.length;
  if (addresses.length > MAX_PROMOTE_ADDRESSES) {
    return stop({ error: `too many addresses (${addresses.length}); at most ${MAX_PROMOTE_ADDRESSES} per signal` });
  }
  const valid = new Set<Address>();
  for (const candidate of addresses) {
    const check = typeof candidate === 'string' ? checkAddress(candidate) : { ok: false as const, reason: 'not a string' };
    if (check.ok) valid.add(check.address);
    else {
      report.invalidCount++;
      if (report.invalid.length < PROMOTION_EXAMPLES) report.invalid.push({ address: untrustedText(candidate, 64), reason: check.reason });
    }
  }
  return { report, move: valid.size === 0 ? null : { tier, addresses: [...valid] } };
}

/** The promoteWallets update's validator: throws, refusing the update, for input a signal would report anything wrong in. */
export function validatePromotion(input: unknown): void {
  const { report } = checkPromotion(input);
  const refuse = (message: string) => ApplicationFailure.create({ type: INVALID_PROMOTION, message, nonRetryable: true });
  if (report.error !== null) throw refuse(report.error);
  if (report.invalidCount > 0) {
    const [first] = report.invalid;
    throw refuse(`${report.invalidCount} of ${report.requested} addresses are invalid, the first ${JSON.stringify(first!.address)}: ${first!.reason}`);
  }
  if (report.requested === 0) throw refuse('no addresses to promote');
}
