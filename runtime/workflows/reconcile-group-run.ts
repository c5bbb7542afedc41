/**
 * After a restart, a group still waiting for its run (group.reconcileRun): if the run has
 * ended (its report was lost to the crash), the group is told as the run would have told it.
 * A run still going reports itself.
 */
import { reportOutcomeParams } from '../../actors/run.js';
import { outcomeAlreadyReported, reportToGroup, type WiringPolicy } from './report-outcome.js';
import { isFinished, type Workflow } from './workflow.js';

export function reconcileGroupRun(policy: WiringPolicy): Workflow<'group.reconcileRun', { run: 'run'; group: 'group' }> {
  return {
    effect: 'group.reconcileRun',
    reads: ({ runId, groupId }) => ({ run: { kind: 'run', id: runId }, group: { kind: 'group', id: groupId } }),
    decide(_, { run, group }) {
      if (!isFinished(run.state)) return [];
      const { outcome, request } = run.context;
      if (outcome === null || request === null || request.taskId !== null) return [];
      return [reportToGroup(reportOutcomeParams(run.context, outcome), group.context, policy)];
    },
    alreadyDone: outcomeAlreadyReported,
  };
}
