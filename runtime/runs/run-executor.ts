/**
 * The effects that take a run through its sandbox: `run.startContainer` (the run holds a
 * slot: build its prompt, start its sandbox, drive the runner, record how it ended) and
 * `run.reconcileContainer` (after a restart, a run the actors say is running has no
 * process here any more: its leftover sandbox is removed and the run is interrupted).
 *
 * Every step is a command to the run actor, keyed by the run id, so a step repeated after
 * a crash is stored once. Every run that gets this far ends with exactly one ending,
 * whatever throws on the way: a step that fails ends the run as failed, and an ending the
 * store refuses (a full disk) is retried with backoff until it is stored.
 *
 * The executor is the only one that knows which runs have a live sandbox in this process;
 * `stop()` interrupts them at shutdown and waits until their endings are recorded, so it
 * must run before the actor host closes.
 */
import { mkdir } from 'node:fs/promises';
import type { z } from 'zod';
import { defer, firstValueFrom, fromEvent, retry, takeUntil, throwError, timer } from 'rxjs';
import { join } from 'node:path';
import type { CommandOf } from '../../actors/actor-kind.js';
import type { RunContext, runKind } from '../../actors/run.js';
import { groupFilePath } from '../../projections/atomic-file.js';
import { InvalidCommandError, type Logger } from '../actor-host/actor-host.js';
import type { EffectContext, EffectExecutorsFor } from '../actor-host/effects.js';
import type { Config } from '../config.js';
import type { ModelGateway } from '../gateways/model-gateway.js';
import type { ToolCallContext } from '../gateways/tool-gateway.js';
import type { Sandbox, SandboxedProcess } from '../sandbox/sandbox.js';
import { WorkspaceQuota } from '../sandbox/workspace-quota.js';
import { buildRunContext, type ContextSources } from './context-builder.js';
import { syncInstructions } from '../instructions/record-instructions.js';
import { eventIdFor } from '../../events/ids.js';
import type { HostToolCallResult, RunProgress, RunSessionOutcome } from './run-session.js';
import { allowedWorkspaceTools, workspaceToolTier } from '../permissions/workspace-tools.js';
import { driveRun } from './run-session.js';
import { PROTOCOL_VERSION, type StartMessage } from '../../container/protocol/messages.js';
import type { EventStore } from '../../events/port.js';
import type { TokenTotals } from '../../events/catalogue/run.js';
import type { UsageLedger } from './usage-ledger.js';
import { agentRoles } from '../agent-roles.js';

export interface HostTools {
  definitions(context: ToolCallContext): StartMessage['hostTools'];
  call(name: string, input: unknown, context: ToolCallContext): Promise<HostToolCallResult>;
}

export interface RunExecutorDeps {
  readonly config: Config;
  readonly store: EventStore;
  readonly sandbox: Sandbox;
  readonly model: ModelGateway;
  readonly tools: HostTools;
  readonly usage: UsageLedger;
  readonly logger: Logger;
  /** Called with what each live run is doing (the local chat shows it). */
  readonly onProgress?: (runId: string, progress: RunProgress) => void;
  readonly now?: () => Date;
}

/** The workspace a group's runs share, read-write in the sandbox. */
export function groupWorkspaceDir(dataDir: string, groupId: string): string {
  return groupFilePath(dataDir, groupId, 'workspace');
}

/** Material every run may read: skills and shared documents, read-only in the sandbox. */
export function sharedDir(dataDir: string): string {
  return join(dataDir, 'shared');
}

type RunCommand = CommandOf<typeof runKind>;
/** A command that ends a run: complete, fail, timeOut or interrupt. */
type EndingCommand = Extract<RunCommand, { type: 'complete' | 'fail' | 'timeOut' | 'interrupt' }>;

/** How long `stop()` waits for live runs to record their endings before it gives up on them. */
const ENDING_PATIENCE_MS = 15_000;
/** Backoff between attempts to record an ending: doubling from the first, up to the last. */
const ENDING_RETRY_FIRST_MS = 100;
const ENDING_RETRY_MAX_MS = 10_000;

/** The effects that take a run through its sandbox. */
export type RunContainerEffect = 'run.startContainer' | 'run.reconcileContainer';

export class RunExecutor {
  private readonly live = new Map<string, SandboxedProcess | null>();
  /** Each live run, until its ending is recorded (or given up on at shutdown). */
  private readonly running = new Set<Promise<void>>();
  /** Aborted at shutdown: live sessions end as interrupted at once. */
  private readonly shutdown = new AbortController();
  /** Aborted when shutdown stops waiting: endings still refused are left to the next start. */
  private readonly giveUp = new AbortController();
  private stopping = false;

  constructor(private readonly deps: RunExecutorDeps) {}

