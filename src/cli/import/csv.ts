// What each line of an import holds: an address (the first CSV column), a header, a blank
// line, or a rejection with its reason.
//
// splitLines frames the lines (bounded memory, one reason per line), so csv-parse parses each
// line on its own: a stray quote cannot run a field on into the lines after it.

import { CsvError, parse } from 'csv-parse/sync';
import { type Address, checkAddress } from '../../address';
import { type Line, splitLines } from './lines';

/** Longest line accepted, in bytes (an address is at most 44; CSV rows carry more columns). */
export const MAX_LINE_BYTES = 1_000;

const HEADER_NAMES = new Set([
  'address',
  'addresses',
  'wallet',
  'wallets',
  'wallet_address',
  'wallet address',
  'pubkey',
  'public_key',
  'public key',
  'publickey',
  'account',
  'owner',
]);

// One record per call: the line has no "\n", and a lone "\r" is text, not a line end. A quote
// inside an unquoted field stays text (the address check names it); nothing is trimmed.
const CSV_OPTIONS = { record_delimiter: '\n', relax_quotes: true } as const;

export type Classified =
  | { kind: 'blank' }
  | { kind: 'header'; text: string }
  | { kind: 'address'; address: Address }
  | { kind: 'reject'; reason: string; text: string | null };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The first CSV field of a line, or why the line is not CSV. */
function firstField(text: string): { field: string } | { reason: string } {
  // Without a quote or a comma the line is one unquoted field: the common newline list skips the parser.
  if (!/[",]/.test(text)) return { field: text };
  try {
    const [record] = parse(text, CSV_OPTIONS);
    return { field: record?.[0] ?? '' };
  } catch (error) {
    if (error instanceof CsvError && error.code === 'CSV_QUOTE_NOT_CLOSED') return { reason: 'not CSV: a quoted field is not closed' };
    if (error instanceof CsvError) return { reason: `not CSV: ${error.code}` };
    throw error;
  }
}

/**
 * What one line of an import holds. `firstContent` is true for the first line that is not
 * blank: only it may be a header.
 */
export function classifyLine(line: Line, firstContent: boolean): Classified {
  if (line.bytes === null) return { kind: 'reject', reason: `line too long (${line.length} bytes; at most ${MAX_LINE_BYTES})`, text: null };
  let bytes = line.bytes;
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { kind: 'reject', reason: 'not UTF-8 text', text: null };
  }
  if (text.trim() === '') return { kind: 'blank' };
  const first = firstField(text);
  if ('reason' in first) return { kind: 'reject', reason: first.reason, text };
  if (firstContent && HEADER_NAMES.has(first.field.trim().toLowerCase())) return { kind: 'header', text: first.field.trim() };
  const check = checkAddress(first.field);
  if (!check.ok) return { kind: 'reject', reason: check.reason, text };
  return { kind: 'address', address: check.address };
}

/** The lines of an import's bytes, numbered from 1 and classified. */
export async function* readImportLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<{ number: number; item: Classified }> {
  let firstContent = true;
  for await (const line of splitLines(chunks, MAX_LINE_BYTES)) {
    const item = classifyLine(line, firstContent);
    if (item.kind !== 'blank') firstContent = false;
    yield { number: line.number, item };
  }
}
