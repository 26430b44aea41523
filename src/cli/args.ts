// Commands and their arguments: a thin layer over node:util parseArgs that turns its errors
// into one clear usage line, validates option values, and renders --help from the same spec.

import { parseArgs } from 'node:util';
import { isTier, TIERS, type Tier } from '../tiers';
import { UsageError } from './errors';
import type { Context } from './context';

export const PROGRAM = 'balance-tracker';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in help: `--tier <tier>`. */
  value?: string;
  description: string;
}

export interface CommandSpec {
  /** ['wallets', 'add'] or ['status']. */
  path: string[];
  /** One line for the group listing. */
  summary: string;
  /** Positional part of the usage line: `<address…>`. */
  args: string;
  /** Paragraphs shown by --help. */
  description: string;
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number };
  /** False for commands whose output is not data (worker). */
  json?: boolean;
  run(ctx: Context, args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  json: boolean;
  verbose: boolean;
}

export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print the result as JSON (lamports and other big numbers as strings)' };
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  verbose: { type: 'boolean', description: 'show stack traces with errors' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const commandName = (spec: CommandSpec): string => [PROGRAM, ...spec.path].join(' ');

function optionsOf(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...(spec.json === false ? {} : { json: JSON_OPTION }), ...GLOBAL_OPTIONS };
}

/** Parses a command's arguments (everything after its name). Throws UsageError. */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedArgs | 'help' {
  const options = optionsOf(spec);
  const name = commandName(spec);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([key, o]) => [key, o.short ? { type: o.type, short: o.short } : { type: o.type }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(parseArgsMessage(error, name), name);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return 'help';
  const { positionals } = parsed;
  const { min, max } = spec.positionals;
  if (positionals.length < min) {
    throw new UsageError(`${name}: missing ${spec.args.split(' ')[positionals.length] ?? 'argument'}`, name);
  }
  if (positionals.length > max) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(positionals[max])}`, name);
  }
  return { positionals, values, json: values.json === true, verbose: values.verbose === true };
}

function parseArgsMessage(error: unknown, name: string): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'(-[^']*)'/.exec(message)?.[1] ?? '';
  const option = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${name}: unknown option ${option}`.trimEnd();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(message) ? `${name}: option ${option} needs a value` : `${name}: option ${option} takes no value`;
    default:
      return `${name}: ${message.split('\n')[0]}`;
  }
}

/** The value of a --tier style option, validated. */
export function tierOption(args: ParsedArgs, name: string, command: string, fallback?: Tier): Tier {
  const value = args.values[name];
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`${command}: --${name} <tier> is required (${TIERS.join(', ')})`, command);
  }
  if (!isTier(value)) {
    throw new UsageError(`${command}: --${name} must be one of ${TIERS.join(', ')}, got ${JSON.stringify(value)}`, command);
  }
  return value;
}

/** The value of an integer option within [min, max]. */
export function intOption(args: ParsedArgs, name: string, command: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  const value = args.values[name];
  if (value === undefined) return fallback;
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${command}: --${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`, command);
  }
  return n;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** `--help` for one command. */
export function commandHelp(spec: CommandSpec): string {
  const options = optionsOf(spec);
  const rows = Object.entries(options).map(([key, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${key}${o.value ? ` <${o.value}>` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `Usage: ${commandName(spec)}${spec.args ? ` ${spec.args}` : ''}${Object.keys(spec.options).length ? ' [options]' : ''}`,
    '',
    spec.description.trim(),
    '',
    'Options:',
    ...rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`),
    '',
  ].join('\n');
}

/** `--help` for a group of commands (`wallets`), or for the program (group = []). */
export function groupHelp(title: string, usage: string, specs: CommandSpec[], footer = ''): string {
  const rows = specs.map((s) => [`${s.path.join(' ')}${s.args ? ` ${s.args}` : ''}`, s.summary] as const);
  const width = Math.max(...rows.map(([u]) => u.length));
  return [
    `Usage: ${usage}`,
    '',
    title,
    '',
    'Commands:',
    ...rows.map(([u, summary]) => `  ${u.padEnd(width)}  ${summary}`),
    '',
    ...(footer ? [footer.trim(), ''] : []),
  ].join('\n');
}
