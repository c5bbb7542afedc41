/**
 * `ledgerclaw events …`: read-only views of the event store (export, import and migrate,
 * which move its contents, are in events-transfer-commands.ts). Events are shown as stored
 * (no upcasting, `type vN` is the stored version): this is the audit view, and what the
 * hash chain covers.
 */
import { Command, Option } from 'commander';
import { EventStoreDbBackend } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventFilter, EventStore, StreamInfo } from '../../events/port.js';
import { handleEach } from '../../events/subscription.js';
import { describeBrokenLink, verifyHashChains } from '../../events/verify.js';
import { chainCheckpointPath, readChainCheckpoint } from '../chain-checkpoint.js';
import type { Config } from '../config.js';
import { eventsDbPath } from '../open-store.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { eventAsJsonLine, eventLine, streamAsJsonLine, streamEventsTable, streamsTable } from './event-format.js';
import { registerEventsTransferCommands } from './events-transfer-commands.js';
import { CommandFailedError, ExitCode } from './exit-codes.js';
import type { CliIo, ShutdownSignal } from './io.js';
import { collect, parseCount, parseEventType, parseRevision, parseStreamId, parseStreamPrefix } from './option-values.js';
import { waitForReader, withReader } from './reader.js';

const PAGE_SIZE = 1_000;
const DEFAULT_TAIL_LIMIT = 20;

interface StreamsOptions {
  readonly prefix?: string;
  readonly json?: boolean;
}

interface ReadOptions {
  readonly from?: bigint;
  readonly limit?: number;
  readonly json?: boolean;
}

interface TailOptions {
  readonly follow?: boolean;
  readonly type?: string[];
  readonly limit: number;
  readonly json?: boolean;
}

export function registerEventsCommands(program: Command, context: CommandContext): void {
  const events = program
    .command('events')
    .description('inspect the event store (read-only: works while `ledgerclaw start` runs), and export, import or migrate it');

  events
    .command('streams')
    .description('list streams with the revision and time of their last event')
    .addOption(new Option('--prefix <prefix>', 'only streams whose name starts with <prefix>').argParser(parseStreamPrefix))
    .option('--json', 'one JSON object a stream (NDJSON)')
    .action(action(context, (options: StreamsOptions, command: Command) => streams(context.io, command, options)));

  events
    .command('read')
    .description("print one stream's events as stored (the audit view)")
    .argument('<stream>', "stream name, for example 'runtime' or 'task-42'", parseStreamId)
    .addOption(new Option('--from <revision>', 'first revision to print (the first event is 0)').argParser(parseRevision))
    .addOption(new Option('--limit <count>', 'print at most <count> events').argParser(parseCount))
    .option('--json', 'one JSON object an event (NDJSON), with the full envelope including prevHash, hashVersion and hash')
    .action(action(context, (stream: string, options: ReadOptions, command: Command) => read(context.io, command, stream, options)));

  events
    .command('tail')
    .description('print the newest events of all streams; --follow keeps printing new ones')
    .option('-f, --follow', 'keep printing events as they are appended, until Ctrl-C')
    .addOption(
      new Option('--type <type>', 'only events of this type, for example runtime.started (repeatable)').argParser(
        collect(parseEventType),
      ),
    )
    .addOption(new Option('--limit <count>', 'how many past events to print first').argParser(parseCount).default(DEFAULT_TAIL_LIMIT))
    .option('--json', 'one JSON object an event (NDJSON)')
    .action(action(context, (options: TailOptions, command: Command) => tail(context.io, command, options)));

  events
    .command('verify')
    .description('walk every hash chain over the whole store; exit 1 naming the first broken link, or when there is no store')
    .action(action(context, (_options: unknown, command: Command) => verify(context.io, command)));

  registerEventsTransferCommands(events, context);
}

async function streams(io: CliIo, command: Command, options: StreamsOptions): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, io);
  const found = await withReader(config, async (opened) => {
    if (!opened) return [];
    const all: StreamInfo[] = [];
    for (let after: string | undefined; ; ) {
      const page = await opened.store.listStreams({
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        ...(after === undefined ? {} : { after }),
        limit: PAGE_SIZE,
      });
      all.push(...page);
      if (page.length < PAGE_SIZE) return all;
      after = page[page.length - 1]!.streamId;
    }
  });
  io.stdout.write(options.json ? found.map(streamAsJsonLine).join('') : streamsTable(found));
  return ExitCode.ok;
}

async function read(io: CliIo, command: Command, stream: string, options: ReadOptions): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, io);
  const printed = await withReader(config, async (opened) => {
    if (!opened) return 0;
    let from = options.from ?? 0n;
    let count = 0;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    while (count < limit) {
      const page = await opened.store.readStream(stream, { from, maxCount: Math.min(PAGE_SIZE, limit - count), upcast: false });
      if (page.length === 0) break;
      if (options.json) {
        io.stdout.write(page.map(eventAsJsonLine).join(''));
      } else {
        // The header only once: a long stream is printed a page at a time.
        const table = streamEventsTable(page);
        io.stdout.write(count === 0 ? table : table.slice(table.indexOf('\n') + 1));
      }
      count += page.length;
      from = page[page.length - 1]!.revision + 1n;
    }
    if (count === 0 && options.from !== undefined) {
      const head = await opened.store.streamRevision(stream);
      if (head !== null) {
        throw new CommandFailedError(`stream ${stream} has no events from revision ${options.from} (its last is ${head})`);
      }
    }
    return count;
  });
  if (printed === 0) throw new CommandFailedError(`stream ${stream} has no events`);
  return ExitCode.ok;
}

