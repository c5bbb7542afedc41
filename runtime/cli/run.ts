/**
 * Runs the CLI once and decides the exit status. Nothing here calls `process.exit`, so
 * the whole CLI can run inside a test.
 */
import { CommanderError } from 'commander';
import { readModelProjections } from '../../projections/index.js';
import type { Projection } from '../../projections/projection.js';
import { ConfigError } from '../config.js';
import { redactCredentials } from '../redaction.js';
import { registeredActors, type ActorSetup, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';
import { buildProgram, PROGRAM_NAME } from './program.js';

/** Commander's codes for output the user asked for, which is success. */
const REQUESTED_OUTPUT = new Set(['commander.helpDisplayed', 'commander.version']);

export interface RunOptions {
  /** The registered kinds and catalogue unless given: tests pass a test kind's. */
  readonly actors?: ActorSetup;
  /** The registered projections unless given. */
  readonly readModels?: readonly Projection[];
}

export async function runCli(argv: readonly string[], io: CliIo, options: RunOptions = {}): Promise<ExitCode> {
  const context: CommandContext = {
    io,
    actors: options.actors ?? registeredActors,
    readModels: options.readModels ?? readModelProjections,
    exitCode: ExitCode.ok,
  };
  const program = buildProgram(context);
  // Error messages can carry what came from outside (a value, a URL, a driver's text).
  const fail = (message: string) => io.stderr.write(redactCredentials(message));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the message (or the help it fell back to).
      return REQUESTED_OUTPUT.has(error.code) ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof ConfigError || error instanceof UsageError) {
      fail(`${PROGRAM_NAME}: ${error.message}\nsee '${PROGRAM_NAME} --help'\n`);
      return ExitCode.usage;
    }
    if (error instanceof CommandFailedError) {
      fail(`${PROGRAM_NAME}: ${error.message}\n`);
      return ExitCode.failure;
    }
    fail(`${PROGRAM_NAME}: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  }
}
