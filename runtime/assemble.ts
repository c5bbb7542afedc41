/**
 * Assembles the running runtime on an open, verified store whose start is recorded: the
 * read models, the agent runs (sandbox, model and tool gateways), the actor host with every
 * effect executor (among them the approvals' expiry timers and granted actions), the live-actors file, the control socket, knowledge sync, consolidation,
 * Slack, the owed effects resumed, and the scheduler. Each part is added to the shutdown as
 * it opens, so a start that fails half-way still stops what it opened, in the order
 * runtime/shutdown-order.ts sets.
 */
import type { AnyActorKind } from '../actors/actor-kind.js';
import { SUPERVISOR_ID } from '../actors/supervisor.js';
import type { Projection } from '../projections/projection.js';
import { ProjectionHost } from '../projections/projection-host.js';
import type { ActorHost } from './actor-host/actor-host.js';
import { openActorRuntime } from './actor-runtime.js';
import { agentRoles } from './agent-roles.js';
import { executeApprovedActionEffects } from './approvals/execute-approved-action.js';
import { ApprovalExpiryTimers } from './approvals/expiry-timers.js';
import { createActorWiring } from './actor-wiring.js';
import { conversationEffects, loggedChannel, routedChannel } from './channels/conversation-channel.js';
import { groupsAwaitingEffects } from './channels/pending-group-effects.js';
import { completeEffectExecutors } from './actor-host/effects.js';
import { openSlack, type SlackConnection } from './channels/slack/slack-connection.js';
import type { Config } from './config.js';
import { ConsolidationTrigger } from './consolidation-trigger.js';
import { openRuntimeControl } from './control/runtime-control.js';
import type { RunningInspector } from './inspector.js';
import { knowledgeProjections, startKnowledgeSyncLoop } from './knowledge/sources.js';
import { LiveActorsFileWriter } from './live-actors-file.js';
import { ConsolidationExecutor } from './memory/consolidation-executor.js';
import { UsageLedger } from './runs/usage-ledger.js';
import type { Logger } from './logger.js';
import type { OpenedEventStore } from './open-store.js';
import { openAgentRuns } from './runs/agent-runs.js';
import type { BannerFacts, LiveRuntime, RuntimeSession } from './runtime-session.js';
import type { Sandbox } from './sandbox/sandbox.js';
import { adminNoticeEffects } from './scheduler/admin-notice.js';
import { openScheduler } from './scheduler/open-scheduler.js';
import { tasksAwaitingRuns } from './scheduler/pending-task-runs.js';
import type { OrderedShutdown } from './shutdown-order.js';
import type { RecordedStart } from './start-stop-record.js';

export interface AssemblyInputs {
  readonly config: Config;
  readonly opened: OpenedEventStore;
  readonly started: RecordedStart;
  readonly kinds: readonly AnyActorKind[];
  /** The read models the runtime maintains (projections/index.ts, but in tests). */
  readonly readModels: readonly Projection[];
  /** Slack's tokens and who the app is, checked before the start was recorded; null without Slack. */
  readonly slack: SlackConnection | null;
  readonly inspector: RunningInspector | undefined;
  /** The local chat, when the runtime runs one: its channel takes the groups Slack does not. */
  readonly session: RuntimeSession | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly logger: Logger;
}

export interface AssembledRuntime {
  readonly live: LiveRuntime;
  readonly facts: BannerFacts;
}

