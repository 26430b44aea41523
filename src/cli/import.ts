// `wallets import <file|->`: bulk intake, streamed in bounded memory whatever the file holds.
//
// Memory stays bounded: lines are split from the byte stream with a cap on a line's length,
// valid addresses go to Postgres 5,000 per INSERT (at most one INSERT in flight while the next
// batch is read), and duplicates within the file are told apart from wallets tracked before
// the import by asking Postgres (wallets added since the import started) rather than by
// keeping every address seen in memory.

import { constants, createWriteStream, type WriteStream } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Sql } from '../db/client';
import { countAddedSince, databaseNow } from '../db/reads';
import { addWallets, analyzeAfterBulkChange } from '../db/wallets';
import { DEFAULT_TIER, TIERS, type Tier } from '../tiers';
import { type CommandSpec, stringOption, tierOption } from './args';
import { CliError, EXIT, errorCode, oneLine } from './errors';
import { type Line, splitLines } from './lines';
import { formatCount, type Output, quote, toJson } from './output';
import { type Address, checkAddress } from '../address';

/** Longest line accepted, in bytes (an address is at most 44; CSV rows carry more columns). */
export const MAX_LINE_BYTES = 1_000;
/** Addresses per INSERT. */
export const BATCH_SIZE = 5_000;
/** Rejected lines shown on stderr; all of them go to the rejects file. */
export const SHOWN_REJECTS = 20;
/** Plain progress lines (when stderr is not a terminal) every this many lines. */
export const PROGRESS_EVERY = 10_000;

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

export type Classified =
  | { kind: 'blank' }
  | { kind: 'header'; text: string }
  | { kind: 'address'; address: Address }
  | { kind: 'reject'; reason: string; text: string | null };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The first CSV column: text up to the first comma, unquoted when it is a "quoted" field. */
function firstColumn(text: string): string {
  if (text.startsWith('"')) {
    const match = /^"((?:[^"]|"")*)"(?:,|$)/.exec(text);
    if (match) return match[1]!.replace(/""/g, '"');
  }
  const comma = text.indexOf(',');
  return comma === -1 ? text : text.slice(0, comma);
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
  const field = firstColumn(text);
  if (firstContent && HEADER_NAMES.has(field.trim().toLowerCase())) return { kind: 'header', text: field.trim() };
  const check = checkAddress(field);
  if (!check.ok) return { kind: 'reject', reason: check.reason, text };
  return { kind: 'address', address: check.address };
}

export interface ImportResult {
  source: string;
  tier: Tier;
  /** Lines read, including blank and header lines. */
  lines: number;
  /** Wallets added by this import. */
  imported: number;
  /** Lines naming a wallet that was tracked before the import started. */
  alreadyTracked: number;
  /** Lines repeating an address seen earlier in the same input. */
  duplicates: number;
  blank: number;
  /** The header line's number, when one was skipped. */
  headerLine: number | null;
  rejected: number;
  /** Where every rejected line is listed; null when nothing was rejected. */
  rejectsFile: string | null;
}

/** Progress on stderr: a bar redrawn in place on a terminal, a plain line every N lines otherwise. */
class Progress {
  private lastDraw = 0;
  private drawn = false;
  constructor(
    private readonly io: Output,
    private readonly tty: boolean,
    private readonly label: string,
    private readonly totalBytes: number | null,
  ) {}

  update(result: ImportResult, bytesRead: number): void {
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      let bar = '';
      if (this.totalBytes) {
        const fraction = Math.min(1, bytesRead / this.totalBytes);
        const filled = Math.round(fraction * 30);
        bar = `[${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  `;
      }
      process.stderr.write(`\r\x1b[K${this.label} ${bar}${this.counts(result)}`);
      this.drawn = true;
    } else if (result.lines % PROGRESS_EVERY === 0) {
      this.io.err(`progress: ${this.counts(result)}`);
    }
  }

  /** Clears the bar so a message can be printed on its own line. */
  clear(): void {
    if (this.tty && this.drawn) {
      process.stderr.write('\r\x1b[K');
      this.drawn = false;
      this.lastDraw = 0;
    }
  }

  private counts(r: ImportResult): string {
    return (
      `${formatCount(r.lines)} lines read, ${formatCount(r.imported)} new, ` +
      `${formatCount(r.alreadyTracked)} already tracked, ${formatCount(r.rejected)} rejected`
    );
  }
}

/** Writes every rejected line to a file (opened on the first one), honouring backpressure. */
class RejectsFile {
  private stream: WriteStream | null = null;
  private failed: Error | null = null;
  constructor(readonly path: string) {}

  async write(line: number, reason: string, text: string | null): Promise<void> {
    if (!this.stream) {
      this.stream = createWriteStream(this.path, { encoding: 'utf8' });
      this.stream.on('error', (error) => {
        this.failed = error;
      });
      this.stream.write('line\treason\ttext\n');
    }
    this.check();
    const ok = this.stream.write(`${line}\t${reason}\t${text === null ? '' : JSON.stringify(text)}\n`);
    if (!ok) await new Promise<void>((done) => this.stream!.once('drain', done).once('error', () => done()));
    this.check();
  }

