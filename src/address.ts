// Solana address validation with a reason for every rejection.
// Pure and dependency-free on purpose: workflows import it too, and the
// workflow sandbox must stay deterministic and small.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));

/** A base58 string that decodes to exactly 32 bytes. */
export type Address = string & { readonly __brand: 'SolanaAddress' };

export type AddressCheck = { ok: true; address: Address } | { ok: false; reason: string };

/** Longest base58 text that can still encode 32 bytes (44 chars). */
const MAX_LENGTH = 44;
const MIN_LENGTH = 32;

/** Decodes base58 into bytes; returns null when a character is outside the alphabet. */
export function base58Decode(text: string): Uint8Array | null {
  const bytes: number[] = [];
  for (const ch of text) {
    const value = INDEX.get(ch);
    if (value === undefined) return null;
    let carry = value;
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i]! * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (const ch of text) {
    if (ch !== '1') break;
    bytes.push(0);
  }
  return Uint8Array.from(bytes.reverse());
}

export function base58Encode(bytes: Uint8Array): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i]! << 8;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = '';
  for (const byte of bytes) {
    if (byte !== 0) break;
    out += '1';
  }
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i]!];
  return out;
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code >= 0x21 && code <= 0x7e ? `'${ch}' (${hex})` : hex;
}

/** Validates untrusted text as a Solana address. Never trims: whitespace is an error. */
export function checkAddress(text: string): AddressCheck {
  if (text.length === 0) return { ok: false, reason: 'empty address' };
  // Far too long: say so without scanning it (import lines can be megabytes).
  if (text.length > 2 * MAX_LENGTH) {
    return { ok: false, reason: `too long: ${text.length} characters, an address has 32 to 44` };
  }
  let position = 0;
  for (const ch of text) {
    position++;
    if (!INDEX.has(ch)) {
      // Stray whitespace is the most common slip; it is named, and never trimmed away.
      if (/\s/u.test(ch)) {
        return { ok: false, reason: `contains whitespace (${describeChar(ch)} at position ${position}); addresses are never trimmed` };
      }
      return { ok: false, reason: `invalid character ${describeChar(ch)} at position ${position}: not base58` };
    }
  }
  if (text.length < MIN_LENGTH || text.length > MAX_LENGTH) {
    return { ok: false, reason: `too ${text.length < MIN_LENGTH ? 'short' : 'long'}: ${text.length} characters, an address has 32 to 44` };
  }
  const bytes = base58Decode(text)!;
  if (bytes.length !== 32) {
    return { ok: false, reason: `decodes to ${bytes.length} bytes, an address is 32 bytes` };
  }
  return { ok: true, address: text as Address };
}

export function isAddress(text: string): text is Address {
  return checkAddress(text).ok;
}
