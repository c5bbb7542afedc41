/**
 * A writer command's session with the actors: commands go through the running runtime's
 * control socket, or, with it stopped, through an in-process host that holds the data
 * directory for the moment. Every failure, opening or using it, is translated once by the
 * command's own `explain`, so an operator reads what they can act on.
 */
import type { Command } from 'commander';
import type { Projection } from '../../projections/projection.js';
import { openActorCommands, type ActorCommands } from '../control/actor-commands.js';
import { loadCommandConfig, type CommandContext } from './command-context.js';

export interface ActorCommandsSessionOptions {
  /** The command group, for the writer lock's note: `tasks` in `ledgerclaw tasks pause`. */
  readonly group: string;
  /** Read models an in-process writer brings up to date before it lets go of the directory. */
  readonly readModels?: readonly Projection[];
  /** The error to show for one the command knows; anything else as it is. */
  readonly explain: (error: unknown) => unknown;
}

export async function withActorCommands<T>(
  context: CommandContext,
  command: Command,
  options: ActorCommandsSessionOptions,
  use: (commands: ActorCommands) => Promise<T>,
): Promise<T> {
  const { config } = loadCommandConfig(command, context.io);
  let commands: ActorCommands;
  try {
    commands = await openActorCommands({
      config,
      kinds: context.actors.kinds,
      catalogue: context.actors.catalogue,
      commandName: `ledgerclaw ${options.group} ${command.name()}`,
      ...(options.readModels ? { readModels: options.readModels } : {}),
    });
  } catch (error) {
    throw options.explain(error);
  }
  try {
    return await use(commands);
  } catch (error) {
    throw options.explain(error);
  } finally {
    await commands.close();
  }
}
