// Exit statuses and the errors that carry them. Every failure reaches the operator as one
// line on stderr; the stack trace only with --verbose.

import { redactText } from '../redact';

export const EXIT = {
  ok: 0,
  /** A runtime failure: Postgres or Temporal unreachable, a query failed, a workflow not running. */
  failure: 1,
  /** Bad usage or bad input: unknown command or option, an invalid address, a missing file. */
  usage: 2,
  /** `wallets import` imported the valid lines but rejected some. */
  rejected: 3,
} as const;

/** An error whose message is already the one line to show. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** The underlying error, shown with --verbose. */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CliError';
  }
}

/** Bad usage: the message is followed by a pointer to the command's --help. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly helpCommand: string = '',
  ) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** The first line of an error's message, redacted. */
export function oneLine(error: unknown, secrets: readonly string[] = []): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  const first = message.split('\n').find((l) => l.trim() !== '') ?? message;
  return redactText(first.trim(), secrets);
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
