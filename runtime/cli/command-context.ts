/**
 * What every command action gets: the CLI's IO, a place to put its exit code, the actor
 * kinds and event catalogue it works with, and the configuration built from the global
 * options, the environment and the config file.
 */
import type { Command } from 'commander';
import type { AnyActorKind } from '../../actors/actor-kind.js';
import { actorKinds } from '../../actors/index.js';
import type { EventCatalogue } from '../../events/catalogue.js';
import { catalogue } from '../../events/catalogue/index.js';
import type { Projection } from '../../projections/projection.js';
import { loadConfig, type LoadedConfig } from '../config.js';
import type { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/**
 * The actor kinds the commands know and the catalogue their events are read with. Always
 * the registries (actors/index.ts, events/catalogue/index.ts), except in tests that run the
 * CLI in-process on actors of a test kind.
 */
export interface ActorSetup {
  readonly kinds: readonly AnyActorKind[];
  readonly catalogue: EventCatalogue;
}

export const registeredActors: ActorSetup = { kinds: actorKinds, catalogue };

/** For messages about a kind that is not one: `known kinds: task, run`. */
export function knownKindsText(actors: ActorSetup): string {
  return actors.kinds.length === 0 ? 'no actor kinds are registered' : `known kinds: ${actors.kinds.map((kind) => kind.kind).join(', ')}`;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly actors: ActorSetup;
  /** The read models the runtime maintains: the registry (projections/index.ts) but in tests. */
  readonly readModels: readonly Projection[];
  /** Set by the action that ran; commander itself knows nothing about exit codes of actions. */
  exitCode: ExitCode;
}

export interface GlobalOptions {
  readonly data?: string;
  readonly config?: string;
}

export function loadCommandConfig(command: Command, io: CliIo): LoadedConfig {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return loadConfig({ flags: { data: globals.data, config: globals.config }, env: io.env, cwd: io.cwd });
}

/** Wraps a command implementation so its exit code reaches `runCli`. */
export function action<TArgs extends unknown[]>(
  context: CommandContext,
  run: (...args: TArgs) => Promise<ExitCode>,
): (...args: TArgs) => Promise<void> {
  return async (...args) => {
    context.exitCode = await run(...args);
  };
}
