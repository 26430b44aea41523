// Text and JSON output. Lamports and token amounts are bigint end to end: SOL and tokens are
// formatted with bigint arithmetic (never a Number), and JSON carries bigints as strings.

/** An exact decimal of a raw integer amount with all `decimals` digits: (1500000001n, 9) -> "1.500000001". */
export function formatUnits(amount: bigint, decimals: number): string {
  const sign = amount < 0n ? '-' : '';
  const abs = amount < 0n ? -amount : amount;
  if (decimals === 0) return `${sign}${abs}`;
  const scale = 10n ** BigInt(decimals);
  return `${sign}${abs / scale}.${(abs % scale).toString().padStart(decimals, '0')}`;
}

/** Exact SOL with all 9 decimals: 1500000001n -> "1.500000001". */
export function formatSol(lamports: bigint): string {
  return formatUnits(lamports, 9);
}

/** JSON with bigints as strings (exact) and Dates as ISO text, indented for people. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number | bigint): string {
  return typeof n === 'bigint' ? n.toLocaleString('en-US') : Math.round(n).toLocaleString('en-US');
}

/** 350 -> "350ms", 1234 -> "1.2s", 125000 -> "2m05s", 7260000 -> "2h01m". */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const s = Math.round(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')}m`;
}

/** "2025-11-25 14:50:01Z (3s ago)"; `never` for null. */
export function formatTime(value: Date | string | null | undefined, now = Date.now(), never = 'never'): string {
  if (value === null || value === undefined) return never;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const text = date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const age = now - date.getTime();
  return age >= 0 ? `${text} (${formatMs(age)} ago)` : text;
}

/**
 * Shows untrusted text safely on one line: long text cut, and every character a terminal
 * would not show as itself escaped — controls (JSON does C0; DEL and C1 too), and invisible
 * format characters such as zero-width spaces and bidi overrides, which could disguise it.
 */
export function quote(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

export type Align = 'left' | 'right';

/** A plain-text table: a header row and columns padded to their widest cell. */
export function renderTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Key/value lines with the keys padded: [["tier", "high"], …]. */
export function renderFields(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};
