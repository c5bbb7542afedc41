/**
 * A task's run ended → its answer owed to the task's group (`deliverTaskResult`, which the
 * group posts through its reply path, found again by the run id after a crash), then the
 * task told how the run ended (`finishRun`).
 *
 * The answer goes first: once the task has heard of its run it no longer waits, so nothing
 * would deliver an answer a crash left undelivered. The other way round, a crash between
 * the two leaves the task waiting; after the restart `task.reconcileRun` decides again, the
 * group refuses the answer it already has (counted as done) and the task is told.
 *
 * Posted: the final answer of a completed run, when the task delivers to its group (`group`,
 * the default) and the group is configured. Not posted: an empty answer, a failed, timed
 * out or interrupted run (a run failing again and again suspends the task, which
 * admin-notice.ts reports), a `silent` task, and an answer the group could not take (a run
 * id it cannot key a reply by). The run keeps its answer whatever happens here.
 */
import type { ContextOf } from '../../actors/actor-kind.js';
import { groupCommands, type groupKind } from '../../actors/group.js';
import type { ReportOutcomeParams } from '../../actors/run.js';
import type { taskKind } from '../../actors/task.js';
import type { LoadedActor } from '../actor-host/effects.js';
import { replyForOutcome } from '../runs/outcome-reply.js';
import type { RefusedCommand, WorkflowCommand } from './workflow.js';

/** What is read to decide: the task, and the group its answer would go to. */
export interface TaskResultState {
  readonly task: LoadedActor<typeof taskKind>;
  readonly group?: LoadedActor<typeof groupKind> | undefined;
}

/** A report of a run a task fired. */
export type TaskRunReport = ReportOutcomeParams & { readonly taskId: string };

/** The group that hears the answer of a task's run: the run's group, which is the task's. */
export const taskResultGroup = (report: Pick<ReportOutcomeParams, 'groupId'>): { readonly kind: 'group'; readonly id: string } => ({
  kind: 'group',
  id: report.groupId,
});

/** The group's `deliverTaskResult` for this report, or null when nothing is to be posted. */
export function taskResultDelivery(report: TaskRunReport, task: ContextOf<typeof taskKind>, group: LoadedActor<typeof groupKind> | undefined): WorkflowCommand | null {
  if (report.outcome.status !== 'completed') return null;
  if ((task.definition?.deliver ?? 'group') !== 'group') return null;
  if (group === undefined || group.state === 'unconfigured') return null;
  const text = replyForOutcome(report.runId, report.outcome, { retrying: false });
  if (text === null) return null;
  const command = { type: 'deliverTaskResult' as const, taskId: report.taskId, runId: report.runId, text };
  // Only what the group can parse: a refused command would hold up the task's report.
  if (!groupCommands.safeParse(command).success) return null;
  return { kind: 'group', id: report.groupId, command };
}

/** What the task is told: how its run ended. */
export function finishTaskRun(report: TaskRunReport): WorkflowCommand {
  const detail = 'detail' in report.outcome && typeof report.outcome.detail === 'string' ? report.outcome.detail : undefined;
  return {
    kind: 'task',
    id: report.taskId,
    command: { type: 'finishRun', runId: report.runId, outcome: report.outcome.status === 'completed' ? 'succeeded' : 'failed', ...(detail ? { detail } : {}) },
  };
}

/** The commands a task's ended run calls for, in order: its answer delivered, then the task told. */
export function taskResultCommands(report: TaskRunReport, state: TaskResultState): WorkflowCommand[] {
  const delivery = taskResultDelivery(report, state.task.context, state.group);
  return [...(delivery ? [delivery] : []), finishTaskRun(report)];
}

/** The group has this answer already (owed or posted), or the task no longer waits for the run. */
export function taskResultAlreadyDone(refused: RefusedCommand): boolean {
  if (refused.kind === 'group' && refused.command.type === 'deliverTaskResult') return refused.target.context.recentReplyIds.includes(refused.command.runId);
  if (refused.kind === 'task' && refused.command.type === 'finishRun') return refused.target.context.runInFlight?.runId !== refused.command.runId;
  return false;
}
