// The input of `wallets import`: a file or standard input ("-"), as counted byte chunks.

import { open } from 'node:fs/promises';
import { CliError, EXIT, errorCode, oneLine } from '../errors';

export interface Source {
  chunks: AsyncIterable<Buffer>;
  /** The file's size when it is a regular file (for the progress bar). */
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
