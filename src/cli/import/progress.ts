// Progress of `wallets import` on stderr: a bar redrawn in place on a terminal, a plain line
// every PROGRESS_EVERY lines otherwise (a log, a pipe).

import { formatCount, type Output } from '../output';

/** Plain progress lines (when stderr is not a terminal) every this many lines. */
export const PROGRESS_EVERY = 10_000;
/** The bar is redrawn at most this often. */
const REDRAW_MS = 100;
const BAR_WIDTH = 30;

export interface ProgressCounts {
  lines: number;
  imported: number;
  alreadyTracked: number;
  rejected: number;
}

export class Progress {
  private lastDraw = 0;
  private drawn = false;
  constructor(
    private readonly io: Output,
    private readonly tty: boolean,
    private readonly label: string,
    private readonly totalBytes: number | null,
  ) {}

  update(counts: ProgressCounts, bytesRead: number): void {
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = now;
      let bar = '';
      if (this.totalBytes) {
        const fraction = Math.min(1, bytesRead / this.totalBytes);
        const filled = Math.round(fraction * BAR_WIDTH);
        bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  `;
      }
      process.stderr.write(`\r\x1b[K${this.label} ${bar}${this.text(counts)}`);
      this.drawn = true;
    } else if (counts.lines % PROGRESS_EVERY === 0) {
      this.io.err(`progress: ${this.text(counts)}`);
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

  private text(c: ProgressCounts): string {
    return (
      `${formatCount(c.lines)} lines read, ${formatCount(c.imported)} new, ` +
      `${formatCount(c.alreadyTracked)} already tracked, ${formatCount(c.rejected)} rejected`
    );
  }
}
