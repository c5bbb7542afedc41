/**
 * The control socket as `ledgerclaw start` runs it: the task, memory and instructions kinds
 * reachable (what the `tasks`, `memory resolve | confirm | retire` and `instructions edit`
 * commands send), and the approval kind's `vote` (`approvals vote`), commands signed `cli`
 * (or `user:<id>` for a request made on a person's behalf, `operator:<os user>` for a vote), and a data directory whose path is too long for a unix socket logged rather than
 * fatal (the runtime runs; writer commands then need it stopped, as before).
 */
import type { Logger } from '../logger.js';
import { CLI_ACTOR } from './actor-commands.js';
import { ControlSocketPathError, startControlServer, type ControlledActors } from './server.js';

/** The actor kinds the CLI may command through the socket. */
export const CONTROLLED_KINDS: readonly string[] = ['task', 'memory', 'instructions', 'approval'];

/** Of the approval kind, only the operator's vote (`approvals vote`): requests come from runs, expiry from the clock. */
export const CONTROLLED_COMMANDS: Readonly<Record<string, readonly string[]>> = { approval: ['vote'] };

export interface RuntimeControl {
  close(): Promise<void>;
}

export async function openRuntimeControl(options: { readonly dataDir: string; readonly actors: ControlledActors; readonly logger: Logger }): Promise<RuntimeControl> {
  try {
    const server = await startControlServer({ ...options, kinds: CONTROLLED_KINDS, commandsOf: CONTROLLED_COMMANDS, actor: CLI_ACTOR });
    options.logger.info({ socket: server.path, kinds: CONTROLLED_KINDS }, 'control socket listening');
    return server;
  } catch (error) {
    if (!(error instanceof ControlSocketPathError)) throw error;
    options.logger.warn({ err: error }, 'no control socket: `tasks` and `memory` writer commands need the runtime stopped');
    return { close: async () => undefined };
  }
}
