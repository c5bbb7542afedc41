/**
 * The hops that connect actors to one another, as workflows (runtime/workflows/): a fired
 * task or a requested turn queues its run, a queued run asks the supervisor for a slot, a
 * dispatched run gets its slot, a finished run frees it and reports to its task or group
 * (a task's answer owed to its group first), and an approved action's result is owed to
 * the conversation that asked for it.
 * Each workflow is pure; the runner executes it idempotently (see run-workflow.ts).
 *
 * Effects that reach outside the runtime live beside what they reach: a run's container in
 * runs/ (run-executor.ts), a conversation's posts and reactions in channels/
 * (conversation-channel.ts). runtime/workflows/README.md lists every hop.
 */
import type { EffectExecutorsFor } from './actor-host/effects.js';
import { approvalResult } from './workflows/approval-result.js';
import { enforceMemoryCapacity } from './workflows/enforce-memory-capacity.js';
import { grantSlot } from './workflows/grant-slot.js';
import { queueGroupRun } from './workflows/queue-group-run.js';
import { queueTaskRun } from './workflows/queue-task-run.js';
import { reconcileGroupRun } from './workflows/reconcile-group-run.js';
import { reconcileTaskRun } from './workflows/reconcile-task-run.js';
import { releaseSlot } from './workflows/release-slot.js';
import { reportOutcome, type WiringPolicy } from './workflows/report-outcome.js';
import { requestSlot } from './workflows/request-slot.js';
import { runWorkflow } from './workflows/run-workflow.js';

export type { WiringPolicy } from './workflows/report-outcome.js';

/** The hops between actors that the wiring carries. */
export type WiringEffect =
  | 'group.requestRun'
  | 'task.requestTaskRun'
  | 'run.requestSlot'
  | 'supervisor.grantSlot'
  | 'run.releaseSlot'
  | 'run.reportOutcome'
  | 'group.reconcileRun'
  | 'memory.enforceCapacity'
  | 'task.reconcileRun'
  | 'approval.deliverResult';

/** The wiring under a policy (`start` takes it from `runs.retryInterrupted`). */
export function createActorWiring(policy: WiringPolicy): EffectExecutorsFor<WiringEffect> {
  return {
    'group.requestRun': runWorkflow(queueGroupRun),
    'task.requestTaskRun': runWorkflow(queueTaskRun),
    'run.requestSlot': runWorkflow(requestSlot),
    'supervisor.grantSlot': runWorkflow(grantSlot),
    'run.releaseSlot': runWorkflow(releaseSlot),
    'run.reportOutcome': runWorkflow(reportOutcome(policy)),
    'group.reconcileRun': runWorkflow(reconcileGroupRun(policy)),
    'memory.enforceCapacity': runWorkflow(enforceMemoryCapacity),
    'task.reconcileRun': runWorkflow(reconcileTaskRun),
    'approval.deliverResult': runWorkflow(approvalResult),
  };
}

/** The wiring with interrupted runs left as they are. */
export const actorWiring: EffectExecutorsFor<WiringEffect> = createActorWiring({ retryInterruptedRuns: false });