/** Opens every part of the runtime, adding each to `shutdown` as soon as it is open. */
export async function assembleRuntime(inputs: AssemblyInputs, shutdown: OrderedShutdown): Promise<AssembledRuntime> {
  const { config, opened, logger } = inputs;
  // Read models follow $all from their checkpoints; a raised version rebuilds beside the live one.
  const projectionHost = new ProjectionHost({
    store: opened.store,
    projections: [...inputs.readModels, ...knowledgeProjections(config)],
    dataDir: config.dataDir,
    logger,
  });
  const caughtUp = (name: string, position: bigint) => projectionHost.waitFor(name, position);
  let host: ActorHost | undefined;
  const fallbackChannel = inputs.session?.channel ?? loggedChannel(logger);
  // Slack joins once the actor host it feeds is open; effects read the channel when they run.
  let channel = routedChannel([], fallbackChannel);
  const runs = await openAgentRuns({
    config,
    store: opened.store,
    actors: () => {
      if (!host) throw new Error('the actor host is not open yet');
      return host;
    },
    env: inputs.env,
    // Read at each post: Slack joins the channel after the runs are assembled.
    channel: { post: (message) => channel.post(message), postToChannel: (post) => channel.postToChannel(post) },
    caughtUp,
    logger,
  });
  shutdown.add('runs', () => runs.close());
  // Consolidation's model calls count against the same daily budget as the group's runs.
  const consolidationUsage = new UsageLedger({ store: opened.store, dataDir: config.dataDir, budgets: config.budgets, caughtUp });
  const consolidator = new ConsolidationExecutor({
    store: opened.store,
    model: runs.model,
    spentToday: (groupId) => consolidationUsage.spentToday('group', groupId),
    settings: {
      model: config.agent.model,
      maxTokens: config.agent.maxTokens,
      maxAttempts: config.memory.consolidationMaxAttempts,
      retryDelayMs: config.memory.consolidationRetryDelayMs,
      groupDailyTokens: config.budgets.groupDailyTokens,
    },
    logger,
  });
  // Armed by pending approvals as their effects resume; cleared before the host closes.
  const approvalTimers = new ApprovalExpiryTimers({ logger });
  shutdown.add('approvalTimers', () => approvalTimers.stop());
  const actorRuntime = await openActorRuntime({
    store: opened.store,
    config,
    readOnly: false,
    logger,
    kinds: inputs.kinds,
    // Complete: a declared effect with no executor is a compile error here, and the host checks again at start.
    effects: completeEffectExecutors({
      ...createActorWiring({ retryInterruptedRuns: config.runs.retryInterrupted }),
      ...runs.effects,
      ...conversationEffects(() => channel),
      ...adminNoticeEffects(() => channel, config.scheduler.adminGroup),
      ...consolidator.effects,
      ...approvalTimers.effects,
      ...executeApprovedActionEffects({ tools: () => runs.tools, roles: agentRoles(config.agent.roles) }),
    }),
    requireAllEffects: true,
  });
  host = actorRuntime.host;
  shutdown.add('actorHost', () => actorRuntime.close());
  shutdown.add('projections', () => projectionHost.stop());

  await projectionHost.start();
  await configureSupervisor(actorRuntime.host, config);
  const removed = await runs.executor.removeLeftovers();
  if (removed.length > 0) logger.warn({ runs: removed }, 'removed sandboxes a previous runtime process left; their runs end as interrupted');
  // Attached first, so the actors loaded to resume their effects show in the inspector too.
  inputs.inspector?.attach(actorRuntime.host.inspection, { kinds: inputs.kinds });
  const liveActorsFile = await LiveActorsFileWriter.start({ dataDir: config.dataDir, source: actorRuntime.host, logger });
  shutdown.add('liveActorsFile', () => liveActorsFile.stop());
  // `ledgerclaw tasks pause` and the like reach the actor host through it while we run.
  const control = await openRuntimeControl({ dataDir: config.dataDir, actors: actorRuntime.host, logger });
  shutdown.add('control', () => control.close());
  const knowledgeSync = startKnowledgeSyncLoop(opened.store, config, { env: inputs.env, cwd: inputs.cwd, logger });
  shutdown.add('knowledgeSync', () => knowledgeSync.stop());
  const consolidation = new ConsolidationTrigger({ store: opened.store, actors: actorRuntime.host, budgetTokens: config.memory.consolidationBudgetTokens, logger });
  await consolidation.start();
  shutdown.add('consolidation', () => {
    consolidation.stop();
    consolidator.stop();
  });

  // Before owed effects resume: a reply owed to a Slack thread needs Slack to be posted.
  const slack = inputs.slack && (await openSlack(inputs.slack, { config, host: actorRuntime.host, runs, logger, startedAt: inputs.started.at, schedulerOn: config.scheduler.enabled }));
  if (slack) {
    shutdown.add('slack', () => slack.close());
    channel = routedChannel([slack.app.channel], fallbackChannel);
  }
  const candidates = { store: opened.store, caughtUp, dataDir: config.dataDir, logger };
  const resumedEffects = await actorRuntime.host.resumePendingEffects({ task: tasksAwaitingRuns(candidates), group: groupsAwaitingEffects(candidates) });
  logger.info({ resumedEffects }, 'resumed the effects actor states say are owed');
  // After the owed effects: a task whose run is still being asked for is not due again.
  const scheduler = await startScheduler({ ...inputs, host: actorRuntime.host, caughtUp, sandbox: runs.sandbox }, shutdown);
  return {
    live: { host: actorRuntime.host, store: opened.store, runs, config },
    facts: {
      eventStoreLocation: opened.backend.location,
      durability: opened.backend.durability,
      previous: inputs.started.previousShutdown,
      kinds: actorRuntime.host.kindNames,
      resumedEffects,
      inspector: inputs.inspector,
      sandbox: runs.sandbox,
      modelUnavailable: runs.model.unavailableReason,
      slack: slack?.app ?? null,
      slackMode: config.slack.mode,
      scheduler,
    },
  };
}

/** The supervisor's limits follow the config; a change is recorded once. */
async function configureSupervisor(host: ActorHost, config: Config): Promise<void> {
  const supervisor = (await host.load('supervisor', SUPERVISOR_ID)).snapshot.context;
  if (supervisor.maxConcurrentRuns === config.runs.maxConcurrent && supervisor.maxRunsPerGroup === config.runs.maxPerGroup) return;
  await host.send('supervisor', SUPERVISOR_ID, { type: 'configure', maxConcurrentRuns: config.runs.maxConcurrent, maxRunsPerGroup: config.runs.maxPerGroup });
}

interface SchedulerSources {
  readonly config: Config;
  readonly opened: OpenedEventStore;
  readonly host: ActorHost;
  readonly caughtUp: (name: string, position: bigint) => Promise<void>;
  readonly sandbox: Sandbox;
  readonly logger: Logger;
}

/** A scheduler that cannot start (its read model failed, say) leaves conversations running. */
async function startScheduler(sources: SchedulerSources, shutdown: OrderedShutdown): Promise<BannerFacts['scheduler']> {
  const { config, logger } = sources;
  if (!config.scheduler.enabled) return 'off';
  try {
    const scheduler = await openScheduler({
      store: sources.opened.store,
      actors: sources.host,
      caughtUp: sources.caughtUp,
      sandbox: sources.sandbox,
      config,
      logger,
    });
    shutdown.add('scheduler', () => scheduler.close());
    return { armedTasks: scheduler.armedTasks };
  } catch (error) {
    logger.error({ err: error }, 'the scheduler could not start: scheduled tasks do not fire until the runtime is restarted');
    return { failed: error instanceof Error ? error.message : String(error) };
  }
}
