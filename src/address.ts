// Solana address validation with a reason for every rejection. What an address is, kit
// decides (@solana/addresses: base58 text of 32 to 44 characters decoding to 32 bytes);
// this module only says which rule the text broke, for operators fixing an import file.
// Workflows import it too: the kit packages it uses are pure and deterministic.

import { type Address, assertIsAddress, isAddress } from '@solana/addresses';
import { getBase58Encoder } from '@solana/codecs-strings';
import {
  isSolanaError,
  SOLANA_ERROR__ADDRESSES__INVALID_BYTE_LENGTH,
  SOLANA_ERROR__ADDRESSES__STRING_LENGTH_OUT_OF_RANGE,
  SOLANA_ERROR__CODECS__INVALID_STRING_FOR_BASE,
} from '@solana/errors';

export type { Address };

export type AddressCheck = { ok: true; address: Address } | { ok: false; reason: string };

/** kit's bounds: the shortest and longest base58 text of 32 bytes. */
const MIN_LENGTH = 32;
const MAX_LENGTH = 44;
const LENGTHS = `${MIN_LENGTH} to ${MAX_LENGTH}`;

function describeChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code >= 0x21 && code <= 0x7e ? `'${ch}' (${hex})` : hex;
}

/** The first character outside base58, with its position (1-based, in code points); null when there is none. */
function firstNonBase58(text: string): { ch: string; position: number } | null {
  try {
    getBase58Encoder().encode(text);
    return null;
  } catch (error) {
    if (!isSolanaError(error, SOLANA_ERROR__CODECS__INVALID_STRING_FOR_BASE)) throw error;
    // kit names the alphabet it refused the text against; this finds the character.
    const { alphabet } = error.context;
    const chars = [...text];
    const index = chars.findIndex((ch) => !alphabet.includes(ch));
    return { ch: chars[index]!, position: index + 1 };
  }
}

/** Why kit refuses `text`, in the order an operator fixes it: characters, then length, then bytes. */
function rejection(text: string): string {
  if (text.length === 0) return 'empty address';
  // Far too long: say so without scanning it (import lines can be megabytes).
  if (text.length > 2 * MAX_LENGTH) return `too long: ${text.length} characters, an address has ${LENGTHS}`;
  const bad = firstNonBase58(text);
  if (bad) {
    const where = `${describeChar(bad.ch)} at position ${bad.position}`;
    // Stray whitespace is the most common slip; it is named, and never trimmed away.
    return /\s/u.test(bad.ch) ? `contains whitespace (${where}); addresses are never trimmed` : `invalid character ${where}: not base58`;
  }
  try {
    assertIsAddress(text);
  } catch (error) {
    if (isSolanaError(error, SOLANA_ERROR__ADDRESSES__STRING_LENGTH_OUT_OF_RANGE)) {
      return `too ${text.length < MIN_LENGTH ? 'short' : 'long'}: ${text.length} characters, an address has ${LENGTHS}`;
    }
    if (isSolanaError(error, SOLANA_ERROR__ADDRESSES__INVALID_BYTE_LENGTH)) {
      return `decodes to ${error.context.actualLength} bytes, an address is 32 bytes`;
    }
    throw error;
  }
  throw new Error('isAddress and assertIsAddress disagree'); // a kit bug, not bad input
}

/** Validates untrusted text as a Solana address. Never trims: whitespace is an error. */
export function checkAddress(text: string): AddressCheck {
  return isAddress(text) ? { ok: true, address: text } : { ok: false, reason: rejection(text) };
}
