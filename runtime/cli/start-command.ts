/**
 * `ledgerclaw start`: the main job. It parses the options and prints the banner; the runtime
 * itself, from taking the data directory to recording that it stopped, is
 * runtime/run-runtime.ts. `chat` runs the same runtime with a session (chat-command.ts).
 */
import { Option, type Command } from 'commander';
import { leaseLine } from '../lease/lease-lines.js';
import { LeaseLostError } from '../lease/runtime-lease.js';
import { runRuntime } from '../run-runtime.js';
import type { RuntimeSession } from '../runtime-session.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { ExitCode } from './exit-codes.js';
import { parsePort } from './option-values.js';
import { banner } from './start-banner.js';

export const DEFAULT_INSPECT_PORT = 8080;

export interface StartOptions {
  readonly inspect?: boolean;
  readonly inspectPort: number;
  /** Start without checking the hash chains: forensics on a store that fails the check. */
  readonly skipVerify?: boolean;
}

export function registerStartCommand(program: Command, context: CommandContext): void {
  program
    .command('start')
    .description("run the runtime until Ctrl-C or SIGTERM (the data directory's only writer)")
    .option('--inspect', 'show the actors live in the Stately inspector, a local web page (its UI loads from stately.ai)')
    .addOption(
      new Option('--inspect-port <port>', 'the port of the inspector page (implies --inspect)')
        .argParser(parsePort)
        .default(DEFAULT_INSPECT_PORT)
        .implies({ inspect: true }),
    )
    .option('--skip-verify', 'start without checking the hash chains first (forensics only: warns loudly, and leaves the verified position where it was)')
    .action(action(context, (options: StartOptions, command: Command) => startRuntime(context, command, options)));
}

/**
 * Runs the runtime until a signal, or until `session` ends: `start` has none; `chat` is a
 * session (a terminal conversation) over the same runtime.
 */
export async function startRuntime(context: CommandContext, command: Command, options: StartOptions, session?: RuntimeSession): Promise<ExitCode> {
  const { io, actors } = context;
  const { config, configFile } = loadCommandConfig(command, io);
  // Listen before opening anything, so a signal during startup still ends in an orderly stop.
  const shutdown = io.watchShutdown();
  try {
    await runRuntime({
      config,
      configFile,
      kinds: actors.kinds,
      catalogue: actors.catalogue,
      readModels: context.readModels,
      inspectPort: options.inspect ? options.inspectPort : undefined,
      skipVerify: options.skipVerify === true,
      session,
      shutdown: shutdown.received,
      env: io.env,
      cwd: io.cwd,
      announce: (facts) => io.stdout.write(banner(io, config, facts)),
      warn: (line) => io.stderr.write(line),
      leaseNews: (news) => io.stdout.write(leaseLine(news)),
    });
  } catch (error) {
    if (!(error instanceof LeaseLostError)) throw error;
    io.stderr.write(`ledgerclaw: stopped: ${error.message}; restart it to stand by\n`);
    return ExitCode.leaseLost;
  } finally {
    shutdown.stop();
  }
  return ExitCode.ok;
}
