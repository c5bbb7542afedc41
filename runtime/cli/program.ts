/**
 * The commander program: global options, every command, and how usage errors look.
 * Commander never exits the process here (`exitOverride`); `runCli` turns its errors into
 * exit codes. A usage error prints what was wrong and where to read about it.
 */
import { Command, Help } from 'commander';
import { CONFIG_FILE_ENV, CONFIG_KEYS, DEFAULT_CONFIG_FILE } from '../config.js';
import { redactCredentials } from '../redaction.js';
import { ledgerclawVersion } from '../version.js';
import { registerActorsCommands } from './actors-commands.js';
import { registerApprovalsCommands } from './approvals-commands.js';
import { registerAuditCommand } from './audit-command.js';
import { registerChatCommand } from './chat-command.js';
import type { CommandContext } from './command-context.js';
import { registerEventsCommands } from './events-commands.js';
import { registerInstructionsCommands } from './instructions-commands.js';
import type { CliIo } from './io.js';
import { registerKnowledgeCommands } from './knowledge-commands.js';
import { registerMemoryCommands } from './memory-commands.js';
import { registerProjectionsCommands } from './projections-commands.js';
import { registerReplayCommand } from './replay-command.js';
import { registerRunsCommands } from './runs-commands.js';
import { registerSearchCommand } from './search-command.js';
import { registerStartCommand } from './start-command.js';
import { registerTasksCommands } from './tasks-commands.js';
import { registerTraceCommand } from './trace-command.js';

export const PROGRAM_NAME = 'ledgerclaw';

/** `ledgerclaw events read`, for messages about a subcommand. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/** Every runnable command with its arguments, so the top-level help lists nested ones too. */
function commandOverview(program: Command): string {
  const help = new Help();
  const rows: [string, string][] = [];
  const visit = (command: Command) => {
    for (const sub of command.commands) {
      if (sub.commands.length > 0) {
        visit(sub);
        continue;
      }
      const usage = [commandPath(sub).slice(PROGRAM_NAME.length + 1), help.subcommandTerm(sub).split(' ').slice(1).join(' ')]
        .filter((part) => part !== '')
        .join(' ');
      rows.push([usage, sub.description()]);
    }
  };
  visit(program);
  const width = Math.max(...rows.map(([usage]) => usage.length));
  return rows.map(([usage, description]) => `  ${usage.padEnd(width)}  ${description}`).join('\n');
}

function environmentOverview(): string {
  const rows: [string, string][] = [
    ...CONFIG_KEYS.map((doc): [string, string] => [doc.env, doc.key]),
    [CONFIG_FILE_ENV, `config file (default ./${DEFAULT_CONFIG_FILE}, optional)`],
  ];
  const width = Math.max(...rows.map(([env]) => env.length));
  return rows.map(([env, key]) => `  ${env.padEnd(width)}  ${key}`).join('\n');
}

/** The first line of commander's message, reworded as `ledgerclaw: …`, plus where to get help. */
function usageErrorText(message: string, command: Command): string {
  const text = message
    .replace(/^error: /, '')
    .trimEnd()
    .replace(/\s*\n\s*/g, ' ');
  return `${PROGRAM_NAME}: ${text}\nsee '${commandPath(command)} --help'\n`;
}

function configureUsageOutput(command: Command, io: CliIo): void {
  command.configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
    // A usage error echoes what was typed: a token pasted as an argument is not repeated.
    outputError: (text, write) => write(redactCredentials(usageErrorText(text, command))),
  });
  for (const sub of command.commands) configureUsageOutput(sub, io);
}

/** `help <command>` would be a second way to say `<command> --help`, listed in every help. */
function withoutHelpCommands(command: Command): void {
  command.helpCommand(false);
  for (const sub of command.commands) withoutHelpCommands(sub);
}

export function buildProgram(context: CommandContext): Command {
  const program = new Command(PROGRAM_NAME)
    .description('an event-sourced AI assistant runtime')
    .version(ledgerclawVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .option('--data <dir>', 'data directory (env LEDGERCLAW_DATA; default ./data)')
    .option('--config <file>', `config file (env ${CONFIG_FILE_ENV}; default ./${DEFAULT_CONFIG_FILE} if present)`)
    .exitOverride()
    .showSuggestionAfterError(true);

  registerStartCommand(program, context);
  registerEventsCommands(program, context);
  registerActorsCommands(program, context);
  registerReplayCommand(program, context);
  registerRunsCommands(program, context);
  registerChatCommand(program, context);
  registerTraceCommand(program, context);
  registerProjectionsCommands(program, context);
  registerMemoryCommands(program, context);
  registerSearchCommand(program, context);
  registerKnowledgeCommands(program, context);
  registerTasksCommands(program, context);
  registerInstructionsCommands(program, context);
  registerApprovalsCommands(program, context);
  registerAuditCommand(program, context);

  // Subcommands copy their parent's output settings when created; the hint must name each
  // command, so it is set on every command once the tree is complete.
  configureUsageOutput(program, context.io);
  withoutHelpCommands(program);
  program.addHelpText(
    'after',
    () =>
      `\nAll commands:\n${commandOverview(program)}\n\n` +
      `Environment (overrides ${DEFAULT_CONFIG_FILE}; --data overrides both):\n${environmentOverview()}\n\n` +
      `Exit status: 0 ok, 1 the command failed, 2 usage or configuration error.\n`,
  );
  return program;
}
