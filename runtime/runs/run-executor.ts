/**
 * The effects that take a run through its sandbox: `run.startContainer` (the run holds a
 * slot: build its prompt, start its sandbox, drive the runner, record how it ended) and
 * `run.reconcileContainer` (after a restart, a run the actors say is running has no
 * process here any more: its leftover sandbox is removed and the run is interrupted).
 *
 * Every step is a command to the run actor, keyed by the run id, so a step repeated after
 * a crash is stored once. The executor is the only one that knows which runs have a live
 * sandbox in this process; `stop()` interrupts them at shutdown.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext } from '../../actors/run.js';
import type { TaskContext } from '../../actors/task.js';
import { groupFilePath } from '../../projections/atomic-file.js';
import type { Logger } from '../actor-host/actor-host.js';
import type { EffectContext, EffectExecutors } from '../actor-host/effects.js';
import type { Config } from '../config.js';
import type { ModelGateway } from '../gateways/model-gateway.js';
import type { ToolCallContext } from '../gateways/tool-gateway.js';
import type { Sandbox, SandboxedProcess } from '../sandbox/sandbox.js';
import { WorkspaceQuota } from '../sandbox/workspace-quota.js';
import { buildRunContext, type ContextSources } from './context-builder.js';
import type { RunProgress, RunSessionOutcome } from './run-session.js';
import { driveRun } from './run-session.js';
import { PROTOCOL_VERSION, type StartMessage } from '../../container/protocol/messages.js';
import type { EventStore } from '../../events/port.js';
import type { TokenTotals } from '../../events/catalogue/run.js';
import type { GroupContext } from '../../actors/group.js';
import type { UsageLedger } from './usage-ledger.js';
import { agentRoles } from '../agent-roles.js';

export interface HostTools {
  definitions(context: ToolCallContext): StartMessage['hostTools'];
  call(name: string, input: unknown, context: ToolCallContext): Promise<{ content: string; isError: boolean }>;
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

export class RunExecutor {
  private readonly live = new Map<string, SandboxedProcess | null>();
  private stopping = false;

  constructor(private readonly deps: RunExecutorDeps) {}

  get effects(): EffectExecutors {
    return {
      'run.startContainer': (params, context) => this.startContainer((params as { runId: string }).runId, context),
      'run.reconcileContainer': (params, context) => this.reconcileContainer((params as { runId: string }).runId, context),
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

  /** At shutdown: live runs are killed; each ends as interrupted (runtime_shutdown). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.live.values()].map((sandbox) => sandbox?.kill()));
  }

  private async startContainer(runId: string, effect: EffectContext): Promise<void> {
    if (this.live.has(runId) || this.stopping) return;
    const view = await effect.load('run', runId);
    if (view.state !== 'starting') return; // started or ended already: the step happened
    const run = view.context as RunContext;
    const request = run.request;
    if (request === null) throw new Error(`run ${runId} is starting but was never queued`);
    this.live.set(runId, null);
    try {
      await this.runInSandbox(runId, request, effect);
    } finally {
      this.live.delete(runId);
    }
  }

  private async runInSandbox(runId: string, request: NonNullable<RunContext['request']>, effect: EffectContext): Promise<void> {
    const { config, logger } = this.deps;
    const send = (command: Record<string, unknown> & { type: string }, key: string) => effect.send('run', runId, command, { commandId: `${runId}:${key}` });

    const unavailable = this.deps.model.unavailableReason;
    if (unavailable !== null) {
      await send({ type: 'fail', reason: 'model_error', detail: unavailable }, 'end');
      return;
    }
    let start: StartMessage;
    let toolContext: ToolCallContext;
    try {
      const prompt = await buildRunContext(this.contextSources(effect), runId, request);
      // The conversation's settings: a thread takes its channel's, and may exist where the channel group does not.
      const group = (await effect.load('group', request.conversationId)).context as GroupContext;
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
        { type: 'noteContext', model: config.agent.model, system: prompt.system, messages: prompt.messages, tokenEstimate: prompt.tokenEstimate, windowBudgetTokens: prompt.windowBudgetTokens },
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
        workspace: { bashEnabled: this.deps.sandbox.highRiskToolsAllowed, bashTimeoutMs: config.runs.bashTimeoutMs, maxOutputChars: 30_000 },
      };
    } catch (error) {
      await send({ type: 'fail', reason: 'start_failed', detail: `the run's prompt could not be built: ${(error as Error).message}`.slice(0, 4_000) }, 'end');
      return;
    }

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
      await send({ type: 'fail', reason: 'start_failed', detail: `the sandbox did not start: ${(error as Error).message}`.slice(0, 4_000) }, 'end');
      return;
    }
    this.live.set(runId, sandbox);
    if (this.stopping) await sandbox.kill();
    await send({ type: 'reportStarted', containerId: sandbox.id.slice(0, 200) }, 'started');
    if (request.taskId === null) await effect.send('group', request.conversationId, { type: 'runStarted', runId }, { commandId: `${runId}:group-started` });

    const outcome = await driveRun({
      sandbox,
      start,
      model: this.deps.model,
      policy: { model: config.agent.model, maxTokens: config.agent.maxTokens },
      // The model's tool_use id keys the call, so a retried call is recorded once.
      callHostTool: (callId, name, input) => this.deps.tools.call(name, input, { ...toolContext, callId }),
      budgetExceeded: () => this.deps.usage.exceeded({ runId, groupId: request.groupId, taskId: request.taskId }),
      workspaceOverQuota: () => quota.overQuota(),
      recordModelCall: async (record) => {
        await send({ type: 'noteModelCall', ...record, output: [...record.output] }, `model:${record.callId}`);
      },
      recordToolCall: async (record) => {
        await send({ type: 'noteToolCall', ...record, input: recordedInput(record.input), output: record.output.slice(0, 20_000) }, `tool:${record.callId}`);
      },
      limits: { hardTimeoutMs: config.runs.hardTimeoutMs, idleTimeoutMs: config.runs.idleTimeoutMs },
      ...(this.deps.onProgress ? { onProgress: (progress: RunProgress) => this.deps.onProgress?.(runId, progress) } : {}),
    });
    const usage = ((await effect.load('run', runId)).context as RunContext).usage;
    await send(this.stopping && outcome.status !== 'completed' ? interruptedByShutdown() : endingCommand(outcome, runId, usage.tokens), 'end');
    logger.info({ runId, outcome: outcome.status }, 'run ended');
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

  private contextSources(effect: EffectContext): ContextSources {
    return {
      store: this.deps.store,
      dataDir: this.deps.config.dataDir,
      agent: this.deps.config.agent,
      now: this.deps.now ?? (() => new Date()),
      taskTurn: async (taskId, runId) => {
        const task = (await effect.load('task', taskId)).context as TaskContext;
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

function recordedInput(input: unknown): unknown {
  const text = JSON.stringify(input ?? null);
  return text.length <= RECORDED_INPUT_CHARS ? (input ?? null) : { truncated: true, first: text.slice(0, RECORDED_INPUT_CHARS) };
}

function interruptedByShutdown(): Record<string, unknown> & { type: string } {
  return { type: 'interrupt', reason: 'runtime_shutdown', detail: 'the runtime shut down during the run' };
}

function endingCommand(outcome: RunSessionOutcome, runId: string, tokens: TokenTotals): Record<string, unknown> & { type: string } {
  switch (outcome.status) {
    case 'completed':
      return { type: 'complete', summary: (outcome.answer || `(run ${runId} ended without an answer: ${outcome.stopReason})`).slice(0, 20_000), tokens };
    case 'failed':
      return { type: 'fail', reason: outcome.reason, detail: outcome.detail };
    case 'timed_out':
      return { type: 'timeOut', limit: outcome.limit, limitMs: outcome.limitMs };
  }
}
