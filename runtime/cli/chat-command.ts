/**
 * `ledgerclaw chat [--group name]`: talk to the assistant in the terminal, through the
 * whole pipeline. It runs the runtime itself (it is the data directory's writer, as
 * `start` is), so stop `start` first.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { ChatSession } from '../channels/console/chat-session.js';
import { action, type CommandContext } from './command-context.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { DEFAULT_INSPECT_PORT, startRuntime } from './start-command.js';

const groupNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected lower-case letters, digits, _ and -, such as ops');

interface ChatOptions {
  readonly group: string;
}

export function registerChatCommand(program: Command, context: CommandContext): void {
  program
    .command('chat')
    .description('talk to the assistant in this terminal, through the whole pipeline (runs the runtime; stop `start` first)')
    .option(
      '--group <name>',
      'the conversation (a group local.<name>, with its own memory and workspace)',
      (value: string) => {
        const parsed = groupNameSchema.safeParse(value);
        if (!parsed.success) throw new UsageError(`--group '${value}': ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        return parsed.data;
      },
      'chat',
    )
    .action(action(context, (options: ChatOptions, command: Command) => chat(context, command, options)));
}

/** A user id for the terminal's user: their login name when it is usable, else `local-user`. */
function localSender(env: Readonly<Record<string, string | undefined>>): string {
  const name = env.USER ?? env.LOGNAME ?? '';
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? `local-${name}` : 'local-user';
}

async function chat(context: CommandContext, command: Command, options: ChatOptions): Promise<ExitCode> {
  const { io } = context;
  if (!io.stdin) throw new UsageError('chat needs a terminal or piped input to read from');
  const session = new ChatSession({ groupId: `local.${options.group}`, sender: localSender(io.env), input: io.stdin, output: io.stdout });
  return startRuntime(context, command, { inspectPort: DEFAULT_INSPECT_PORT }, session);
}
