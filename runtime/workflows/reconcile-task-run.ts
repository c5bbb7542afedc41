/**
 * After a restart, a task still waiting for its run (task.reconcileRun): if the run has
 * ended (its report was lost to the crash, wholly or after the answer was delivered), the
 * run's answer is delivered and the task told, as the run's own report would have. A run
 * still going reports itself; a run not yet queued is queued by `task.requestTaskRun`.
 */
import { reportOutcomeParams } from '../../actors/run.js';
import { taskResultAlreadyDone, taskResultCommands, taskResultGroup } from './task-result.js';
import { isFinished, type Workflow } from './workflow.js';

export const reconcileTaskRun: Workflow<'task.reconcileRun', { run: 'run'; task: 'task'; group: 'group' }> = {
  effect: 'task.reconcileRun',
  reads: ({ runId, taskId, groupId }) => ({ run: { kind: 'run', id: runId }, task: { kind: 'task', id: taskId }, group: taskResultGroup({ groupId }) }),
  decide({ taskId }, { run, task, group }) {
    if (!isFinished(run.state)) return [];
    const { outcome, request } = run.context;
    if (outcome === null || request === null || request.taskId !== taskId) return [];
    return taskResultCommands({ ...reportOutcomeParams(run.context, outcome), taskId }, { task, group });
  },
  alreadyDone: taskResultAlreadyDone,
};
