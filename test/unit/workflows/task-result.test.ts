/**
 * A scheduled task's answer reaches its group: run.reportOutcome (the run's own report) and
 * task.reconcileRun (a task still waiting after a restart) owe the answer to the group, then
 * tell the task; silent tasks, empty answers and failed runs post nothing.
 */
import { describe, expect, it } from 'vitest';
import type { ReportOutcomeParams, RunOutcome } from '../../../actors/run.js';
import { reconcileTaskRun } from '../../../runtime/workflows/reconcile-task-run.js';
import { reportOutcome } from '../../../runtime/workflows/report-outcome.js';
import type { WorkflowCommand } from '../../../runtime/workflows/workflow.js';
import { workflowSpec } from '../../support/workflow-spec.js';
import { group, GROUP, RUN, run, task, TASK } from './fixtures.js';

const keep = { retryInterruptedRuns: false };
const ANSWER = 'Sales yesterday: 42 orders, 3 refunds.';
const completed: RunOutcome = { status: 'completed', summary: `  ${ANSWER}\n` };
const oom: RunOutcome = { status: 'failed', reason: 'oom', detail: 'killed at 512 MiB' };
const report = (outcome: RunOutcome): ReportOutcomeParams => ({ runId: RUN, groupId: GROUP, conversationId: GROUP, taskId: TASK, trigger: 'task', outcome });

const deliver: WorkflowCommand = { kind: 'group', id: GROUP, command: { type: 'deliverTaskResult', taskId: TASK, runId: RUN, text: ANSWER } };
const succeeded: WorkflowCommand = { kind: 'task', id: TASK, command: { type: 'finishRun', runId: RUN, outcome: 'succeeded' } };
const failed: WorkflowCommand = { kind: 'task', id: TASK, command: { type: 'finishRun', runId: RUN, outcome: 'failed', detail: 'killed at 512 MiB' } };

describe("workflow run.reportOutcome, a task's run: its answer owed to the group, then the task told", () => {
  const outcomeOf = reportOutcome(keep);

  it("owes a completed run's answer to the task's group before telling the task, reading both", () => {
    const outcome = workflowSpec(outcomeOf).given({ task: task.awaiting(), group: group.idle() }).when(report(completed));
    expect(outcome.reads).toEqual({ task: { kind: 'task', id: TASK }, group: { kind: 'group', id: GROUP } });
    outcome.thenSends([deliver, succeeded]);
  });

  it('posts nothing for a silent task, and tells the task', () => {
    workflowSpec(outcomeOf).given({ task: task.awaiting('silent'), group: group.idle() }).when(report(completed)).thenSends([succeeded]);
  });

  it('posts nothing for an empty answer', () => {
    workflowSpec(outcomeOf).given({ task: task.awaiting(), group: group.idle() }).when(report({ status: 'completed', summary: ' \n ' })).thenSends([succeeded]);
  });

  it('posts nothing for a failed run (repeated failures suspend the task and notify the admins), and tells the task why', () => {
    workflowSpec(outcomeOf).given({ task: task.awaiting(), group: group.idle() }).when(report(oom)).thenSends([failed]);
    workflowSpec(outcomeOf)
      .given({ task: task.awaiting(), group: group.idle() })
      .when(report({ status: 'timed_out', limit: 'hard', limitMs: 60_000 }))
      .thenSends([{ kind: 'task', id: TASK, command: { type: 'finishRun', runId: RUN, outcome: 'failed' } }]);
  });

  it('posts nothing in a group not configured (the assistant takes no part in it), and still tells the task', () => {
    workflowSpec(outcomeOf).given({ task: task.awaiting(), group: group.unconfigured() }).when(report(completed)).thenSends([succeeded]);
  });

  it('cuts an answer longer than Slack takes to the longest reply', () => {
    const long = 'x'.repeat(40_010);
    workflowSpec(outcomeOf)
      .given({ task: task.awaiting(), group: group.idle() })
      .when(report({ status: 'completed', summary: long }))
      .thenSends([{ ...deliver, command: { type: 'deliverTaskResult', taskId: TASK, runId: RUN, text: 'x'.repeat(40_000) } } as WorkflowCommand, succeeded]);
  });

  it('posts nothing rather than hold up the report when the run id cannot key a reply', () => {
    workflowSpec(outcomeOf)
      .given({ task: task.awaiting(), group: group.idle() })
      .when({ ...report(completed), runId: 'task-ops:digest-20260105T100000000Z' })
      .thenSends([{ kind: 'task', id: TASK, command: { type: 'finishRun', runId: 'task-ops:digest-20260105T100000000Z', outcome: 'succeeded' } }]);
  });

  it('counts a refused delivery as done when the group has the answer, owed or posted (a report repeated after a crash)', () => {
    const given = workflowSpec(outcomeOf).given({ task: task.awaiting(), group: group.idle() });
    given.refused(deliver, group.withTaskResult(RUN, false)).when(report(completed)).isAlreadyDone();
    given.refused(deliver, group.withTaskResult(RUN, true)).when(report(completed)).isAlreadyDone();
    given.refused(deliver, group.withTaskResult('task-42-other', true)).when(report(completed)).isRefused();
    given.refused(deliver, group.unconfigured()).when(report(completed)).isRefused();
  });
});

describe('workflow task.reconcileRun: after a restart, a task still waiting hears of its ended run', () => {
  const reconcile = { taskId: TASK, runId: RUN, groupId: GROUP };

  it('delivers the answer and tells the task when the run completed while its report was lost (the crash before the post)', () => {
    const outcome = workflowSpec(reconcileTaskRun).given({ run: run.completed(TASK, ANSWER), task: task.awaiting(), group: group.idle() }).when(reconcile);
    expect(outcome.reads).toEqual({ run: { kind: 'run', id: RUN }, task: { kind: 'task', id: TASK }, group: { kind: 'group', id: GROUP } });
    outcome.thenSends([deliver, succeeded]);
  });

  it('tells the task once the group already has the answer (the crash came between the two)', () => {
    workflowSpec(reconcileTaskRun)
      .given({ run: run.completed(TASK, ANSWER), task: task.awaiting(), group: group.withTaskResult(RUN, true) })
      .refused(deliver, group.withTaskResult(RUN, true))
      .when(reconcile)
      .isAlreadyDone();
  });

  it('tells the task of a failed run, posting nothing', () => {
    workflowSpec(reconcileTaskRun).given({ run: run.failed(TASK), task: task.awaiting(), group: group.idle() }).when(reconcile).thenSends([failed]);
  });

  it('sends nothing for a run still going or not yet queued (it reports itself; requestTaskRun queues it)', () => {
    workflowSpec(reconcileTaskRun).given({ run: run.running(), task: task.awaiting(), group: group.idle() }).when(reconcile).thenSends([]);
    workflowSpec(reconcileTaskRun).given({ run: run.new(), task: task.awaiting(), group: group.idle() }).when(reconcile).thenSends([]);
  });

  it('sends nothing for a run another asked for', () => {
    workflowSpec(reconcileTaskRun).given({ run: run.failed(), task: task.awaiting(), group: group.idle() }).when(reconcile).thenSends([]);
  });
});
