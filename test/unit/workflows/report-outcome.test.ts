import { describe, expect, it } from 'vitest';
import type { CommandOf } from '../../../actors/actor-kind.js';
import type { groupKind } from '../../../actors/group.js';
import type { ReportOutcomeParams, RunOutcome } from '../../../actors/run.js';
import type { WorkflowCommand } from '../../../runtime/workflows/workflow.js';
import { reconcileGroupRun } from '../../../runtime/workflows/reconcile-group-run.js';
import { reportOutcome } from '../../../runtime/workflows/report-outcome.js';
import { workflowSpec } from '../../support/workflow-spec.js';
import { group, GROUP, RUN, run, task, TASK } from './fixtures.js';

const keep = { retryInterruptedRuns: false };
const retry = { retryInterruptedRuns: true };

const oom: RunOutcome = { status: 'failed', reason: 'oom', detail: 'killed at 512 MiB' };
const restarted: RunOutcome = { status: 'interrupted', reason: 'runtime_restarted', detail: null };
const report = (outcome: RunOutcome, taskId: string | null = null): ReportOutcomeParams => ({
  runId: RUN,
  groupId: GROUP,
  conversationId: GROUP,
  taskId,
  trigger: taskId ? 'task' : 'mention',
  outcome,
});
type RunFinished = Extract<CommandOf<typeof groupKind>, { type: 'runFinished' }>;
const toGroup = (command: Omit<RunFinished, 'type' | 'runId'>): WorkflowCommand => ({ kind: 'group', id: GROUP, command: { type: 'runFinished', runId: RUN, ...command } });

describe('workflow run.reportOutcome: an ended run tells whoever asked for it', () => {
  it('tells its group how a turn ended, with the reply the outcome calls for', () => {
    workflowSpec(reportOutcome(keep))
      .given({ group: group.awaiting(RUN) })
      .when(report(oom))
      .thenSends([toGroup({ outcome: 'failed', reply: `I could not finish this: my sandbox ran out of memory. (run ${RUN})` })]);
  });

  it('passes on a completed turn without a reply when the run said nothing', () => {
    workflowSpec(reportOutcome(keep))
      .given({ group: group.awaiting(RUN) })
      .when(report({ status: 'completed', summary: '  ' }))
      .thenSends([toGroup({ outcome: 'completed' })]);
  });

  it('asks the group to retry a turn a restart interrupted, silently, under the retry policy', () => {
    workflowSpec(reportOutcome(retry)).given({ group: group.awaiting(RUN) }).when(report(restarted)).thenSends([toGroup({ outcome: 'interrupted', retry: true })]);
  });

  it('says the interruption of a turn that was itself a retry (the group will not retry it again)', () => {
    workflowSpec(reportOutcome(retry))
      .given({ group: group.awaiting(RUN, 'r-first') })
      .when(report(restarted))
      .thenSends([
        toGroup({ outcome: 'interrupted', retry: true, reply: `I was interrupted before I could answer: the assistant was restarted. Please ask again. (run ${RUN})` }),
      ]);
  });

  it('says the interruption and asks no retry without the retry policy', () => {
    workflowSpec(reportOutcome(keep))
      .given({ group: group.awaiting(RUN) })
      .when(report(restarted))
      .thenSends([toGroup({ outcome: 'interrupted', reply: `I was interrupted before I could answer: the assistant was restarted. Please ask again. (run ${RUN})` })]);
  });

  it('counts a refused report as done once the task or group no longer waits for this run', () => {
    const finishRun = { kind: 'task', id: TASK, command: { type: 'finishRun', runId: RUN, outcome: 'failed' } } as const;
    const taskState = { task: task.awaiting(), group: group.idle() };
    workflowSpec(reportOutcome(keep)).given(taskState).refused(finishRun, task.finished()).when(report(oom, TASK)).isAlreadyDone();
    workflowSpec(reportOutcome(keep)).given(taskState).refused(finishRun, task.awaiting()).when(report(oom, TASK)).isRefused();
    const runFinished = toGroup({ outcome: 'failed' });
    workflowSpec(reportOutcome(keep)).refused(runFinished, group.idle()).when(report(oom)).isAlreadyDone();
    workflowSpec(reportOutcome(keep)).refused(runFinished, group.awaiting(RUN)).when(report(oom)).isRefused();
  });
});

describe('workflow group.reconcileRun: after a restart, a group still waiting hears of its ended run', () => {
  const reconcile = { groupId: GROUP, runId: RUN };

  it('reports a run that ended while its report was lost, as the run would have', () => {
    workflowSpec(reconcileGroupRun(keep))
      .given({ run: run.failed(), group: group.awaiting(RUN) })
      .when(reconcile)
      .thenSends([toGroup({ outcome: 'failed', reply: `I could not finish this: my sandbox ran out of memory. (run ${RUN})` })]);
  });

  it('sends nothing for a run still going (it reports itself)', () => {
    workflowSpec(reconcileGroupRun(keep)).given({ run: run.running(), group: group.awaiting(RUN) }).when(reconcile).thenSends([]);
  });

  it("sends nothing for a task's run (its task hears of it)", () => {
    workflowSpec(reconcileGroupRun(keep)).given({ run: run.failed(TASK), group: group.awaiting(RUN) }).when(reconcile).thenSends([]);
  });

  it('reads the run and the waiting group', () => {
    const { reads } = workflowSpec(reconcileGroupRun(keep)).given({ run: run.running(), group: group.awaiting(RUN) }).when(reconcile);
    expect(reads).toEqual({ run: { kind: 'run', id: RUN }, group: { kind: 'group', id: GROUP } });
  });
});
