/**
 * What every command action gets: the CLI's IO, a place to put its exit code, and the
 * configuration built from the global options, the environment and the config file.
 */
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config.js';
import type { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

export interface CommandContext {
  readonly io: CliIo;
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
