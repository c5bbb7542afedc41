/**
 * The effect executors that connect actors to one another: a fired task queues its run,
 * a queued run asks the supervisor for a slot, a dispatched run gets its slot, a finished
 * run frees it and reports to its task. Each is idempotent: when a command is refused,
 * the executor reads the target's state, and a state that shows the step already happened
 * counts as done; so a resumed or repeated effect changes nothing.
 *
 * Effects that reach outside the runtime live beside what they reach: a run's container in
 * runs/ (run-executor.ts), a conversation's posts and reactions in channels/
 * (conversation-channel.ts).
 */
import type { CommandOf } from '../actors/actor-kind.js';
import { homeGroupId, type groupKind } from '../actors/group.js';
import { reportOutcomeParams, type ReportOutcomeParams, type RunSlotParams } from '../actors/run.js';
import { SUPERVISOR_ID } from '../actors/supervisor.js';
import type { RunTrigger } from '../events/catalogue/run.js';
import type { SendResult } from './actor-host/actor-host.js';
import type { EffectContext, EffectExecutorsFor, EffectParams } from './actor-host/effects.js';
import { replyForOutcome } from './runs/outcome-reply.js';

class RefusedStepError extends Error {
  override readonly name = 'RefusedStepError';
}

function refused(what: string, result: SendResult): RefusedStepError {
  return new RefusedStepError(`${what} was refused: ${result.status === 'rejected' ? result.reason : 'unexpectedly'}`);
}

async function supervisorHolds(context: EffectContext, runId: string): Promise<'queued' | 'active' | 'no'> {
  const supervisor = (await context.load('supervisor', SUPERVISOR_ID)).context;
  if (supervisor.queue.some((run) => run.runId === runId)) return 'queued';
  return supervisor.active.some((run) => run.runId === runId) ? 'active' : 'no';
}

async function queueTaskRun(request: EffectParams<'task.requestTaskRun'>, context: EffectContext): Promise<void> {
  const result = await context.send('run', request.runId, {
    type: 'queue',
    groupId: request.groupId,
    taskId: request.taskId,
    trigger: 'task',
    turnRef: request.turnRef,
    contextMode: request.contextMode,
  });
  // A run past `new` was queued before.
  if (result.status === 'rejected' && result.state === 'new') throw refused(`queueing run ${request.runId}`, result);
}

/** How a group's turn trigger reads as a run trigger. */
const RUN_TRIGGER_OF_TURN: Readonly<Record<EffectParams<'group.requestRun'>['trigger'], RunTrigger>> = {
  mention: 'mention',
  dm: 'dm',
  thread_follow_up: 'thread',
  all: 'channel',
  queued: 'queued',
};

async function queueGroupRun(request: EffectParams<'group.requestRun'>, context: EffectContext): Promise<void> {
  // Looked up, not trusted: the params come from stored events, which an older version may have written.
  const trigger: RunTrigger | undefined = RUN_TRIGGER_OF_TURN[request.trigger];
  if (!trigger) throw new RefusedStepError(`group turn trigger '${request.trigger}' has no run trigger`);
  const result = await context.send('run', request.runId, {
    type: 'queue',
    // A thread's run belongs to its channel (memory, workspace, budget, slot) and answers the thread.
    groupId: homeGroupId(request.groupId),
    conversationId: request.groupId,
    trigger,
    // The messages the turn answers; the context builder reads them from the group's stream.
    turnRef: `group-${request.groupId}@${request.messageIds.join(',')}`.slice(0, 500),
    contextMode: 'group',
  });
  if (result.status === 'rejected' && result.state === 'new') throw refused(`queueing run ${request.runId}`, result);
}

async function requestSlot({ runId, groupId }: RunSlotParams, context: EffectContext): Promise<void> {
  const result = await context.send('supervisor', SUPERVISOR_ID, { type: 'requestRun', runId, groupId });
  if (result.status === 'rejected' && (await supervisorHolds(context, runId)) === 'no') throw refused(`asking a slot for run ${runId}`, result);
}

async function grantSlot(params: EffectParams<'supervisor.grantSlot'>, context: EffectContext): Promise<void> {
  const { runId } = params;
  const result = await context.send('run', runId, { type: 'grantSlot' });
  if (result.status === 'accepted' || result.state === 'starting' || result.state === 'running') return;
  if (!result.state.startsWith('finished')) throw refused(`granting a slot to run ${runId}`, result);
  // The run ended without its release reaching the supervisor (a crash): free the slot now.
  await releaseSlot(params, context);
}

