// The command tree on commander: it routes to the command, parses its options and arguments
// and renders --help from the CommandSpecs. Commander's own errors become one UsageError line
// in the CLI's words (see printError in ./main) instead of commander's output.

import { Command, CommanderError, Option } from 'commander';
import { type CommandSpec, JSON_OPTION, type OptionSpec, type ParsedArgs, PROGRAM, VERBOSE_OPTION } from './args';
import { EXIT, UsageError } from './errors';

export interface ProgramSpec {
  description: string;
  version: string;
  /** Shown after the program's --help. */
  footer: string;
  /** One line per command group (`wallets`, `tiers`). */
  groups: Record<string, string>;
  commands: CommandSpec[];
}

/** Runs a parsed command. */
export type Runner = (spec: CommandSpec, args: ParsedArgs) => Promise<void>;

/**
 * Help and version were printed: exit with this status. Commander reports them as errors when
 * it does not exit the process itself.
 */
export class Shown extends Error {
  constructor(readonly exitCode: number) {
    super('shown');
  }
}

// The help texts are wrapped by hand to under 100 columns: commander must not re-wrap them.
const HELP_WIDTH = 100;

const option = (key: string, o: OptionSpec): Option => new Option(`--${key}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}`, o.description);

const fullName = (cmd: Command): string => (cmd.parent ? `${fullName(cmd.parent)} ${cmd.name()}` : cmd.name());

/** Commander's errors in the CLI's words, each naming the --help to read. */
function translate(error: CommanderError, cmd: Command): never {
  const name = fullName(cmd);
  const commands = cmd.commands.map((c) => c.name());
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'commander.helpDisplayed':
    case 'commander.version':
      throw new Shown(EXIT.ok);
    case 'commander.help':
      // `help [command]` (status 0), or the program or a group without a command: its help went to stderr.
      if (error.exitCode === 0) throw new Shown(EXIT.ok);
      if (!cmd.parent) throw new Shown(EXIT.usage);
      throw new UsageError(`${name}: missing command (${commands.join(', ')})`, name);
    case 'commander.unknownCommand': {
      const typed = cmd.parent ? `${cmd.name()} ${cmd.args[0]}` : cmd.args[0];
      throw new UsageError(`unknown command ${JSON.stringify(typed)} (${cmd.parent ? `${cmd.name()} ` : ''}commands: ${commands.join(', ')})`, name);
    }
    case 'commander.unknownOption':
      throw new UsageError(cmd.parent ? `${name}: unknown option ${quoted}` : `unknown option ${quoted} (options go after the command)`, name);
    case 'commander.optionMissingArgument':
      throw new UsageError(`${name}: option ${/--[\w-]+/.exec(quoted)?.[0] ?? quoted} needs a value`, name);
    case 'commander.missingArgument': {
      const missing = cmd.registeredArguments[cmd.args.length];
      throw new UsageError(`${name}: missing ${missing ? `<${missing.name()}${missing.variadic ? '…' : ''}>` : 'argument'}`, name);
    }
    case 'commander.excessArguments':
      throw new UsageError(`${name}: unexpected argument ${JSON.stringify(cmd.args[cmd.registeredArguments.length])}`, name);
    default:
      throw new UsageError(`${name}: ${error.message.replace(/^error: /, '')}`, name);
  }
}

/** What every level of the tree shares: help, and errors through translate. */
function configure(cmd: Command): Command {
  return cmd
    .helpOption('-h, --help', 'show this help')
    .configureHelp({ helpWidth: HELP_WIDTH })
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(false)
    .exitOverride((error) => translate(error, cmd));
}

/** The program or a group: commands below it, and `help [command]`. */
const withCommands = (cmd: Command): Command => cmd.usage('<command> [options]').helpCommand('help [command]', 'show help for a command');

/** The commander program for `spec`; parsing it runs the command through `runner`. */
export function buildProgram(spec: ProgramSpec, runner: Runner): Command {
  const program = withCommands(configure(new Command(PROGRAM)))
    .description(spec.description)
    // Options before the command are the program's own (the ones below); after it, the command's.
    .enablePositionalOptions()
    .version(spec.version, '--version', 'print the version')
    .addOption(option('json', JSON_OPTION))
    .addOption(option('verbose', VERBOSE_OPTION))
    .addHelpText('after', `\n${spec.footer.trim()}`);
  const groups = new Map<string, Command>();
  const group = (name: string): Command => {
    let cmd = groups.get(name);
    if (!cmd) {
      cmd = withCommands(configure(program.command(name))).description(spec.groups[name] ?? '');
      groups.set(name, cmd);
    }
    return cmd;
  };
  for (const command of spec.commands) {
    const parent = command.path.length === 1 ? program : group(command.path[0]!);
    const cmd = configure(parent.command(command.path.at(-1)!)).summary(command.summary).description(command.description.trim());
    if (command.args) cmd.arguments(command.args);
    const options = Object.entries({ ...command.options, ...(command.json === false ? {} : { json: JSON_OPTION }), verbose: VERBOSE_OPTION }).map(
      ([key, o]) => [key, option(key, o)] as const,
    );
    for (const [, o] of options) cmd.addOption(o);
    cmd.action(async () => {
      const given = cmd.opts();
      const leading = program.opts();
      const values = Object.fromEntries(options.map(([key, o]) => [key, given[o.attributeName()] as string | boolean | undefined]));
      await runner(command, {
        command: fullName(cmd),
        positionals: cmd.args,
        values,
        json: values.json === true || leading.json === true,
        verbose: values.verbose === true || leading.verbose === true,
      });
    });
  }
  return program;
}
