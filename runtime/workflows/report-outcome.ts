/**
 * A run ended → told to whoever asked for it (run.reportOutcome): its task (`finishRun`,
 * after the run's answer is owed to the task's group unless the task is silent; see
 * task-result.ts), or, for a turn, its group (`runFinished`, with the reply the outcome calls for).
 */
import type { CommandOf, ContextOf } from '../../actors/actor-kind.js';
import type { groupKind } from '../../actors/group.js';
import type { ReportOutcomeParams } from '../../actors/run.js';
import { replyForOutcome } from '../runs/outcome-reply.js';
import { taskResultAlreadyDone, taskResultCommands, taskResultGroup } from './task-result.js';
import { WorkflowRefusedError, type RefusedCommand, type Workflow, type WorkflowCommand } from './workflow.js';

export interface WiringPolicy {
  /** A group run a runtime restart interrupted asks its group for the turn once more. */
  readonly retryInterruptedRuns: boolean;
}

/** How a run's ending reads to the group that asked for it. */
type GroupRunOutcome = Extract<CommandOf<typeof groupKind>, { type: 'runFinished' }>['outcome'];
const GROUP_OUTCOME_OF_RUN: Readonly<Partial<Record<ReportOutcomeParams['outcome']['status'], GroupRunOutcome>>> = {
  completed: 'completed',
  failed: 'failed',
  timed_out: 'timed_out',
  interrupted: 'interrupted',
};

/** What a group is told: how its run ended, whether the turn is tried again, and the reply. */
export function reportToGroup(report: ReportOutcomeParams, group: ContextOf<typeof groupKind>, policy: WiringPolicy): WorkflowCommand {
  const retry = policy.retryInterruptedRuns && report.outcome.status === 'interrupted' && report.outcome.reason === 'runtime_restarted';
  // A retried turn is not retried again (the group decides), so its interruption is said.
  const retrying = retry && group.currentRun?.runId === report.runId && group.currentRun.retryOf === null;
  const reply = replyForOutcome(report.runId, report.outcome, { retrying });
  return {
    kind: 'group',
    id: report.conversationId,
    command: {
      type: 'runFinished',
      runId: report.runId,
      outcome: GROUP_OUTCOME_OF_RUN[report.outcome.status] ?? 'failed',
      ...(retry ? { retry: true } : {}),
      ...(reply !== null ? { reply } : {}),
    },
  };
}

/** The target is no longer waiting for this run: told before. */
export function outcomeAlreadyReported(refused: RefusedCommand): boolean {
  if (refused.kind === 'task' && refused.command.type === 'finishRun') return refused.target.context.runInFlight?.runId !== refused.command.runId;
  if (refused.kind === 'group' && refused.command.type === 'runFinished') return refused.target.context.currentRun?.runId !== refused.command.runId;
  return false;
}

export function reportOutcome(policy: WiringPolicy): Workflow<'run.reportOutcome', { group?: 'group'; task?: 'task' }> {
  return {
    effect: 'run.reportOutcome',
    // A turn's report reads its group; a task's reads the task (does it deliver?) and the group its answer goes to.
    reads: (report) =>
      report.taskId === null
        ? { group: { kind: 'group', id: report.conversationId } }
        : { task: { kind: 'task', id: report.taskId }, group: taskResultGroup(report) },
    decide(report, { group, task }) {
      if (report.taskId !== null) {
        if (!task) throw new WorkflowRefusedError(`reporting run ${report.runId}: its task ${report.taskId} was not read`);
        return taskResultCommands({ ...report, taskId: report.taskId }, { task, group });
      }
      if (!group) throw new WorkflowRefusedError(`reporting run ${report.runId}: its group ${report.conversationId} was not read`);
      return [reportToGroup(report, group.context, policy)];
    },
    alreadyDone: (refused) => taskResultAlreadyDone(refused) || outcomeAlreadyReported(refused),
  };
}
