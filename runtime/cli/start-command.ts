/**
 * `ledgerclaw start`: the main job. It takes the data directory as its writer, checks the
 * hash chains written since its last check (runtime/verify-on-start.ts), records on
 * the `runtime` stream that it started (and whether the run before it ended cleanly), runs
 * the actor host (resuming the effects actors' states say are owed), reports its live
 * actors for `actors list`, optionally feeds the Stately inspector, runs the scheduler, and,
 * with Slack tokens set, the Slack app, until SIGINT or SIGTERM, when it records that it
 * stopped.
 */
import { hostname } from 'node:os';
import { basename, join, relative } from 'node:path';
import { Option, type Command } from 'commander';
import { runtimeStarted, runtimeStopped, RUNTIME_STREAM } from '../../events/catalogue/runtime.js';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';
import { openActorRuntime, SNAPSHOTS_DB_FILE } from '../actor-runtime.js';
import { createActorWiring } from '../actor-wiring.js';
import type { Config } from '../config.js';
import type { ActorHost } from '../actor-host/actor-host.js';
import { SUPERVISOR_ID, type SupervisorContext } from '../../actors/supervisor.js';
import { conversationEffects, loggedChannel, routedChannel, type ConversationChannel } from '../channels/conversation-channel.js';
import { approvalButtons } from '../channels/slack/approval-buttons.js';
import { InteractionRouter } from '../channels/slack/interactions.js';
import { checkSlackAuth, openSlackApp, type RunningSlackApp, type SlackBot } from '../channels/slack/slack-app.js';
import { slackTokensFromEnv, slackWanted, type SlackTokens } from '../channels/slack/slack-tokens.js';
import { statusText } from '../channels/slack/status-text.js';
import { ReadModelReaders } from '../gateways/host-tools/read-model-readers.js';
import type { GroupContext } from '../../actors/group.js';
import { openAgentRuns, type AgentRuns } from '../runs/agent-runs.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { startInspector, type RunningInspector } from '../inspector.js';
import type { Projection } from '../../projections/projection.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { ConsolidationTrigger } from '../consolidation-trigger.js';
import { knowledgeProjections, startKnowledgeSyncLoop } from '../knowledge/sources.js';
import { LiveActorsFileWriter } from '../live-actors-file.js';
import { openRuntimeControl } from '../control/runtime-control.js';
import { adminNoticeEffects } from '../scheduler/admin-notice.js';
import { openScheduler, type RunningScheduler } from '../scheduler/open-scheduler.js';
import { tasksAwaitingRuns } from '../scheduler/pending-task-runs.js';
import { groupsAwaitingEffects } from '../channels/pending-group-effects.js';
import { createLogger, type Logger } from '../logger.js';
import { redactCredentials } from '../redaction.js';
import { eventsDbPath, openEventStore, type OpenedEventStore } from '../open-store.js';
import { ledgerclawVersion } from '../version.js';
import { verifyStoreOnStart } from '../verify-on-start.js';
import { action, loadCommandConfig, type ActorSetup, type CommandContext } from './command-context.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo, ShutdownSignal } from './io.js';
import { parsePort } from './option-values.js';

export const DEFAULT_INSPECT_PORT = 8080;

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

interface StartOptions {
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
    .action(action(context, (options: StartOptions, command: Command) => start(context, command, options)));
}

/** How to run the CLI again, as this process was run: the bin, or `node dist/…/main.js`. */
function cliInvocation(io: CliIo): string {
  const script = process.argv[1];
  if (script && basename(script) === 'main.js') return `node ${relative(io.cwd, script) || script}`;
  return 'ledgerclaw';
}

export interface BannerFacts {
  readonly durability: string;
  readonly previous: PreviousShutdown;
  readonly kinds: readonly string[];
  readonly resumedEffects: number;
  readonly inspector: RunningInspector | undefined;
  readonly sandbox: Sandbox;
  /** Null when model calls can be made; otherwise what to set. */
  readonly modelUnavailable: string | null;
  /** The Slack connection, or null when no Slack tokens are set. */
  readonly slack: RunningSlackApp | null;
  readonly slackMode: string;
  /** The scheduler's state: tasks on its clock, off by config, or why it could not start. */
  readonly scheduler: { readonly armedTasks: number } | 'off' | { readonly failed: string };
}

