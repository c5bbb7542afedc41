/** A run ended → its slot freed (run.releaseSlot → supervisor `releaseRun`). */
import { SUPERVISOR_ID } from '../../actors/supervisor.js';
import { supervisorHolds } from './supervisor-holds.js';
import type { RefusedCommand, Workflow, WorkflowCommand } from './workflow.js';

export function releaseRun(runId: string): WorkflowCommand {
  return { kind: 'supervisor', id: SUPERVISOR_ID, command: { type: 'releaseRun', runId } };
}

/** The supervisor no longer holds the run: released before. */
export function slotAlreadyReleased(refused: RefusedCommand): boolean {
  return refused.kind === 'supervisor' && refused.command.type === 'releaseRun' && supervisorHolds(refused.target.context, refused.command.runId) === 'no';
}

export const releaseSlot: Workflow<'run.releaseSlot'> = {
  effect: 'run.releaseSlot',
  decide: ({ runId }) => [releaseRun(runId)],
  alreadyDone: slotAlreadyReleased,
};