  async close(): Promise<void> {
    if (!this.stream) return;
    await new Promise<void>((done) => this.stream!.end(done));
    this.check();
  }

  private check(): void {
    if (this.failed) throw new CliError(`cannot write the rejects file ${this.path}: ${oneLine(this.failed)}`);
  }
}

export interface Source {
  chunks: AsyncIterable<Buffer>;
  totalBytes: number | null;
  bytesRead(): number;
  close(): Promise<void>;
}

/** Opens a file (or stdin for "-"); an unreadable file is a usage error (exit 2). */
export async function openSource(path: string): Promise<Source> {
  let bytes = 0;
  const counted = async function* (stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        bytes += buffer.length;
        yield buffer;
      }
    } catch (error) {
      throw new CliError(`cannot read ${path === '-' ? 'standard input' : path}: ${oneLine(error)}`, EXIT.failure, error);
    }
  };
  if (path === '-') {
    return { chunks: counted(process.stdin), totalBytes: null, bytesRead: () => bytes, close: async () => undefined };
  }
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = errorCode(error);
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : oneLine(error);
    throw new CliError(`cannot read ${path}: ${reason}`, EXIT.usage);
  }
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw new CliError(`cannot read ${path}: it is a directory`, EXIT.usage);
  }
  const stream = handle.createReadStream({ highWaterMark: 64 * 1024, autoClose: true });
  return {
    chunks: counted(stream),
    totalBytes: stat.isFile() ? stat.size : null,
    bytesRead: () => bytes,
    close: async () => {
      stream.destroy();
    },
  };
}

export interface ImportOptions {
  /** The file name as given ("-" for stdin). */
  source: string;
  input: Source;
  tier: Tier;
  rejectsPath: string;
  io: Output;
  /** Draw a progress bar (stderr is a terminal) instead of plain progress lines. */
  tty: boolean;
}

/** Imports the addresses of a file or stdin. The caller decides the exit status. */
export async function importAddresses(sql: Sql, options: ImportOptions): Promise<ImportResult> {
  const { tier, io, input } = options;
  const label = options.source === '-' ? 'stdin' : options.source;
  const result: ImportResult = {
    source: label,
    tier,
    lines: 0,
    imported: 0,
    alreadyTracked: 0,
    duplicates: 0,
    blank: 0,
    headerLine: null,
    rejected: 0,
    rejectsFile: null,
  };
  const progress = new Progress(io, options.tty, `importing ${label}`, input.totalBytes);
  const rejects = new RejectsFile(options.rejectsPath);
  if (options.source === '-' && process.stdin.isTTY) io.err('reading addresses from the terminal, one per line; end with Ctrl-D');

  const since = await databaseNow(sql);
  let batch = new Set<Address>();
  let inFlight: Promise<void> | null = null;

  const insert = async (addresses: Address[]) => {
    const added = await addWallets(sql, addresses, tier);
    result.imported += added.length;
    const conflicts = addresses.length - added.length;
    if (conflicts > 0) {
      const addedSet = new Set(added);
      // Conflicts added since the import began came from earlier lines of this input.
      const fromThisImport = await countAddedSince(sql, addresses.filter((a) => !addedSet.has(a)), since);
      result.duplicates += fromThisImport;
      result.alreadyTracked += conflicts - fromThisImport;
    }
  };
  /** Waits for the INSERT in flight, then starts one for the current batch. */
  const flush = async () => {
    if (inFlight) await inFlight;
    inFlight = null;
    if (batch.size === 0) return;
    const addresses = [...batch];
    batch = new Set();
    const pending = insert(addresses);
    // Observed when awaited; this keeps a failure from being reported as unhandled meanwhile.
    pending.catch(() => undefined);
    inFlight = pending;
  };
  const drain = async () => {
    await flush();
    if (inFlight) await inFlight;
    inFlight = null;
  };

  try {
    let firstContent = true;
    for await (const line of splitLines(input.chunks, MAX_LINE_BYTES)) {
      result.lines = line.number;
      const item = classifyLine(line, firstContent);
      if (item.kind !== 'blank') firstContent = false;
      switch (item.kind) {
        case 'blank':
          result.blank++;
          break;
        case 'header':
          result.headerLine = line.number;
          break;
        case 'address':
          if (batch.has(item.address)) result.duplicates++;
          else batch.add(item.address);
          if (batch.size >= BATCH_SIZE) await flush();
          break;
        case 'reject':
          result.rejected++;
          result.rejectsFile = rejects.path;
          await rejects.write(line.number, item.reason, item.text);
          if (result.rejected <= SHOWN_REJECTS) {
            progress.clear();
            io.err(`line ${line.number}: ${item.reason}${item.text === null ? '' : ` (${quote(item.text, 80)})`}`);
          }
          break;
      }
      progress.update(result, input.bytesRead());
    }
    await drain();
    await analyzeAfterBulkChange(sql, tier, result.imported);
  } finally {
    progress.clear();
    await input.close();
    await rejects.close();
  }
  if (result.rejected > SHOWN_REJECTS) {
    io.err(`… and ${formatCount(result.rejected - SHOWN_REJECTS)} more rejected lines`);
  }
  return result;
}