function schedulerLine(scheduler: BannerFacts['scheduler']): string {
  if (scheduler === 'off') return 'OFF (scheduler.enabled = false): tasks are recorded but never fire';
  if ('failed' in scheduler) return `NOT RUNNING: ${scheduler.failed}; tasks do not fire until a restart (see \`ledgerclaw projections list\`)`;
  return `${scheduler.armedTasks} active task${scheduler.armedTasks === 1 ? '' : 's'} on the clock`;
}

/** The sandbox line of the banner: weaker isolation is said, not hidden. */
export function sandboxLine(sandbox: Sandbox): string {
  return sandbox.kind === 'docker'
    ? 'Docker containers (no network, read-only root, no capabilities, non-root, limits)'
    : 'PROCESS SANDBOX: weaker isolation than Docker (no daemon answered); bash and other high-risk tools are off';
}

/** The banner with any credential in it (a password in `model.baseUrl`) redacted. */
function banner(io: CliIo, config: Config, facts: BannerFacts): string {
  return redactCredentials(bannerText(io, config, facts));
}

function bannerText(io: CliIo, config: Config, facts: BannerFacts): string {
  const cli = cliInvocation(io);
  const kinds = facts.kinds.length === 0 ? 'no actor kinds registered yet' : `${facts.kinds.length} kinds (${facts.kinds.join(', ')})`;
  return [
    `ledgerclaw ${ledgerclawVersion()} started`,
    `  data directory    ${config.dataDir}`,
    `  event store       ${eventsDbPath(config)} (sqlite)`,
    `  durability        synchronous=${facts.durability}`,
    `  snapshots         ${join(config.dataDir, SNAPSHOTS_DB_FILE)}`,
    `  actors            ${kinds}; ${facts.resumedEffects} pending effect${facts.resumedEffects === 1 ? '' : 's'} resumed`,
    `  pid               ${process.pid}`,
    `  previous run      ${PREVIOUS_SHUTDOWN_TEXT[facts.previous]}`,
    `  runs              ${sandboxLine(facts.sandbox)}`,
    `  scheduler         ${schedulerLine(facts.scheduler)}`,
    `  model             ${facts.modelUnavailable === null ? `${config.agent.model} via ${config.model.baseUrl}` : `NOT CONFIGURED: ${facts.modelUnavailable}`}`,
    ...(facts.slack
      ? [
          `  slack             connected to team ${facts.slack.bot.teamId} as <@${facts.slack.bot.userId}> (${facts.slackMode === 'socket' ? 'Socket Mode' : `HTTP Events API at ${facts.slack.eventsUrl ?? '?'}`})`,
        ]
      : ['  channels          no Slack tokens (SLACK_BOT_TOKEN, SLACK_APP_TOKEN): talk to the assistant locally with:', `                    ${cli} chat --data ${config.dataDir}`]),
    ...(facts.inspector
      ? [
          `  inspector         ${facts.inspector.url}`,
          '',
          `Inspect the actors: open ${facts.inspector.url} in a browser. The page embeds the Stately inspector`,
          'UI from https://stately.ai/inspect, so the browser needs internet access (the runtime does not).',
          `The port listens on every network interface: whoever reaches it can read actor state.`,
        ]
      : []),
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

async function recordStop(store: EventStore, started: RecordedStart, cause: StopCause): Promise<void> {
  await store.append(
    RUNTIME_STREAM,
    [runtimeStopped.create({ pid: process.pid, ...cause, uptimeMs: Date.now() - started.at })],
    { expectedRevision: started.revision },
  );
}

async function start(context: CommandContext, command: Command, options: StartOptions): Promise<ExitCode> {
  return runRuntime(context, command, options);
}

/**
 * Runs the runtime until a signal, or until `session` ends: `start` has none; `chat` is a
 * session (a terminal conversation) over the same runtime.
 */
export async function runRuntime(context: CommandContext, command: Command, options: StartOptions, session?: RuntimeSession): Promise<ExitCode> {
  const { io, actors } = context;
  const { config, configFile } = loadCommandConfig(command, io);
  const logger = createLogger({ level: config.log.level });
  // Listen before opening anything, so a signal during startup still ends in an orderly stop.
  const shutdown = io.watchShutdown();
  try {
    // Before anything is written: a busy port, a missing Slack token or one Slack refuses
    // should stop the start, not half of it.
    const slackTokens = slackWanted(io.env) ? slackTokensFromEnv(io.env, config.slack.mode) : null;
    const slack = slackTokens ? { tokens: slackTokens, bot: await checkSlack(config, slackTokens, logger) } : null;
    const inspector = options.inspect ? await startInspector({ port: options.inspectPort, logger }) : undefined;
    try {
      const opened = await openEventStore(config, {
        mode: 'writer',
        actor: 'runtime',
        command: 'ledgerclaw start',
        catalogue: actors.catalogue,
        // Says so when the data directory was open to other users (it is tightened).
        logger,
      });
      try {
        // Before anything is appended: a broken hash chain stops the start.
        await verifyStoreOnStart({
          backend: opened.backend,
          dataDir: config.dataDir,
          skip: options.skipVerify === true,
          logger,
          warn: (line) => io.stderr.write(line),
        });
        const started = await recordStart(opened.store, config);
        const cause = await runActors({
          session,
          io,
          config,
          configFile,
          opened,
          started,
          actors,
          readModels: context.readModels,
          slack,
          inspector,
          logger,
          shutdown: shutdown.received,
        });
        await recordStop(opened.store, started, cause);
      } finally {
        await opened.close();
      }
    } finally {
      inspector?.stop();
    }
  } finally {
    shutdown.stop();
  }
  logger.info('runtime stopped');
  return ExitCode.ok;
}

/** What a session can use while the runtime runs. */
export interface LiveRuntime {
  readonly host: ActorHost;
  readonly store: EventStore;
  readonly runs: AgentRuns;
  readonly config: Config;
}

/** Something run inside the runtime instead of waiting for a signal (the local chat). */
export interface RuntimeSession {
  /** Where its groups' messages, replies and acknowledgements go. */
  readonly channel: ConversationChannel;
  /** Shows what started, in place of the banner. */
  banner(facts: BannerFacts): void;
  /** Runs until the session is over; the runtime then stops cleanly. */
  run(live: LiveRuntime): Promise<void>;
}

/** What the actors run on: the store is open and the start recorded. */
interface StartedRuntime {
  readonly session: RuntimeSession | undefined;
  readonly io: CliIo;
  readonly config: Config;
  readonly configFile: string | null;
  readonly opened: OpenedEventStore;
  readonly started: RecordedStart;
  readonly actors: ActorSetup;
  readonly readModels: readonly Projection[];
  /** Slack's tokens and who the app is, checked before the start was recorded; null without Slack. */
  readonly slack: SlackConnection | null;
  readonly inspector: RunningInspector | undefined;
  readonly logger: Logger;
  readonly shutdown: Promise<ShutdownSignal>;
}

/** Runs the actor host until a shutdown signal; everything it opened is closed before the store is. */
async function runActors(runtime: StartedRuntime): Promise<StopCause> {
  const { io, config, opened, logger } = runtime;
  // Read models follow $all from their checkpoints; a raised version rebuilds beside the live one.
  const projectionHost = new ProjectionHost({
    store: opened.store,
    projections: [...runtime.readModels, ...knowledgeProjections(config)],
    dataDir: config.dataDir,
    logger,
  });
  let host: ActorHost | undefined;
  const fallbackChannel = runtime.session?.channel ?? loggedChannel(logger);
  // Slack joins once the actor host it feeds is open; effects read the channel when they run.
  let channel = routedChannel([], fallbackChannel);
  const runs = await openAgentRuns({
    config,
    store: opened.store,
    actors: () => {
      if (!host) throw new Error('the actor host is not open yet');
      return host;
    },
    env: io.env,
    // Read at each post: Slack joins the channel after the runs are assembled.
    channel: { post: (message) => channel.post(message) },
    caughtUp: (name, position) => projectionHost.waitFor(name, position),
    logger,
  });
  const actorRuntime = await openActorRuntime({
    store: opened.store,
    config,
    readOnly: false,
    logger,
    kinds: runtime.actors.kinds,
    effects: {
      ...createActorWiring({ retryInterruptedRuns: config.runs.retryInterrupted }),
      ...runs.effects,
      ...conversationEffects(() => channel),
      ...adminNoticeEffects(() => channel, config.scheduler.adminGroup),
    },
  });
  host = actorRuntime.host;
  try {
    await projectionHost.start();
    await configureSupervisor(actorRuntime.host, config);
    const removed = await runs.executor.removeLeftovers();
    if (removed.length > 0) logger.warn({ runs: removed }, 'removed sandboxes a previous runtime process left; their runs end as interrupted');
    // Attached first, so the actors loaded to resume their effects show in the inspector too.
    runtime.inspector?.attach(actorRuntime.host.inspection, { kinds: runtime.actors.kinds });
    const liveActorsFile = await LiveActorsFileWriter.start({ dataDir: config.dataDir, source: actorRuntime.host, logger });
    // `ledgerclaw tasks pause` and the like reach the actor host through it while we run.
    const control = await openRuntimeControl({ dataDir: config.dataDir, actors: actorRuntime.host, logger });
    const knowledgeSync = startKnowledgeSyncLoop(opened.store, config, { env: io.env, cwd: io.cwd, logger });
    const consolidation = new ConsolidationTrigger({ store: opened.store, budgetTokens: config.memory.consolidationBudgetTokens, logger });
    await consolidation.start();
    let scheduler: RunningScheduler | undefined;
    let slack: OpenedSlack | null = null;
    try {
      // Before owed effects resume: a reply owed to a Slack thread needs Slack to be posted.
      slack = runtime.slack && (await openSlack(runtime.slack, { config, host: actorRuntime.host, runs, logger, startedAt: runtime.started.at, schedulerOn: config.scheduler.enabled }));
      if (slack) channel = routedChannel([slack.app.channel], fallbackChannel);
      const candidates = { store: opened.store, caughtUp: (name: string, position: bigint) => projectionHost.waitFor(name, position), dataDir: config.dataDir, logger };
      const resumedEffects = await actorRuntime.host.resumePendingEffects({ task: tasksAwaitingRuns(candidates), group: groupsAwaitingEffects(candidates) });
      logger.info({ resumedEffects }, 'resumed the effects actor states say are owed');
      // After the owed effects: a task whose run is still being asked for is not due again.
      // A scheduler that cannot start (its read model failed, say) leaves conversations running.
      let schedulerFacts: BannerFacts['scheduler'] = 'off';
      if (config.scheduler.enabled) {
        try {
          scheduler = await openScheduler({
            store: opened.store,
            actors: actorRuntime.host,
            caughtUp: (name, position) => projectionHost.waitFor(name, position),
            sandbox: runs.sandbox,
            config,
            logger,
          });
          schedulerFacts = { armedTasks: scheduler.armedTasks };
        } catch (error) {
          logger.error({ err: error }, 'the scheduler could not start: scheduled tasks do not fire until the runtime is restarted');
          schedulerFacts = { failed: error instanceof Error ? error.message : String(error) };
        }
      }
      const facts: BannerFacts = {
        durability: opened.backend.durability,
        previous: runtime.started.previousShutdown,
        kinds: actorRuntime.host.kindNames,
        resumedEffects,
        inspector: runtime.inspector,
        sandbox: runs.sandbox,
        modelUnavailable: runs.model.unavailableReason,
        slack: slack?.app ?? null,
        slackMode: config.slack.mode,
        scheduler: schedulerFacts,
      };
      if (runtime.session) runtime.session.banner(facts);
      else io.stdout.write(banner(io, config, facts));
      logger.info(
        {
          dataDir: config.dataDir,
          configFile: runtime.configFile,
          eventStore: { backend: config.eventStore.backend, path: opened.backend.location, durability: opened.backend.durability },
          previousShutdown: runtime.started.previousShutdown,
          actorKinds: actorRuntime.host.kindNames,
          ...(runtime.inspector ? { inspector: runtime.inspector.url } : {}),
        },
        'runtime started',
      );
      const ended: Promise<StopCause> = runtime.session
        ? runtime.session.run({ host: actorRuntime.host, store: opened.store, runs, config }).then(() => ({ reason: 'requested' as const }))
        : new Promise<StopCause>(() => undefined);
      const cause = await Promise.race([runtime.shutdown.then((signal): StopCause => ({ reason: 'signal', signal })), ended]);
      logger.info(cause, 'shutting down');
      return cause;
    } finally {
      await slack?.close();
      await scheduler?.close();
      await control.close();
      consolidation.stop();
      await knowledgeSync.stop();
      await liveActorsFile.stop();
    }
  } finally {
    // Live runs end first (as interrupted), so the host's in-flight effects can finish.
    await runs.close();
    await actorRuntime.close();
    await projectionHost.stop();
  }
}

/** Why the runtime stopped: a signal, or its session (the local chat) ended. */
export type StopCause = { readonly reason: 'signal'; readonly signal: ShutdownSignal } | { readonly reason: 'requested' };

/** The supervisor's limits follow the config; a change is recorded once. */
async function configureSupervisor(host: ActorHost, config: Config): Promise<void> {
  const supervisor = (await host.load('supervisor', SUPERVISOR_ID)).snapshot.context as SupervisorContext;
  if (supervisor.maxConcurrentRuns === config.runs.maxConcurrent && supervisor.maxRunsPerGroup === config.runs.maxPerGroup) return;
  await host.send('supervisor', SUPERVISOR_ID, { type: 'configure', maxConcurrentRuns: config.runs.maxConcurrent, maxRunsPerGroup: config.runs.maxPerGroup });
}

interface OpenedSlack {
  readonly app: RunningSlackApp;
  close(): Promise<void>;
}

interface SlackConnection {
  readonly tokens: SlackTokens;
  readonly bot: SlackBot;
}

async function checkSlack(config: Config, tokens: SlackTokens, logger: Logger): Promise<SlackBot> {
  try {
    return await checkSlackAuth(config, tokens, logger);
  } catch (error) {
    throw new Error(`Slack did not connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The Slack app, for the tokens and identity checked before the start was recorded. */
interface SlackAppSources {
  readonly config: Config;
  readonly host: ActorHost;
  readonly runs: AgentRuns;
  readonly logger: Logger;
  readonly startedAt: number;
  readonly schedulerOn: boolean;
}

async function openSlack(slack: SlackConnection, options: SlackAppSources): Promise<OpenedSlack> {
  const { config, host, runs, logger } = options;
  const readModels = new ReadModelReaders(config.dataDir);
  const interactions = new InteractionRouter();
  interactions.register(approvalButtons(host));
  try {
    const app = await openSlackApp({
      config,
      tokens: slack.tokens,
      bot: slack.bot,
      actors: host,
      readModels,
      interactions,
      logger,
      slash: {
        callTool: (name, input, context) => runs.tools.call(name, input, context),
        groupSettings: async (groupId) => ({ isAdmin: ((await host.load('group', groupId)).snapshot.context as GroupContext).settings?.isAdmin ?? false }),
        status: async (groupId) =>
          statusText({
            version: ledgerclawVersion(),
            startedAt: options.startedAt,
            now: Date.now(),
            sandbox: sandboxLine(runs.sandbox),
            scheduler: options.schedulerOn ? 'on' : 'off (scheduler.enabled = false)',
            supervisor: (await host.load('supervisor', SUPERVISOR_ID)).snapshot.context as SupervisorContext,
            group: (await host.load('group', groupId)).snapshot.context as GroupContext,
          }),
      },
    });
    return {
      app,
      close: async () => {
        await app.stop();
        await readModels.close();
      },
    };
  } catch (error) {
    await readModels.close();
    throw new Error(`Slack did not connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
