/** A run queued → the supervisor asked for a slot (run.requestSlot → supervisor `requestRun`). */
import { SUPERVISOR_ID } from '../../actors/supervisor.js';
import { supervisorHolds } from './supervisor-holds.js';
import type { Workflow } from './workflow.js';

export const requestSlot: Workflow<'run.requestSlot'> = {
  effect: 'run.requestSlot',
  decide: ({ runId, groupId }) => [{ kind: 'supervisor', id: SUPERVISOR_ID, command: { type: 'requestRun', runId, groupId } }],
  // Queued or running there already: asked before.
  alreadyDone: (refused, { runId }) => refused.kind === 'supervisor' && supervisorHolds(refused.target.context, runId) !== 'no',
};
