/**
 * `ledgerclaw replay <stream>`: an actor's stream folded event by event through its
 * machine, showing what each event did to the state and the context; `--to` stops at a
 * revision and shows the actor exactly as it was then. Read-only, and it never runs an
 * effect: the effects a transition asked for are listed, nothing more.
 */
import { Command, Option } from 'commander';
import { kindOfStream } from '../../actors/index.js';
import { replay } from '../../actors/replay.js';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';
import { replayFinalAsJsonLine, replayFinalBlock, replayStepAsJsonLine, replayStepBlock } from './actor-format.js';
import { action, knownKindsText, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode } from './exit-codes.js';
import { parseRevision, parseStreamId } from './option-values.js';
import { withReader } from './reader.js';

const PAGE_SIZE = 1_000;

interface ReplayOptions {
  readonly to?: bigint;
  readonly json?: boolean;
}

export function registerReplayCommand(program: Command, context: CommandContext): void {
  program
    .command('replay')
    .description("fold an actor's stream event by event, showing the state and context changes each caused (read-only)")
    .argument('<stream>', "an actor's stream, for example task-42", parseStreamId)
    .addOption(new Option('--to <revision>', 'stop after this revision: the actor exactly as it was then').argParser(parseRevision))
    .option('--json', 'one JSON object a step (NDJSON), then one with the final state')
    .action(
      action(context, (stream: string, options: ReplayOptions, command: Command) => replayStream(context, command, stream, options)),
    );
}

async function replayStream(context: CommandContext, command: Command, streamId: string, options: ReplayOptions): Promise<ExitCode> {
  const { io, actors } = context;
  const { config } = loadCommandConfig(command, io);
  const owner = kindOfStream(streamId, actors.kinds);
  if (!owner) throw new CommandFailedError(`stream ${streamId} belongs to no actor kind (${knownKindsText(actors)})`);

  const { events, lastRevision } = await withReader(
    config,
    async (opened) => (opened ? readUpTo(opened.store, streamId, options.to) : { events: [], lastRevision: null }),
    { catalogue: actors.catalogue },
  );
  if (lastRevision === null) throw new CommandFailedError(`stream ${streamId} has no events`);
  if (options.to !== undefined && options.to > lastRevision) {
    throw new CommandFailedError(`stream ${streamId} has no revision ${options.to} (its last is ${lastRevision})`);
  }

  const result = replay(owner.kind, owner.id, events, options.to === undefined ? {} : { to: options.to });
  const address = { kind: owner.kind.kind, id: owner.id, streamId };
  if (options.json) {
    io.stdout.write(result.steps.map(replayStepAsJsonLine).join('') + replayFinalAsJsonLine(address, result.final, lastRevision));
  } else {
    io.stdout.write(result.steps.map(replayStepBlock).join('') + replayFinalBlock(streamId, result.final, lastRevision));
  }
  return ExitCode.ok;
}

/** The stream from its first event up to `to` (or its end), and its last revision. */
async function readUpTo(
  store: EventStore,
  streamId: string,
  to: bigint | undefined,
): Promise<{ events: StoredEvent[]; lastRevision: bigint | null }> {
  const lastRevision = await store.streamRevision(streamId);
  const events: StoredEvent[] = [];
  // Past the end there is nothing to show; the caller says so.
  if (lastRevision === null || (to !== undefined && to > lastRevision)) return { events, lastRevision };
  const end = to ?? lastRevision;
  for (let from = 0n; from <= end; ) {
    const page = await store.readStream(streamId, { from, maxCount: Math.min(PAGE_SIZE, Number(end - from) + 1) });
    if (page.length === 0) break;
    events.push(...page);
    from = page[page.length - 1]!.revision + 1n;
  }
  return { events, lastRevision };
}
