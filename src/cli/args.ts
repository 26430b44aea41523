// What a command declares (its name, arguments, options and help text) and the validated values
// of its options. src/cli/program.ts turns the declarations into commander commands.

import { isTier, TIERS, type Tier } from '../tiers';
import { UsageError } from './errors';
import type { Context } from './context';

export const PROGRAM = 'balance-tracker';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's name in help: `--tier <tier>`; string options only. */
  value?: string;
  description: string;
}

export interface CommandSpec {
  /** ['wallets', 'add'] or ['status']. */
  path: string[];
  /** One line for the group listing. */
  summary: string;
  /** Positional arguments in commander's syntax: `<address...>`, `<tier> <duration>`, or ''. */
  args: string;
  /** Paragraphs shown by --help. */
  description: string;
  options: Record<string, OptionSpec>;
  /** False for commands whose output is not data (worker). */
  json?: boolean;
  run(ctx: Context, args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  /** The command as typed for help: `balance-tracker wallets add`. */
  command: string;
  positionals: string[];
  /** Option values by the keys of CommandSpec.options. */
  values: Record<string, string | boolean | undefined>;
  json: boolean;
  verbose: boolean;
}

export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print the result as JSON (lamports and other big numbers as strings)' };
export const VERBOSE_OPTION: OptionSpec = { type: 'boolean', description: 'show stack traces with errors' };

/** The value of a --tier style option, validated. */
export function tierOption(args: ParsedArgs, name: string, fallback?: Tier): Tier {
  const value = args.values[name];
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`${args.command}: --${name} <tier> is required (${TIERS.join(', ')})`, args.command);
  }
  if (!isTier(value)) {
    throw new UsageError(`${args.command}: --${name} must be one of ${TIERS.join(', ')}, got ${JSON.stringify(value)}`, args.command);
  }
  return value;
}

/** The value of an integer option within [min, max]. */
export function intOption(args: ParsedArgs, name: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  const value = args.values[name];
  if (value === undefined) return fallback;
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${args.command}: --${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`, args.command);
  }
  return n;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

const POSITION_MAX = 2n ** 63n - 1n;

/** A change feed position option (a whole number from 0), or undefined when not given. */
export function positionOption(args: ParsedArgs, name: string): bigint | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > POSITION_MAX) {
    throw new UsageError(`${args.command}: --${name} must be a feed position (a whole number from 0), got ${JSON.stringify(text)}`, args.command);
  }
  return BigInt(text);
}
