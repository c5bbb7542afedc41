/** Where the supervisor holds a run: the test the slot workflows use to tell done from refused. */
import type { ContextOf } from '../../actors/actor-kind.js';
import type { supervisorKind } from '../../actors/supervisor.js';

export function supervisorHolds(supervisor: ContextOf<typeof supervisorKind>, runId: string): 'queued' | 'active' | 'no' {
  if (supervisor.queue.some((run) => run.runId === runId)) return 'queued';
  return supervisor.active.some((run) => run.runId === runId) ? 'active' : 'no';
}