  get effects(): EffectExecutorsFor<RunContainerEffect> {
    return {
      'run.startContainer': ({ runId }, context) => this.startContainer(runId, context),
      'run.reconcileContainer': ({ runId }, context) => this.reconcileContainer(runId, context),
    };
  }

  /** Runs with a sandbox in this process. */
  get liveRunIds(): string[] {
    return [...this.live.keys()];
  }

  /**
   * At start, before effects resume: every sandbox a previous process left is removed, so
   * no run goes on unobserved. Its run is interrupted by `reconcileContainer`.
   */
  async removeLeftovers(): Promise<string[]> {
    const leftovers = await this.deps.sandbox.findLeftovers();
    for (const leftover of leftovers) {
      await this.deps.sandbox.removeLeftover(leftover.id);
      this.deps.logger.warn({ runId: leftover.runId, sandbox: leftover.id }, 'removed a run sandbox left by a previous runtime process');
    }
    return leftovers.map((leftover) => leftover.runId);
  }

  /**
   * At shutdown, before the actor host closes: every live run is stopped and ends as
   * `run.interrupted` (`runtime_shutdown`), which a restart does not retry. Resolves once
   * those endings are recorded; an ending the store still refuses after ENDING_PATIENCE_MS
   * is given up on (logged), and the next start ends that run as `runtime_restarted`.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.shutdown.abort();
    await Promise.all([...this.live.values()].map((sandbox) => sandbox?.kill().catch(() => undefined)));
    const patience = setTimeout(() => this.giveUp.abort(), ENDING_PATIENCE_MS);
    await Promise.allSettled([...this.running]);
    clearTimeout(patience);
  }

  private async startContainer(runId: string, effect: EffectContext): Promise<void> {
    if (this.live.has(runId) || this.stopping) return;
    const view = await effect.load('run', runId);
    if (view.state !== 'starting') return; // started or ended already: the step happened
    const run = view.context;
    const request = run.request;
    if (request === null) throw new Error(`run ${runId} is starting but was never queued`);
    this.live.set(runId, null);
    const running = this.runToItsEnd(runId, request, effect);
    this.running.add(running);
    try {
      await running;
    } finally {
      this.running.delete(running);
      this.live.delete(runId);
    }
  }

  /** Runs the run, then records its one ending; whatever throws on the way becomes that ending. */
  private async runToItsEnd(runId: string, request: NonNullable<RunContext['request']>, effect: EffectContext): Promise<void> {
    let ending: () => Promise<EndingCommand>;
    try {
      ending = await this.runInSandbox(runId, request, effect);
    } catch (error) {
      this.deps.logger.error({ runId, err: error }, 'the run failed on the host');
      const detail = `the host failed during the run: ${error instanceof Error ? error.message : String(error)}`.slice(0, 4_000);
      ending = async () => ({ type: 'fail', reason: error instanceof RecordingError ? 'recording_failed' : 'crash', detail });
    }
    await this.recordEnding(runId, ending, effect);
  }

  /**
   * Sends the ending until it is stored: a refused write (a full disk, a busy store) is
   * retried with backoff, as rxjs's `retry` does it. An ending the actor rejects (the run
   * ended already) counts as stored: there is one ending, and it is that one.
   */
  private async recordEnding(runId: string, ending: () => Promise<EndingCommand>, effect: EffectContext): Promise<void> {
    const { logger } = this.deps;
    const attempt = (build: () => Promise<EndingCommand>) =>
      firstValueFrom(
        defer(async () => effect.send('run', runId, await build(), { commandId: `${runId}:end` })).pipe(
          retry({
            resetOnSuccess: true,
            delay: (error: unknown, count: number) => {
              if (error instanceof InvalidCommandError || this.giveUp.signal.aborted) return throwError(() => error);
              const waitMs = Math.min(ENDING_RETRY_MAX_MS, ENDING_RETRY_FIRST_MS * 2 ** (count - 1));
              logger.warn({ runId, attempt: count, retryInMs: waitMs, err: error }, "the run's ending could not be recorded; retrying");
              return timer(waitMs).pipe(takeUntil(fromEvent(this.giveUp.signal, 'abort')));
            },
          }),
        ),
      );
    try {
      await attempt(ending);
    } catch (error) {
      if (!(error instanceof InvalidCommandError)) {
        logger.error({ runId, err: error }, "gave up recording the run's ending at shutdown; the next start ends the run as interrupted");
        return;
      }
      // A bug in what was decided (a field out of range) must not leave the run without an ending.
      logger.error({ runId, err: error }, "the run's ending was not a valid command; it ends as crashed instead");
      const detail = `the run's ending could not be recorded as decided: ${error.message}`.slice(0, 4_000);
      await attempt(async () => ({ type: 'fail', reason: 'crash', detail })).catch((fallbackError: unknown) =>
        logger.error({ runId, err: fallbackError }, "gave up recording the run's ending"),
      );
    }
  }

