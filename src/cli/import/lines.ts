// Splits a byte stream into lines with bounded memory, whatever the input looks like:
// a line longer than `maxBytes` is counted and reported, never buffered whole.
// readline is not used on purpose: it keeps an unbounded line in memory.

export interface Line {
  /** 1-based line number. */
  number: number;
  /** The line's bytes without its "\n" (and without a UTF-8 BOM on line 1); null when too long. */
  bytes: Buffer | null;
  /** The line's length in bytes, without its "\n". */
  length: number;
}

const NEWLINE = 0x0a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Yields the lines of `chunks` one at a time. At most `maxBytes` of a line are held;
 * the consumer is awaited between lines, so a slow consumer slows the reader (backpressure).
 */
export async function* splitLines(chunks: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<Line> {
  let number = 1;
  // The current line: up to maxBytes kept in `parts`, `length` counts all of it.
  let parts: Buffer[] = [];
  let kept = 0;
  let length = 0;
  let tooLong = false;
  let bomChecked = false;
  let pendingBom: Buffer | null = null;

  const take = (piece: Buffer) => {
    if (piece.length === 0) return;
    length += piece.length;
    if (tooLong) return;
    if (kept + piece.length > maxBytes) {
      tooLong = true;
      parts = [];
      kept = 0;
      return;
    }
    // Copy: the chunk's buffer may be reused by the stream.
    parts.push(Buffer.from(piece));
    kept += piece.length;
  };

  const finish = (): Line => {
    const line: Line = { number, bytes: tooLong ? null : Buffer.concat(parts, kept), length };
    number++;
    parts = [];
    kept = 0;
    length = 0;
    tooLong = false;
    return line;
  };

  for await (const raw of chunks) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    if (!bomChecked) {
      // The BOM may arrive split over chunks: hold up to 3 bytes until we know.
      chunk = pendingBom ? Buffer.concat([pendingBom, chunk]) : chunk;
      pendingBom = null;
      if (chunk.length < BOM.length && BOM.subarray(0, chunk.length).equals(chunk)) {
        pendingBom = chunk;
        continue;
      }
      bomChecked = true;
      if (chunk.subarray(0, BOM.length).equals(BOM)) chunk = chunk.subarray(BOM.length);
    }
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) {
        take(chunk.subarray(start));
        break;
      }
      take(chunk.subarray(start, end));
      yield finish();
      start = end + 1;
    }
  }
  if (pendingBom) take(pendingBom);
  // A last line without a trailing newline is still a line; an empty remainder is not.
  if (length > 0) yield finish();
}
