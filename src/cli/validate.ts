// Address validation for command-line input: src/address.ts decides what an address is
// (and why not); this turns a list of invalid arguments into one error naming each of them.

import { type Address, checkAddress } from '../address';
import { CliError, EXIT } from './errors';
import { quote } from './output';

const SHOWN = 20;

/**
 * Validates every argument before anything is written. Returns the distinct valid
 * addresses in order, or throws (exit 2) naming each invalid one with its reason.
 */
export function validateArguments(texts: readonly string[]): { addresses: Address[]; repeated: number } {
  const invalid: string[] = [];
  const seen = new Set<Address>();
  for (const text of texts) {
    const check = checkAddress(text);
    if (check.ok) seen.add(check.address);
    else invalid.push(`invalid address ${quote(text)}: ${check.reason}`);
  }
  if (invalid.length > 0) {
    const more = invalid.length > SHOWN ? [`… and ${invalid.length - SHOWN} more invalid addresses`] : [];
    const summary = `nothing was changed: ${invalid.length} of ${texts.length} addresses ${invalid.length === 1 ? 'is' : 'are'} invalid`;
    throw new CliError([...invalid.slice(0, SHOWN), ...more, summary].join('\n'), EXIT.usage);
  }
  return { addresses: [...seen], repeated: texts.length - seen.size };
}
