// How the CLI shows untrusted text: one line, nothing hidden.

import { describe, expect, it } from 'vitest';
import { quote } from '../src/cli/output';

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