async function releaseSlot({ runId }: { readonly runId: string }, context: EffectContext): Promise<void> {
  const result = await context.send('supervisor', SUPERVISOR_ID, { type: 'releaseRun', runId });
  if (result.status === 'rejected' && (await supervisorHolds(context, runId)) !== 'no') throw refused(`releasing the slot of run ${runId}`, result);
}

/** How a run's ending reads to the group that asked for it. */
type GroupRunOutcome = Extract<CommandOf<typeof groupKind>, { type: 'runFinished' }>['outcome'];
const GROUP_OUTCOME_OF_RUN: Readonly<Partial<Record<ReportOutcomeParams['outcome']['status'], GroupRunOutcome>>> = {
  completed: 'completed',
  failed: 'failed',
  timed_out: 'timed_out',
  interrupted: 'interrupted',
};

export interface WiringPolicy {
  /** A group run a runtime restart interrupted asks its group for the turn once more. */
  readonly retryInterruptedRuns: boolean;
}

async function reportOutcome(report: ReportOutcomeParams, context: EffectContext, policy: WiringPolicy): Promise<void> {
  if (report.taskId === null) {
    await reportToGroup(report, context, policy);
    return;
  }
  const detail = 'detail' in report.outcome && typeof report.outcome.detail === 'string' ? report.outcome.detail : undefined;
  const result = await context.send('task', report.taskId, {
    type: 'finishRun',
    runId: report.runId,
    outcome: report.outcome.status === 'completed' ? 'succeeded' : 'failed',
    ...(detail ? { detail } : {}),
  });
  if (result.status === 'accepted') return;
  const task = (await context.load('task', report.taskId)).context;
  // Still waiting for this very run: the report really was refused.
  if (task.runInFlight?.runId === report.runId) throw refused(`reporting run ${report.runId} to task ${report.taskId}`, result);
}

async function reportToGroup(report: ReportOutcomeParams, context: EffectContext, policy: WiringPolicy): Promise<void> {
  const retry = policy.retryInterruptedRuns && report.outcome.status === 'interrupted' && report.outcome.reason === 'runtime_restarted';
  const group = (await context.load('group', report.conversationId)).context;
  // A retried turn is not retried again (the group decides), so its interruption is said.
  const retrying = retry && group.currentRun?.runId === report.runId && group.currentRun.retryOf === null;
  const reply = replyForOutcome(report.runId, report.outcome, { retrying });
  const result = await context.send('group', report.conversationId, {
    type: 'runFinished',
    runId: report.runId,
    outcome: GROUP_OUTCOME_OF_RUN[report.outcome.status] ?? 'failed',
    ...(retry ? { retry: true } : {}),
    ...(reply !== null ? { reply } : {}),
  });
  if (result.status === 'accepted') return;
  const now = (await context.load('group', report.conversationId)).context;
  if (now.currentRun?.runId === report.runId) throw refused(`reporting run ${report.runId} to group ${report.conversationId}`, result);
}

/**
 * After a restart, a group still waiting for its run: if the run has ended (its report was
 * lost to the crash), report it as the run would have. A run still going reports itself.
 */
async function reconcileGroupRun({ runId }: EffectParams<'group.reconcileRun'>, context: EffectContext, policy: WiringPolicy): Promise<void> {
  const run = await context.load('run', runId);
  if (!run.state.startsWith('finished')) return;
  const runContext = run.context;
  if (runContext.outcome === null || runContext.request === null || runContext.request.taskId !== null) return;
  await reportToGroup(reportOutcomeParams(runContext, runContext.outcome), context, policy);
}

/** The wiring under a policy (`start` takes it from `runs.retryInterrupted`). */
/** The hops between actors that the wiring carries. */
export type WiringEffect =
  | 'group.requestRun'
  | 'task.requestTaskRun'
  | 'run.requestSlot'
  | 'supervisor.grantSlot'
  | 'run.releaseSlot'
  | 'run.reportOutcome'
  | 'group.reconcileRun';

export function createActorWiring(policy: WiringPolicy): EffectExecutorsFor<WiringEffect> {
  return {
    'group.requestRun': queueGroupRun,
    'task.requestTaskRun': queueTaskRun,
    'run.requestSlot': requestSlot,
    'supervisor.grantSlot': grantSlot,
    'run.releaseSlot': releaseSlot,
    'run.reportOutcome': (params, context) => reportOutcome(params, context, policy),
    'group.reconcileRun': (params, context) => reconcileGroupRun(params, context, policy),
  };
}

/** The wiring with interrupted runs left as they are. */
export const actorWiring: EffectExecutorsFor<WiringEffect> = createActorWiring({ retryInterruptedRuns: false });
