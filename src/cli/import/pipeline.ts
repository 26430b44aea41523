// The insert pipeline of `wallets import`: classified lines in, wallets in Postgres and counts out.
//
// Memory stays bounded: valid addresses go to Postgres BATCH_SIZE per INSERT (at most one INSERT
// in flight while the next batch is read), and duplicates within the input are told apart from
// wallets tracked before the import by asking Postgres (wallets added since the import started)
// rather than by keeping every address seen in memory.

import type { Address } from '../../address';
import type { Sql } from '../../db/client';
import { countAddedSince, databaseNow } from '../../db/reads';
import { addWallets, analyzeAfterBulkChange } from '../../db/wallets';
import type { Tier } from '../../tiers';
import { formatCount, type Output, quote } from '../output';
import { readImportLines } from './csv';
import { Progress } from './progress';
import { RejectsFile } from './rejects';
import type { Source } from './source';

/** Addresses per INSERT. */
export const BATCH_SIZE = 5_000;
/** Rejected lines shown on stderr; all of them go to the rejects file. */
export const SHOWN_REJECTS = 20;

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
    for await (const { number, item } of readImportLines(input.chunks)) {
      result.lines = number;
      switch (item.kind) {
        case 'blank':
          result.blank++;
          break;
        case 'header':
          result.headerLine = number;
          break;
        case 'address':
          if (batch.has(item.address)) result.duplicates++;
          else batch.add(item.address);
          if (batch.size >= BATCH_SIZE) await flush();
          break;
        case 'reject':
          result.rejected++;
          result.rejectsFile = rejects.path;
          await rejects.write(number, item.reason, item.text);
          if (result.rejected <= SHOWN_REJECTS) {
            progress.clear();
            io.err(`line ${number}: ${item.reason}${item.text === null ? '' : ` (${quote(item.text, 80)})`}`);
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
