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

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE58.length; i++) DIGIT[BASE58.charCodeAt(i)] = i;

/**
 * kit's rule (32 to 44 base58 characters decoding to 32 bytes) without its BigInt arithmetic,
 * which cost about 20 µs an address: every batch checks its 100 wallets. A leading '1' is a zero
 * byte; the rest is the number, in bytes. Only ever says true where kit does (test/address.test.ts
 * compares the two); anything else goes to kit, which gives the reason.
 */
function isBase58Address(text: string): boolean {
  if (text.length < MIN_LENGTH || text.length > MAX_LENGTH) return false;
  const bytes = new Uint8Array(33);
  let length = 0;
  let ones = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const digit = code < 128 ? DIGIT[code]! : -1;
    if (digit < 0) return false;
    if (digit === 0 && length === 0) {
      ones++;
      continue;
    }
    // bytes (little-endian) = bytes × 58 + digit
    let carry = digit;
    for (let j = 0; j < length; j++) {
      carry += bytes[j]! * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      if (length === bytes.length) return false;
      bytes[length++] = carry & 0xff;
      carry >>= 8;
    }
  }
  return ones + length === 32;
}

/** Validates untrusted text as a Solana address. Never trims: whitespace is an error. */
export function checkAddress(text: string): AddressCheck {
  return isBase58Address(text) || isAddress(text) ? { ok: true, address: text as Address } : { ok: false, reason: rejection(text) };
}