function summary(r: ImportResult): string {
  const valid = r.imported + r.alreadyTracked + r.duplicates;
  const head =
    r.imported === 0 && valid > 0
      ? `nothing new imported from ${r.source}: all ${formatCount(valid)} valid lines name wallets that are already tracked`
      : `imported ${formatCount(r.imported)} new wallet${r.imported === 1 ? '' : 's'} into tier ${r.tier} from ${r.source}`;
  const rows: [string, string][] = [
    ['lines read', formatCount(r.lines)],
    ['new wallets', formatCount(r.imported)],
    ['already tracked', `${formatCount(r.alreadyTracked)}${r.alreadyTracked > 0 ? ' (tier unchanged)' : ''}`],
    ['duplicate lines', formatCount(r.duplicates)],
    ['blank lines', formatCount(r.blank)],
    ['header', r.headerLine === null ? 'none' : `line ${r.headerLine}, skipped`],
    ['rejected lines', r.rejected === 0 ? '0' : `${formatCount(r.rejected)} (all listed in ${r.rejectsFile})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [head, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

export const walletsImport: CommandSpec = {
  path: ['wallets', 'import'],
  summary: 'import wallets in bulk from a file or stdin (newline list or CSV)',
  args: '<file|->',
  description: `
Imports wallets from a file, or from standard input with "-". Streamed: any size imports in
bounded memory, ${formatCount(BATCH_SIZE)} addresses per INSERT. Creates the database schema if it
is missing.

Input: one address per line, or CSV whose first column is the address (a "quoted" first
field is unquoted; other columns are ignored). Accepted and skipped: a UTF-8 BOM, CRLF line
ends, blank lines (empty or only whitespace), and a header on the first non-blank line whose
first column is one of: address, wallet, wallet_address, pubkey, public_key, account, owner
(any case). An address is never trimmed: a line whose address has spaces or tabs around it
is rejected (consistent with \`wallets add\`). Lines longer than ${formatCount(MAX_LINE_BYTES)} bytes and lines
that are not UTF-8 are rejected without being held in memory.

Repeated lines and wallets already tracked are counted, not errors; a tracked wallet keeps
its tier (use \`tiers promote\`). Running the same import again adds nothing and says so.

Rejected lines are reported with their line number and reason: the first ${SHOWN_REJECTS} on stderr,
all of them in the rejects file (tab-separated: line, reason, text as a JSON string):
<file>.rejected.txt by default, stdin.rejected.txt for "-", or --rejects. The valid lines
are imported either way. Progress goes to stderr: a bar on a terminal, otherwise a line
every ${formatCount(PROGRESS_EVERY)} lines. The summary goes to stdout (--json for JSON).

Interrupting an import keeps the batches already written; running it again completes it.

Exit status: 0 when no line was rejected, 3 when some lines were rejected (the valid ones
were imported), 2 for bad usage, an unreadable file or an unwritable rejects file, 1 when
Postgres cannot be reached.`,
  options: {
    tier: { type: 'string', value: 'tier', description: `tier for new wallets: ${TIERS.join(', ')} (default ${DEFAULT_TIER})` },
    rejects: { type: 'string', value: 'file', description: 'where to list rejected lines (default <file>.rejected.txt)' },
  },
  async run(ctx, args) {
    const tier = tierOption(args, 'tier', DEFAULT_TIER);
    const source = args.positionals[0]!;
    const rejectsPath = stringOption(args, 'rejects') ?? (source === '-' ? 'stdin.rejected.txt' : `${source}.rejected.txt`);
    if (rejectsPath === '' || (source !== '-' && resolve(rejectsPath) === resolve(source))) {
      throw new CliError(`${args.command}: --rejects must name a file other than the input`, EXIT.usage);
    }
    // An unreadable input or an unwritable rejects file fails before anything is imported.
    try {
      await access(dirname(resolve(rejectsPath)), constants.W_OK);
    } catch (error) {
      throw new CliError(`cannot write the rejects file ${rejectsPath}: ${oneLine(error)}`, EXIT.usage);
    }
    const input = await openSource(source);
    let sql;
    try {
      sql = await ctx.db({ migrate: true });
    } catch (error) {
      await input.close();
      throw error;
    }
    const result = await importAddresses(sql, {
      source,
      input,
      tier,
      rejectsPath,
      io: ctx.io,
      tty: process.stderr.isTTY === true && !ctx.json,
    });
    ctx.io.out(ctx.json ? toJson(result) : summary(result));
    return result.rejected > 0 ? EXIT.rejected : EXIT.ok;
  },
};
