/**
 * `ledgerclaw instructions show | edit [--group G]`: the standing instructions, the company's
 * (COMPANY.md) or a group's (INSTRUCTIONS.md), as an operator reads and changes them.
 *
 * - `show` prints the file as it is now with its hash, and whether and when that hash was
 *   recorded; it reads the store read-only and takes no lock.
 * - `edit` takes the new text from `--file <path>` (`-`: standard input) or the editor
 *   ($VISUAL, $EDITOR), writes the file and records the change through the instructions
 *   actor: via the running runtime's control socket, or in this process when it is stopped.
 *
 * The logic is in runtime/instructions/; this module parses and prints.
 */
import { Option, type Command } from 'commander';
import { INSTRUCTIONS_MAX_BYTES, type InstructionsScope } from '../../events/catalogue/instructions.js';
import { RuntimeUnreachableError, type ActorCommands } from '../control/actor-commands.js';
import { withActorCommands as withActorCommandsSession } from './actor-commands-session.js';
import { ControlRequestError } from '../control/client.js';
import { editorCommand, editText, EditorError } from '../instructions/editor.js';
import { instructionsLocation, instructionsScope, readInstructionsFile } from '../instructions/instructions-file.js';
import { instructionsStatus, isRecorded } from '../instructions/instructions-status.js';
import { InstructionsNotRecordedError, InstructionsTooLongError, writeInstructions, type SendInstructionsCommand } from '../instructions/record-instructions.js';
import { readTextSource, TextSourceError } from '../instructions/text-input.js';
import { WorkspaceFileRefusedError } from '../sandbox/workspace-file.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { parseGroupOption, parseTextSource } from './option-values.js';
import { withReader } from './reader.js';

const INSTRUCTIONS_KIND = 'instructions';

interface ScopeOptions {
  readonly group?: string;
}

export function registerInstructionsCommands(program: Command, context: CommandContext): void {
  const instructions = program
    .command('instructions')
    .description("standing instructions: the company's (COMPANY.md, every run) and a group's (INSTRUCTIONS.md)");
  const groupOption = () => new Option('--group <id>', "a group's instructions (default: the company's)").argParser(parseGroupOption);
  instructions
    .command('show')
    .description('print the instructions now, with their hash and when that was recorded')
    .addOption(groupOption())
    .action(action(context, (options: ScopeOptions, command: Command) => show(context, command, options)));
  instructions
    .command('edit')
    .description('change the instructions in $EDITOR (or from --file) and record the change')
    .addOption(groupOption())
    .addOption(new Option('--file <path>', "take the new text from this file ('-': standard input) instead of the editor").argParser(parseTextSource))
    .action(action(context, (options: ScopeOptions & { file?: string }, command: Command) => edit(context, command, options)));
}

function scopeOf(options: ScopeOptions): InstructionsScope {
  return instructionsScope(options.group ?? null);
}

function whose(scope: InstructionsScope): string {
  return scope === 'company' ? "the company's instructions" : `the instructions of group ${scope.slice('group.'.length)}`;
}

async function show(context: CommandContext, command: Command, options: ScopeOptions): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  const scope = scopeOf(options);
  const status = await withReader(config, (opened) => instructionsStatus(opened?.store ?? null, config.dataDir, scope)).catch((error: unknown) => {
    throw asCommandError(error);
  });
  const { current, recorded } = status;
  if (current.text === '' && recorded === null) {
    const forWhom = scope === 'company' ? 'the company' : `group ${options.group}`;
    io.stdout.write(`no instructions for ${forWhom} yet: write ${status.path}, or run \`ledgerclaw instructions edit${options.group !== undefined ? ` --group ${options.group}` : ''}\`\n`);
    return ExitCode.ok;
  }
  const when = recorded === null ? '' : `recorded ${recorded.recordedAt} by ${recorded.recordedBy}`;
  const state = isRecorded(status) ? when : `not recorded yet: the next run or \`instructions edit\` records it${recorded === null ? '' : `; last recorded ${recorded.hash} (${when})`}`;
  io.stdout.write(`${whose(scope)}: ${status.path}\n`);
  io.stdout.write(`hash: ${current.hash} (${state})\n`);
  if (current.truncated) io.stdout.write(`the file is longer than ${INSTRUCTIONS_MAX_BYTES} bytes: runs are given its first ${INSTRUCTIONS_MAX_BYTES}, shown below\n`);
  io.stdout.write(current.text === '' ? '(empty: no instructions)\n' : `\n${current.text}${current.text.endsWith('\n') ? '' : '\n'}`);
  return ExitCode.ok;
}

async function edit(context: CommandContext, command: Command, options: ScopeOptions & { file?: string }): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  const scope = scopeOf(options);
  const location = instructionsLocation(config.dataDir, scope);
  let text: string;
  try {
    if (options.file !== undefined) {
      text = await readTextSource(options.file, { cwd: io.cwd, stdin: io.stdin, maxBytes: INSTRUCTIONS_MAX_BYTES });
    } else {
      const editor = editorCommand(io.env);
      if (editor === null) throw new UsageError('no editor: set $EDITOR (or $VISUAL), or give the text with --file <path> (--file - reads standard input)');
      const before = await readInstructionsFile(config.dataDir, scope);
      text = await editText(before.text, location.fileName, editor, { ...io.env });
    }
  } catch (error) {
    throw asCommandError(error);
  }
  const { written, outcome } = await withActorCommands(context, command, (commands) => writeInstructions(config.dataDir, scope, text, sendThrough(commands)));
  io.stdout.write(
    outcome === 'recorded'
      ? `${whose(scope)} changed: ${location.path}, hash ${written.hash} recorded\n`
      : `${whose(scope)} unchanged: hash ${written.hash} was recorded already\n`,
  );
  return ExitCode.ok;
}

function sendThrough(commands: ActorCommands): SendInstructionsCommand {
  return async (scope, instructionsCommand) => {
    const result = await commands.send(INSTRUCTIONS_KIND, scope, instructionsCommand);
    return result.status === 'accepted' ? { status: 'accepted' } : { status: 'rejected', reason: result.reason };
  };
}

function withActorCommands<T>(context: CommandContext, command: Command, use: (commands: ActorCommands) => Promise<T>): Promise<T> {
  return withActorCommandsSession(context, command, { group: 'instructions', explain: asCommandError }, use);
}

/** The failures an operator can act on, as their message alone (exit 1; a text too long is a usage error, exit 2). */
function asCommandError(error: unknown): unknown {
  if (error instanceof InstructionsTooLongError) return new UsageError(error.message);
  if (error instanceof ControlRequestError) return error.code === 'invalid_command' ? new UsageError(error.message) : new CommandFailedError(`the runtime refused the request: ${error.message}`);
  const explained = [RuntimeUnreachableError, WorkspaceFileRefusedError, EditorError, InstructionsNotRecordedError, TextSourceError];
  if (explained.some((type) => error instanceof type)) return new CommandFailedError((error as Error).message);
  return error;
}
