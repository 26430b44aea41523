// The balance-tracker command line: finds the command, parses its arguments, runs it, and
// turns every failure into one line on stderr and an exit status (see EXIT in ./errors).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root';
import { redactText } from '../redact';
import { type CommandSpec, commandHelp, groupHelp, parseCommand, PROGRAM } from './args';
import { CONNECT_TIMEOUT_MS, Context, describeQueryError } from './context';
import { CliError, EXIT, oneLine, UsageError } from './errors';
import { walletsCheck } from './check';
import { walletsHistory } from './history';
import { walletsImport } from './import';
import { statusCommand } from './status';
import { tiersInterval } from './tier-interval';
import { tiersPromote } from './tiers';
import { walletsAdd, walletsList, walletsRemove, walletsShow } from './wallets';
import { workerCommand } from './worker';

export const COMMANDS: CommandSpec[] = [walletsAdd, walletsImport, walletsRemove, walletsList, walletsShow, walletsHistory, walletsCheck, tiersPromote, tiersInterval, statusCommand, workerCommand];

const GROUPS: Record<string, string> = {
  wallets: 'Manage the wallets whose balances are tracked.',
  tiers: 'Move wallets between tiers (high, medium, low: how often they are checked), and set how often a tier is swept.',
};

const FOOTER = `
Every command takes --help. Read commands take --json (lamports as exact strings).
--verbose adds stack traces to errors.

Configuration comes from the environment, as for the service (see .env.example):
DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE, and for \`worker\`
SOLANA_RPC_URL. Postgres and Temporal are given ${CONNECT_TIMEOUT_MS / 1000} s to answer before a command fails.

Exit status: 0 success; 1 runtime failure (Postgres or Temporal unreachable, a tier workflow
not running); 2 bad usage or input (unknown command or option, invalid address, unreadable
file); 3 \`wallets import\` rejected some lines (the valid ones were imported).`;

function topHelp(): string {
  return groupHelp(
    'Keeps the SOL balances of Solana wallets fresh in Postgres, on Temporal.',
    `${PROGRAM} <command> [options]`,
    COMMANDS,
    FOOTER,
  );
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const LEADING = new Set(['--json', '--verbose', '--help', '-h', '--version']);

interface Resolved {
  spec: CommandSpec;
  rest: string[];
}

/** Finds the command named by argv; prints group/program help itself and returns an exit status then. */
function resolve(argv: string[], out: (text: string) => void, err: (text: string) => void): Resolved | number {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    if (!LEADING.has(argv[i]!)) throw new UsageError(`unknown option ${argv[i]} (options go after the command)`, PROGRAM);
    leading.push(argv[i]!);
    i++;
  }
  const wantsHelp = leading.includes('--help') || leading.includes('-h');
  if (leading.includes('--version')) {
    out(version());
    return EXIT.ok;
  }
  const group = argv[i];
  if (group === undefined) {
    if (wantsHelp) {
      out(topHelp());
      return EXIT.ok;
    }
    err(topHelp());
    return EXIT.usage;
  }
  if (group === 'help') {
    // `balance-tracker help [command…]` is `--help`.
    return resolve([...argv.slice(i + 1), '--help'], out, err);
  }
  const inGroup = COMMANDS.filter((c) => c.path[0] === group);
  if (inGroup.length === 0) {
    throw new UsageError(`unknown command ${JSON.stringify(group)} (commands: ${[...new Set(COMMANDS.map((c) => c.path[0]))].join(', ')})`, PROGRAM);
  }
  const single = inGroup.find((c) => c.path.length === 1);
  if (single) return { spec: single, rest: [...leading.filter((f) => f !== '--version'), ...argv.slice(i + 1)] };
  const sub = argv[i + 1];
  const help = () => groupHelp(GROUPS[group] ?? '', `${PROGRAM} ${group} <command> [options]`, inGroup);
  if (sub === undefined || sub.startsWith('-')) {
    if (wantsHelp || sub === '--help' || sub === '-h') {
      out(help());
      return EXIT.ok;
    }
    err(help());
    throw new UsageError(`${PROGRAM} ${group}: missing command (${inGroup.map((c) => c.path[1]).join(', ')})`, `${PROGRAM} ${group}`);
  }
  const spec = inGroup.find((c) => c.path[1] === sub);
  if (!spec) {
    throw new UsageError(
      `unknown command ${JSON.stringify(`${group} ${sub}`)} (${group} commands: ${inGroup.map((c) => c.path[1]).join(', ')})`,
      `${PROGRAM} ${group}`,
    );
  }
  return { spec, rest: [...leading.filter((f) => f !== '--version'), ...argv.slice(i + 2)] };
}

function printError(error: unknown, verbose: boolean, secrets: readonly string[]): number {
  const lines = error instanceof CliError ? error.message.split('\n') : [describeQueryError(error, secrets)];
  const hint = error instanceof UsageError && error.helpCommand ? ` (see ${error.helpCommand} --help)` : '';
  lines.forEach((line, index) => {
    process.stderr.write(`error: ${redactText(line, secrets)}${index === lines.length - 1 ? hint : ''}\n`);
  });
  if (verbose) {
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      process.stderr.write(`${e === error ? '' : 'caused by: '}${redactText(e.stack ?? `${e.name}: ${e.message}`, secrets)}\n`);
    }
  }
  return error instanceof CliError ? error.exitCode : EXIT.failure;
}

/** Runs the command line; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const err = (text: string) => process.stderr.write(`${text}\n`);
  let ctx: Context | null = null;
  try {
    const resolved = resolve(argv, out, err);
    if (typeof resolved === 'number') return resolved;
    const { spec, rest } = resolved;
    const args = parseCommand(spec, rest);
    if (args === 'help') {
      out(commandHelp(spec));
      return EXIT.ok;
    }
    ctx = new Context(args.json, args.verbose);
    return await spec.run(ctx, args);
  } catch (error) {
    return printError(error, verbose, ctx?.secrets() ?? []);
  } finally {
    await ctx?.close();
  }
}

/** The process entry point (bin/balance-tracker.js): exits with main's status. */
export function run(argv: string[] = process.argv.slice(2)): void {
  // `balance-tracker wallets list | head` closes stdout early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
    throw error;
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`error: ${oneLine(reason)}\n`);
    if (argv.includes('--verbose') && reason instanceof Error) process.stderr.write(`${redactText(reason.stack ?? '')}\n`);
    process.exit(EXIT.failure);
  });
  main(argv).then(
    (code) => {
      // Flush stdout before exiting; a lingering handle must not keep the process alive.
      process.stdout.write('', () => process.exit(code));
    },
    (error: unknown) => {
      process.stderr.write(`error: ${oneLine(error)}\n`);
      process.exit(EXIT.failure);
    },
  );
}

// `npx tsx src/cli/main.ts …` runs the sources (development); bin/balance-tracker.js runs the build.
if (require.main === module) run();
