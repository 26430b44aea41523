// The rejects file of `wallets import`: every rejected line, tab-separated (line, reason, text
// as a JSON string), with a header line; written only once something is rejected.

import { createWriteStream, type WriteStream } from 'node:fs';
import { CliError, oneLine } from '../errors';

/** Writes every rejected line to a file (opened on the first one), honouring backpressure. */
export class RejectsFile {
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