  /** Takes the run from its prompt to its outcome; returns how to build its ending command. */
  private async runInSandbox(runId: string, request: NonNullable<RunContext['request']>, effect: EffectContext): Promise<() => Promise<EndingCommand>> {
    const { config, logger } = this.deps;
    const send = async (command: RunCommand, key: string) => {
      try {
        return await effect.send('run', runId, command, { commandId: `${runId}:${key}` });
      } catch (error) {
        if (error instanceof InvalidCommandError) throw error;
        throw new RecordingError(`could not record ${command.type}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    const ended = (command: EndingCommand) => async () => command;

    const unavailable = this.deps.model.unavailableReason;
    if (unavailable !== null) return ended({ type: 'fail', reason: 'model_error', detail: unavailable });
    let start: StartMessage;
    let toolContext: ToolCallContext;
    try {
      const prompt = await buildRunContext(this.contextSources(effect, runId), runId, request);
      // The conversation's settings: a thread takes its channel's, and may exist where the channel group does not.
      const group = (await effect.load('group', request.conversationId)).context;
      toolContext = {
        runId,
        groupId: request.groupId,
        conversationId: request.conversationId,
        taskId: request.taskId,
        userId: prompt.answeringUser,
        isAdminGroup: group.settings?.isAdmin ?? false,
        rolesAddressingUsers: group.settings?.rolesAddressingUsers ?? [],
        roles: agentRoles(config.agent.roles),
      };
      await send(
        {
          type: 'noteContext',
          model: config.agent.model,
          system: prompt.system,
          messages: prompt.messages,
          tokenEstimate: prompt.tokenEstimate,
          windowBudgetTokens: prompt.windowBudgetTokens,
          instructions: prompt.instructions,
        },
        'context',
      );
      start = {
        type: 'start',
        protocol: PROTOCOL_VERSION,
        runId,
        model: config.agent.model,
        maxTokens: config.agent.maxTokens,
        maxIterations: config.agent.maxIterations,
        system: prompt.system,
        messages: prompt.messages,
        hostTools: this.deps.tools.definitions(toolContext),
        workspace: {
          bashEnabled: this.deps.sandbox.highRiskToolsAllowed,
          // Above the group's tier, a workspace tool is not offered: nothing in the sandbox can wait for an approval.
          tools: allowedWorkspaceTools(request.groupId, config.permissions),
          bashTimeoutMs: config.runs.bashTimeoutMs,
          maxOutputChars: 30_000,
        },
      };
    } catch (error) {
      if (error instanceof RecordingError) throw error;
      return ended({ type: 'fail', reason: 'start_failed', detail: `the run's prompt could not be built: ${(error as Error).message}`.slice(0, 4_000) });
    }
    if (this.stopping) return ended(interruptedByShutdown());

    const workspaceDir = groupWorkspaceDir(config.dataDir, request.groupId);
    await mkdir(workspaceDir, { recursive: true });
    await mkdir(sharedDir(config.dataDir), { recursive: true });
    const workspaceBytes = config.runs.workspaceMb * 1024 * 1024;
    let sandbox: SandboxedProcess;
    let quota: WorkspaceQuota;
    try {
      quota = await WorkspaceQuota.begin(workspaceDir, workspaceBytes);
      sandbox = await this.deps.sandbox.start({
        runId,
        groupId: request.groupId,
        workspaceDir,
        sharedDir: sharedDir(config.dataDir),
        env: {},
        limits: { memoryBytes: config.runs.memoryMb * 1024 * 1024, cpus: config.runs.cpus, pids: config.runs.pids, tmpBytes: 64 * 1024 * 1024, fileBytes: workspaceBytes },
      });
    } catch (error) {
      logger.error({ runId, err: error }, 'the run sandbox did not start');
      return ended({ type: 'fail', reason: 'start_failed', detail: `the sandbox did not start: ${(error as Error).message}`.slice(0, 4_000) });
    }
    this.live.set(runId, sandbox);
    try {
      if (this.stopping) {
        await sandbox.kill();
        return ended(interruptedByShutdown());
      }
      await send({ type: 'reportStarted', containerId: sandbox.id.slice(0, 200) }, 'started');
      if (request.taskId === null) await effect.send('group', request.conversationId, { type: 'runStarted', runId }, { commandId: `${runId}:group-started` });
    } catch (error) {
      await sandbox.kill().catch((killError: unknown) => logger.warn({ runId, err: killError }, 'the run sandbox could not be killed'));
      throw error;
    }

    const outcome = await driveRun({
      sandbox,
      start,
      model: this.deps.model,
      policy: { model: config.agent.model, maxTokens: config.agent.maxTokens },
      // The use's key (the model's tool_use id, made unique in the run) keys what the call records.
      callHostTool: (callKey, name, input) => this.deps.tools.call(name, input, { ...toolContext, callId: callKey }),
      workspaceToolTier: (name) => workspaceToolTier(name, config.permissions),
      budgetExceeded: () => this.deps.usage.exceeded({ runId, groupId: request.groupId, taskId: request.taskId }),
      workspaceOverQuota: () => quota.overQuota(),
      recordModelCall: async (record, key) => {
        await send({ type: 'noteModelCall', ...record, output: [...record.output] }, `model:${key}`);
      },
      recordToolCall: async ({ key, ...record }) => {
        await send({ type: 'noteToolCall', ...record, input: recordedInput(record.input), output: record.output.slice(0, 20_000) }, `tool:${key}`);
      },
      limits: { hardTimeoutMs: config.runs.hardTimeoutMs, idleTimeoutMs: config.runs.idleTimeoutMs },
      shutdown: this.shutdown.signal,
      logger,
      ...(this.deps.onProgress ? { onProgress: (progress: RunProgress) => this.deps.onProgress?.(runId, progress) } : {}),
    });
    logger.info({ runId, outcome: outcome.status }, 'run ended');
    return async () => {
      const { usage } = (await effect.load('run', runId)).context;
      return endingCommand(outcome, runId, usage.tokens);
    };
  }

  private async reconcileContainer(runId: string, effect: EffectContext): Promise<void> {
    if (this.live.has(runId)) return; // ours, and running
    const leftovers = await this.deps.sandbox.findLeftovers();
    const mine = leftovers.filter((leftover) => leftover.runId === runId);
    for (const leftover of mine) await this.deps.sandbox.removeLeftover(leftover.id);
    await effect.send(
      'run',
      runId,
      {
        type: 'interrupt',
        reason: 'runtime_restarted',
        detail: mine.length > 0 ? 'the runtime restarted during the run; its sandbox was removed' : 'the runtime restarted during the run; its sandbox was gone',
      },
      { commandId: `${runId}:end` },
    );
  }

  private contextSources(effect: EffectContext, runId: string): ContextSources {
    const dataDir = this.deps.config.dataDir;
    return {
      store: this.deps.store,
      dataDir,
      agent: this.deps.config.agent,
      // A change the run is the first to see is recorded under a command id of the run and the text, so a resumed run records it once.
      instructions: (scope) =>
        syncInstructions(dataDir, scope, async (_scope, command) => {
          const commandId = `instructions:${eventIdFor('instructions', runId, scope, command.hash)}`;
          const result = await effect.send('instructions', scope, command, { commandId });
          return result.status === 'accepted' ? { status: 'accepted' } : { status: 'rejected', reason: result.reason };
        }),
      now: this.deps.now ?? (() => new Date()),
      taskTurn: async (taskId, runId) => {
        const task = (await effect.load('task', taskId)).context;
        if (task.definition === null) return null;
        // The fire that asked for this run, while the task still waits for it (a finished run's note is gone with it).
        const fire = task.runInFlight?.runId === runId ? task.runInFlight : null;
        return { prompt: task.definition.prompt, gateDetail: fire?.gateDetail ?? null, missed: fire?.missed ?? null };
      },
    };
  }
}

/** A tool input larger than this is recorded as its first characters, marked as cut. */
const RECORDED_INPUT_CHARS = 20_000;

type Json = z.core.util.JSONType;

function recordedInput(input: unknown): Json {
  const text = JSON.stringify(input ?? null);
  // The input arrived as JSON on the runner's channel; the run kind's schema checks it again on send.
  return text.length <= RECORDED_INPUT_CHARS ? ((input ?? null) as Json) : { truncated: true, first: text.slice(0, RECORDED_INPUT_CHARS) };
}

/** A step of the run could not be stored: the run ends `recording_failed`. */
class RecordingError extends Error {
  override readonly name = 'RecordingError';
}

function interruptedByShutdown(): EndingCommand {
  return { type: 'interrupt', reason: 'runtime_shutdown', detail: 'the runtime shut down during the run' };
}

function endingCommand(outcome: RunSessionOutcome, runId: string, tokens: TokenTotals): EndingCommand {
  switch (outcome.status) {
    case 'completed':
      return { type: 'complete', summary: (outcome.answer || `(run ${runId} ended without an answer: ${outcome.stopReason})`).slice(0, 20_000), tokens };
    case 'failed':
      return { type: 'fail', reason: outcome.reason, detail: outcome.detail };
    case 'timed_out':
      return { type: 'timeOut', limit: outcome.limit, limitMs: outcome.limitMs };
    case 'interrupted':
      return interruptedByShutdown();
  }
}
