// How the CLI shows untrusted text: one line, nothing hidden.

import { describe, expect, it } from 'vitest';
import { formatSol, formatUnits, quote } from '../src/cli/output';

describe('quote', () => {
  it('escapes controls, zero-width and bidi characters so nothing is hidden or reordered', () => {
    expect(quote('abc\u200bdef')).toBe('"abc\\u200bdef"');
    expect(quote('\u202eevil\u2066')).toBe('"\\u202eevil\\u2066"');
    expect(quote('a\nb\u007f\u0085\ufeff\u2028')).toBe('"a\\nb\\u007f\\u0085\\ufeff\\u2028"');
    expect(quote('quote " and \\ backslash')).toBe('"quote \\" and \\\\ backslash"');
  });

  it('leaves visible text alone and cuts long text', () => {
    expect(quote('9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin')).toBe('"9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"');
    expect(quote('é漢字🙂')).toBe('"é漢字🙂"');
    expect(quote('x'.repeat(100), 10)).toBe(`"${'x'.repeat(10)}…"`);
  });
});

describe('formatUnits', () => {
  it('shows a raw amount exactly with all its decimals, as bigint arithmetic', () => {
    expect(formatUnits(2n ** 64n - 1n, 6)).toBe('18446744073709.551615');
    expect(formatUnits(9007199254740993n, 9)).toBe('9007199.254740993');
    expect(formatUnits(5n, 9)).toBe('0.000000005');
    expect(formatUnits(0n, 6)).toBe('0.000000');
    expect(formatUnits(123n, 0)).toBe('123');
    expect(formatSol(1500000001n)).toBe('1.500000001');
  });
});
