/**
 * `ledgerclaw actors …`: persisted actors as the event store holds them, loaded through a
 * read-only actor host (snapshot, then the rest of the stream; no effects), beside what the
 * running runtime reports holding in memory. Works while `ledgerclaw start` runs.
 */
import { Command, Option } from 'commander';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import type { AnyActorKind } from '../../actors/actor-kind.js';
import { kindOfStream } from '../../actors/index.js';
import type { EventStore } from '../../events/port.js';
import type { ActorHost } from '../actor-host/actor-host.js';
import { openActorRuntime } from '../actor-runtime.js';
import { actorAsJsonLine, actorsTable, type ListedActor } from './actor-format.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { readLiveActors, type LiveActors } from './live-actors-reader.js';
import { kindNameParser, parseStateName } from './option-values.js';
import { withReader } from './reader.js';

const PAGE_SIZE = 500;
/** Actors loaded at once: enough to overlap SQLite reads, few enough to stay gentle on a busy store. */
const LOAD_CONCURRENCY = 8;

interface ListOptions {
  readonly kind?: string;
  readonly state?: string;
  readonly json?: boolean;
}

export function registerActorsCommands(program: Command, context: CommandContext): void {
  const actors = program.command('actors').description('inspect persisted actors (read-only: works while `ledgerclaw start` runs)');

  actors
    .command('list')
    .description('list persisted actors: kind, id, state, revision, last event time, and whether the runtime holds them in memory')
    .addOption(
      new Option('--kind <kind>', 'only actors of this kind').argParser(kindNameParser(context.actors.kinds.map((kind) => kind.kind))),
    )
    .addOption(
      new Option('--state <state>', 'only actors in this state; a parent state matches its children (running matches running.waiting)').argParser(
        parseStateName,
      ),
    )
    .option('--json', 'one JSON object an actor (NDJSON)')
    .action(action(context, (options: ListOptions, command: Command) => list(context, command, options)));
}

/** Every state of a machine by its dotted path: `open`, `running`, `running.waiting`. */
function statePaths(machine: AnyStateMachine): string[] {
  const paths: string[] = [];
  const visit = (node: AnyStateNode): void => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      paths.push(child.path.join('.'));
      visit(child);
    }
  };
  visit(machine.root);
  return paths;
}

/** `state` is a description from describeState: one dotted path per active region. */
function isInState(state: string, wanted: string): boolean {
  return state.split(', ').some((path) => path === wanted || path.startsWith(`${wanted}.`));
}

/** A --state no listed kind has is a mistake worth saying, not an empty list. */
function checkStateName(command: Command, kinds: readonly AnyActorKind[], state: string): void {
  if (kinds.length === 0) return;
  const byKind = kinds.map((kind) => ({ kind: kind.kind, states: statePaths(kind.machine) }));
  if (byKind.some(({ states }) => states.includes(state))) return;
  const known = byKind.map(({ kind, states }) => `${kind}: ${states.join(', ')}`).join('; ');
  command.error(`option '--state <state>' argument '${state}' is invalid. no actor kind listed has that state (${known})`);
}

async function list(context: CommandContext, command: Command, options: ListOptions): Promise<ExitCode> {
  const { io, actors } = context;
  const { config } = loadCommandConfig(command, io);
  const kinds = options.kind === undefined ? actors.kinds : actors.kinds.filter((kind) => kind.kind === options.kind);
  if (options.state !== undefined) checkStateName(command, kinds, options.state);

  const live = await readLiveActors(config.dataDir);
  const liveStreams = live.status === 'running' ? live.streamIds : new Set<string>();
  const found = await withReader(
    config,
    async (opened) => {
      if (!opened) return [];
      const runtime = await openActorRuntime({ store: opened.store, config, readOnly: true, kinds: actors.kinds });
      try {
        const listed: ListedActor[] = [];
        for (const kind of kinds) listed.push(...(await loadKind(runtime.host, opened.store, kind, actors.kinds, liveStreams)));
        return listed;
      } finally {
        await runtime.close();
      }
    },
    { catalogue: actors.catalogue },
  );
  const shown = options.state === undefined ? found : found.filter((actor) => isInState(actor.state, options.state!));

  reportLiveFileProblem(io, live);
  if (options.json) {
    io.stdout.write(shown.map(actorAsJsonLine).join(''));
  } else {
    io.stdout.write(actorsTable(shown));
    io.stdout.write(`${liveNote(live)}\n`);
  }
  return ExitCode.ok;
}

/** Every stream of `kind`, loaded. */
async function loadKind(
  host: ActorHost,
  store: EventStore,
  kind: AnyActorKind,
  allKinds: readonly AnyActorKind[],
  liveStreams: ReadonlySet<string>,
): Promise<ListedActor[]> {
  const listed: ListedActor[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.listStreams({ prefix: kind.kind, ...(after === undefined ? {} : { after }), limit: PAGE_SIZE });
    // The prefix `run` also finds `runtime` and `runner-…`: only this kind's own streams count.
    const own = page.flatMap((stream) => {
      const owner = kindOfStream(stream.streamId, allKinds);
      return owner?.kind === kind ? [{ stream, id: owner.id }] : [];
    });
    for (let start = 0; start < own.length; start += LOAD_CONCURRENCY) {
      const loaded = await Promise.all(
        own.slice(start, start + LOAD_CONCURRENCY).map(async ({ stream, id }): Promise<ListedActor> => {
          const view = await host.load(kind.kind, id);
          return {
            kind: kind.kind,
            id,
            streamId: stream.streamId,
            state: view.state,
            revision: view.revision,
            lastRecordedAt: stream.lastRecordedAt,
            live: liveStreams.has(stream.streamId),
          };
        }),
      );
      listed.push(...loaded);
    }
    if (page.length < PAGE_SIZE) return listed;
    after = page[page.length - 1]!.streamId;
  }
}

function liveNote(live: LiveActors): string {
  switch (live.status) {
    case 'running':
      return `LIVE: in the memory of the runtime, pid ${live.pid} on ${live.hostname}, as of ${live.updatedAt}`;
    case 'not_running':
    case 'stale':
      return 'LIVE: no runtime is running on this data directory';
    case 'unreadable':
      return 'LIVE: unknown (the runtime’s live-actors file could not be read)';
  }
}

function reportLiveFileProblem(io: CliIo, live: LiveActors): void {
  if (live.status === 'unreadable') io.stderr.write(`ledgerclaw: ignoring ${live.path}: ${live.detail}\n`);
}
