// The balance-tracker command line: the commands, run through the commander program of
// ./program, every failure turned into one line on stderr and an exit status (see EXIT in ./errors).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root';
import { redactText } from '../redact';
import type { CommandSpec } from './args';
import { CONNECT_TIMEOUT_MS, Context, describeQueryError } from './context';
import { CliError, EXIT, oneLine, UsageError } from './errors';
import { changesCommand } from './changes';
import { walletsCheck } from './check';
import { walletsHistory } from './history';
import { walletsImport } from './import';
import { buildProgram, Shown } from './program';
import { statusCommand } from './status';
import { tiersInterval } from './tier-interval';
import { tiersPromote } from './tiers';
import { walletsAdd, walletsList, walletsRemove, walletsShow } from './wallets';
import { webhooksReplay, webhooksStatus } from './webhooks';
import { workerCommand } from './worker';

export const COMMANDS: CommandSpec[] = [walletsAdd, walletsImport, walletsRemove, walletsList, walletsShow, walletsHistory, walletsCheck, tiersPromote, tiersInterval, statusCommand, changesCommand, webhooksStatus, webhooksReplay, workerCommand];

const GROUPS: Record<string, string> = {
  wallets: 'Manage the wallets whose balances are tracked.',
  tiers: 'Move wallets between tiers (high, medium, low: how often they are checked), and set how often a tier is swept.',
  webhooks: 'Delivery of the change feed to WEBHOOK_URL: its state, and replaying dead letters.',
};

const FOOTER = `
Every command takes --help. Read commands take --json (lamports as exact strings).
--verbose adds stack traces to errors.

Configuration comes from the environment, as for the service (see .env.example):
DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE, for \`worker\`
SOLANA_RPC_URL, and for \`webhooks replay\` WEBHOOK_URL and WEBHOOK_SECRET. Postgres and Temporal are given ${CONNECT_TIMEOUT_MS / 1000} s to answer before a command fails.

Exit status: 0 success; 1 runtime failure (Postgres or Temporal unreachable, a tier workflow
not running); 2 bad usage or input (unknown command or option, invalid address, unreadable
file); 3 \`wallets import\` rejected some lines (the valid ones were imported).`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
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
  // Set by the command once it runs (the program only parses before that).
  const running: { ctx: Context | null; exitCode: number } = { ctx: null, exitCode: EXIT.ok };
  const program = buildProgram(
    { description: 'Keeps the SOL balances of Solana wallets fresh in Postgres, on Temporal.', version: version(), footer: FOOTER, groups: GROUPS, commands: COMMANDS },
    async (spec, args) => {
      running.ctx = new Context(args.json, args.verbose);
      running.exitCode = await spec.run(running.ctx, args);
    },
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
    return running.exitCode;
  } catch (error) {
    if (error instanceof Shown) return error.exitCode;
    return printError(error, verbose, running.ctx?.secrets() ?? []);
  } finally {
    await running.ctx?.close();
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
