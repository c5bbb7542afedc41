/**
 * `ledgerclaw start`: the main job. It takes the data directory as its writer, records on
 * the `runtime` stream that it started (and whether the run before it ended cleanly), and
 * runs until SIGINT or SIGTERM, when it records that it stopped. The Slack channel, the
 * scheduler and the supervisor join this command in later issues.
 */
import { hostname } from 'node:os';
import { basename, relative } from 'node:path';
import type { Command } from 'commander';
import { runtimeStarted, runtimeStopped, RUNTIME_STREAM } from '../../events/catalogue/runtime.js';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { eventsDbPath, openEventStore } from '../open-store.js';
import { ledgerclawVersion } from '../version.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo, ShutdownSignal } from './io.js';

export type PreviousShutdown = 'first_start' | 'clean' | 'unclean';

/** How the previous run ended, judged from the last event on the `runtime` stream. */
export function previousShutdownFrom(last: StoredEvent | undefined): PreviousShutdown {
  if (!last) return 'first_start';
  // A run that recorded its start but not its stop was killed or crashed.
  return last.type === runtimeStopped.type ? 'clean' : 'unclean';
}

const PREVIOUS_SHUTDOWN_TEXT: Record<PreviousShutdown, string> = {
  first_start: 'none: this is the first start in this data directory',
  clean: 'stopped cleanly',
  unclean: 'did not stop cleanly (crashed or was killed); picking up from the stored events',
};

export function registerStartCommand(program: Command, context: CommandContext): void {
  program
    .command('start')
    .description("run the runtime until Ctrl-C or SIGTERM (the data directory's only writer)")
    .action(action(context, (_options: unknown, command: Command) => start(context.io, command)));
}

/** How to run the CLI again, as this process was run: the bin, or `node dist/…/main.js`. */
function cliInvocation(io: CliIo): string {
  const script = process.argv[1];
  if (script && basename(script) === 'main.js') return `node ${relative(io.cwd, script) || script}`;
  return 'ledgerclaw';
}

function banner(io: CliIo, config: Config, durability: string, previous: PreviousShutdown): string {
  const cli = cliInvocation(io);
  return [
    `ledgerclaw ${ledgerclawVersion()} started`,
    `  data directory    ${config.dataDir}`,
    `  event store       ${eventsDbPath(config)} (sqlite)`,
    `  durability        synchronous=${durability}`,
    `  pid               ${process.pid}`,
    `  previous run      ${PREVIOUS_SHUTDOWN_TEXT[previous]}`,
    '',
    `Watch events from another terminal: ${cli} events tail --follow --data ${config.dataDir}`,
    'Stop with Ctrl-C or SIGTERM.',
    '',
  ].join('\n');
}

interface RecordedStart {
  readonly previousShutdown: PreviousShutdown;
  /** The `runtime` stream's revision after runtime.started: where runtime.stopped goes. */
  readonly revision: bigint;
  readonly at: number;
}

/** Appends runtime.started, decided on the stream's last event. */
async function recordStart(store: EventStore, config: Config): Promise<RecordedStart> {
  const [last] = await store.readStream(RUNTIME_STREAM, { from: 'end', direction: 'backwards', maxCount: 1 });
  const previousShutdown = previousShutdownFrom(last);
  const at = Date.now();
  const result = await store.append(
    RUNTIME_STREAM,
    [
      runtimeStarted.create({
        pid: process.pid,
        hostname: hostname(),
        ledgerclawVersion: ledgerclawVersion(),
        nodeVersion: process.version,
        eventStore: config.eventStore.backend,
        previousShutdown,
      }),
    ],
    // Decided on what was read: a second writer slipping past the lock would conflict here.
    { expectedRevision: last ? last.revision : 'no_stream' },
  );
  return { previousShutdown, revision: result.nextExpectedRevision, at };
}

async function recordStop(store: EventStore, started: RecordedStart, signal: ShutdownSignal): Promise<void> {
  await store.append(
    RUNTIME_STREAM,
    [runtimeStopped.create({ pid: process.pid, reason: 'signal', signal, uptimeMs: Date.now() - started.at })],
    { expectedRevision: started.revision },
  );
}

async function start(io: CliIo, command: Command): Promise<ExitCode> {
  const { config, configFile } = loadCommandConfig(command, io);
  const logger = createLogger({ level: config.log.level });
  // Listen before opening anything, so a signal during startup still ends in an orderly stop.
  const shutdown = io.watchShutdown();
  try {
    const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'ledgerclaw start' });
    try {
      const started = await recordStart(opened.store, config);
      io.stdout.write(banner(io, config, opened.backend.durability, started.previousShutdown));
      logger.info(
        {
          dataDir: config.dataDir,
          configFile,
          eventStore: { backend: config.eventStore.backend, path: opened.backend.location, durability: opened.backend.durability },
          previousShutdown: started.previousShutdown,
        },
        'runtime started',
      );
      const signal = await shutdown.received;
      logger.info({ signal }, 'shutting down');
      await recordStop(opened.store, started, signal);
    } finally {
      await opened.close();
    }
  } finally {
    shutdown.stop();
  }
  logger.info('runtime stopped');
  return ExitCode.ok;
}
