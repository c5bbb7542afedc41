/**
 * The supervisor dispatched a run → the run granted its slot (supervisor.grantSlot → run
 * `grantSlot`). A run that ended without its release reaching the supervisor (a crash) gets
 * its slot freed instead (supervisor `releaseRun`).
 */
import { releaseRun, slotAlreadyReleased } from './release-slot.js';
import { isFinished, type Workflow } from './workflow.js';

export const grantSlot: Workflow<'supervisor.grantSlot', { run: 'run' }> = {
  effect: 'supervisor.grantSlot',
  reads: ({ runId }) => ({ run: { kind: 'run', id: runId } }),
  decide: ({ runId }, { run }) => (isFinished(run.state) ? [releaseRun(runId)] : [{ kind: 'run', id: runId, command: { type: 'grantSlot' } }]),
  // Starting or running: granted before.
  alreadyDone: (refused) =>
    slotAlreadyReleased(refused) || (refused.kind === 'run' && (refused.target.state === 'starting' || refused.target.state === 'running')),
};
