/**
 * Where a CLI writer command goes. The data directory has one writer:
 *
 * - a live runtime holds it: the command goes through its control socket, and the
 *   runtime's actor host hands it to the actor;
 * - nobody holds it: the CLI takes it, and an actor host in this process hands the command
 *   to the actor (then brings the given read models up to date, so a `tasks list` right
 *   after shows the change).
 *
 * Either way the same actor machine decides, on the actor's stored state: the CLI never
 * appends an event itself. Commands are signed `cli` (or `user:<id>` when the operator acts
 * for that person) and keyed by a fresh id unless the caller gives one.
 */
import { randomUUID } from 'node:crypto';
import type { AnyActorKind, Command } from '../../actors/actor-kind.js';
import type { EventCatalogue } from '../../events/catalogue.js';
import type { EventStore } from '../../events/port.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import type { Projection } from '../../projections/projection.js';
import { InvalidCommandError } from '../actor-host/actor-host.js';
import { openActorRuntime } from '../actor-runtime.js';
import type { Config } from '../config.js';
import { DataDirectoryInUseError } from '../data-dir-lock.js';
import { openEventStore } from '../open-store.js';
import { ControlRequestError, ControlUnavailableError, sendControlCommand } from './client.js';
import type { WireSendResult } from './protocol.js';
import { controlSocketPath, toWire } from './server.js';

/** `metadata.actor` of what the CLI asks for. */
export const CLI_ACTOR = 'cli';

export interface ActorCommands {
  /** `runtime`: through the running runtime's control socket; `in-process`: this process is the writer. */
  readonly route: 'runtime' | 'in-process';
  /**
   * The actor's answer: accepted (with what it stored) or rejected (with its reason). A
   * command its kind's schema refuses throws ControlRequestError (`invalid_command`).
   */
  send(kind: string, actorId: string, command: Command, options?: ActorCommandOptions): Promise<WireSendResult>;
  close(): Promise<void>;
}

export interface ActorCommandOptions {
  /** Keys the command (the same key is applied once); a fresh one unless given. */
  readonly key?: string;
  /** The Slack user the operator acts for: signed `user:<id>` instead of `cli`. */
  readonly onBehalfOf?: string;
  /** The operator's OS user name: signed `operator:<name>` (an approval vote from the terminal). */
  readonly asOperator?: string;
}

/** The data directory has a writer that is not a runtime answering on its socket. */
export class RuntimeUnreachableError extends Error {
  override readonly name = 'RuntimeUnreachableError';
}

export interface OpenActorCommandsOptions {
  readonly config: Config;
  readonly kinds: readonly AnyActorKind[];
  readonly catalogue: EventCatalogue;
  /** Written into the writer lock when this process takes it: `ledgerclaw tasks pause`. */
  readonly commandName: string;
  /** Read models brought up to date before an in-process writer lets go of the directory. */
  readonly readModels?: readonly Projection[];
}

export async function openActorCommands(options: OpenActorCommandsOptions): Promise<ActorCommands> {
  const { config } = options;
  let opened;
  try {
    opened = await openEventStore(config, { mode: 'writer', actor: CLI_ACTOR, command: options.commandName, catalogue: options.catalogue });
  } catch (error) {
    if (error instanceof DataDirectoryInUseError) return throughRuntime(controlSocketPath(config.dataDir), error);
    throw error;
  }
  try {
    const actorRuntime = await openActorRuntime({ store: opened.store, config, readOnly: false, kinds: options.kinds });
    let wrote = false;
    return {
      route: 'in-process',
      async send(kind, actorId, command, sendOptions = {}) {
        try {
          const result = await actorRuntime.host.sendUnchecked(kind, actorId, command, {
            actor: signatureOf(sendOptions),
            commandId: `cli:${sendOptions.key ?? randomUUID()}`,
          });
          if (result.status === 'accepted' && !result.duplicate) wrote = true;
          return toWire(result);
        } catch (error) {
          if (error instanceof InvalidCommandError) throw new ControlRequestError('invalid_command', error.message);
          throw error;
        }
      },
      async close() {
        try {
          await actorRuntime.close();
          if (wrote && options.readModels && options.readModels.length > 0) await catchUp(opened.store, config.dataDir, options.readModels);
        } finally {
          await opened.close();
        }
      },
    };
  } catch (error) {
    await opened.close();
    throw error;
  }
}

/** `metadata.actor` of a command sent in this process, as the control server would sign it. */
function signatureOf(options: ActorCommandOptions): string {
  if (options.asOperator !== undefined) return `operator:${options.asOperator}`;
  return options.onBehalfOf === undefined ? CLI_ACTOR : `user:${options.onBehalfOf}`;
}

function throughRuntime(socketPath: string, inUse: DataDirectoryInUseError): ActorCommands {
  return {
    route: 'runtime',
    async send(kind, actorId, command, sendOptions = {}) {
      try {
        return await sendControlCommand(socketPath, { kind, actorId, command }, {
          ...(sendOptions.key === undefined ? {} : { requestId: sendOptions.key }),
          ...(sendOptions.onBehalfOf === undefined ? {} : { onBehalfOf: sendOptions.onBehalfOf }),
          ...(sendOptions.asOperator === undefined ? {} : { operator: sendOptions.asOperator }),
        });
      } catch (error) {
        if (!(error instanceof ControlUnavailableError)) throw error;
        const { holder } = inUse;
        throw new RuntimeUnreachableError(
          `data directory ${inUse.dataDir} is held by pid ${holder.pid} (${holder.command}), and nothing answers on its control socket ${socketPath}` +
            ` (${error.cause.message}); if that is a runtime starting, try again in a moment, otherwise wait for that command to finish`,
        );
      }
    },
    close: async () => undefined,
  };
}

/** Applies what was just stored to the read models, as the runtime would on its next start. */
async function catchUp(store: EventStore, dataDir: string, projections: readonly Projection[]): Promise<void> {
  const host = new ProjectionHost({ store, projections, dataDir });
  try {
    await host.start();
    const head = await store.headPosition();
    // A projection failed earlier stays stopped until rebuilt; waiting on it would never end.
    const failed = new Set((await host.entries()).filter((entry) => entry.status === 'failed').map((entry) => entry.name));
    for (const projection of projections) {
      if (failed.has(projection.name)) continue;
      await host.whenBuilt(projection.name);
      await host.waitFor(projection.name, head);
    }
  } finally {
    await host.stop();
  }
}
