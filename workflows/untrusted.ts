// Text from anyone who can signal a tier workflow, made safe to keep in its state and history.

/** Untrusted text, shortened; never calls into the value (an object's toString may be anything). */
export function untrustedText(value: unknown, max: number): string {
  if (typeof value === 'string') return value.slice(0, max);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value).slice(0, max);
  if (value === null || value === undefined) return String(value);
  return `(${typeof value === 'object' ? (Array.isArray(value) ? 'a list' : 'an object') : typeof value})`;
}