async function tail(io: CliIo, command: Command, options: TailOptions): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, io);
  const filter: EventFilter | undefined = options.type ? { eventTypes: options.type } : undefined;
  const print = (event: StoredEvent): void => {
    io.stdout.write(options.json ? eventAsJsonLine(event) : eventLine(event));
  };

  if (!options.follow) {
    await withReader(config, async (opened) => {
      if (opened) await printNewest(opened.store, options.limit, filter, print);
    });
    return ExitCode.ok;
  }

  const shutdown = io.watchShutdown();
  try {
    await follow(config, options.limit, filter, print, shutdown.received);
  } finally {
    shutdown.stop();
  }
  return ExitCode.ok;
}

/** Prints the newest events, then every new one, until a shutdown signal. */
async function follow(
  config: Config,
  limit: number,
  filter: EventFilter | undefined,
  print: (event: StoredEvent) => void,
  shutdown: Promise<ShutdownSignal>,
): Promise<void> {
  let received: ShutdownSignal | undefined;
  void shutdown.then((signal) => {
    received = signal;
  });
  // Following a data directory the runtime has not created yet waits for it.
  const opened = await waitForReader(config, () => received !== undefined);
  if (!opened) return;
  try {
    const head = await printNewest(opened.store, limit, filter, print);
    await new Promise<void>((resolve, reject) => {
      const subscription = opened.store
        .subscribe({ fromPosition: head, upcast: false, ...(filter ? { filter } : {}) })
        .pipe(handleEach(print))
        .subscribe({ error: reject, complete: resolve });
      void shutdown.then(() => {
        subscription.unsubscribe();
        resolve();
      });
    });
  } finally {
    await opened.close();
  }
}

/**
 * Prints the newest `limit` events matching `filter`, oldest first, and returns the head
 * position they were read at: following from there misses nothing and repeats nothing.
 */
async function printNewest(
  store: EventStore,
  limit: number,
  filter: EventFilter | undefined,
  print: (event: StoredEvent) => void,
): Promise<bigint> {
  const head = await store.headPosition();
  if (head === 0n) return head;
  const newestFirst = await store.readAll({
    fromPosition: head,
    direction: 'backwards',
    maxCount: limit,
    upcast: false,
    ...(filter ? { filter } : {}),
  });
  for (const event of newestFirst.reverse()) print(event);
  return head;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

async function verify(io: CliIo, command: Command): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, io);
  // Progress is for a person watching; redirected stderr (logs, CI) stays clean.
  const showProgress = io.stderr.isTTY === true;
  // Where `start` last verified to: the store must still hold what it saw there.
  const remembered = await readChainCheckpoint(config.dataDir);
  if (remembered.kind === 'unreadable') {
    io.stderr.write(`ledgerclaw: ignoring ${chainCheckpointPath(config.dataDir)} (${remembered.reason}); the next start verifies the whole store\n`);
  }
  const result = await withReader(config, async (opened) => {
    // Nothing to verify is not "intact": a wrong --data would otherwise look like a clean bill.
    if (!opened) throw new CommandFailedError(`there is no event store at ${eventsDbPath(config)}: nothing to verify (is --data right?)`);
    const chains = await verifyHashChains(opened.backend, {
      ...(remembered.kind === 'found' ? { remembered: remembered.remembered.checkpoint } : {}),
      ...(showProgress
        ? {
            onProgress: (checked: number, position: bigint, head: bigint) =>
              io.stderr.write(`\rverifying hash chains: ${plural(checked, 'event')} (position ${position} of ${head})`),
          }
        : {}),
    });
    // EventStoreDB cannot refuse a write from a runtime that lost its lease; the fence each
    // event carries shows it afterwards, even where the chain is whole.
    const staleFences = opened.backend instanceof EventStoreDbBackend ? await opened.backend.staleFenceWrites() : [];
    return { chains, staleFences };
  });
  if (showProgress) io.stderr.write('\r\x1b[K');
  const { chains, staleFences } = result;
  if (!chains.ok) {
    io.stdout.write(`hash chain broken ${describeBrokenLink(chains)}\n`);
    return ExitCode.failure;
  }
  io.stdout.write(`hash chains intact: ${plural(chains.events, 'event')} in ${plural(chains.streams, 'stream')}\n`);
  if (staleFences.length === 0) return ExitCode.ok;
  io.stdout.write(
    `${plural(staleFences.length, 'event')} written under a lease already lost (a fencing token older than one before it in $all): ` +
      'a runtime went on writing after another took over\n',
  );
  for (const stale of staleFences.slice(0, STALE_FENCES_SHOWN)) {
    io.stdout.write(`  ${stale.streamId}@${stale.revision} (position ${stale.position}): fence ${stale.fence}, after fence ${stale.newerFence}\n`);
  }
  if (staleFences.length > STALE_FENCES_SHOWN) io.stdout.write(`  … and ${staleFences.length - STALE_FENCES_SHOWN} more\n`);
  return ExitCode.failure;
}

/** Enough stale writes to find the episode; the rest are counted. */
const STALE_FENCES_SHOWN = 20;
