/** A task fired → its run queued (task.requestTaskRun → run `queue`). */
import { runAlreadyQueued } from './queue-group-run.js';
import type { Workflow } from './workflow.js';

export const queueTaskRun: Workflow<'task.requestTaskRun'> = {
  effect: 'task.requestTaskRun',
  decide: (request) => [
    {
      kind: 'run',
      id: request.runId,
      command: {
        type: 'queue',
        groupId: request.groupId,
        taskId: request.taskId,
        trigger: 'task',
        turnRef: request.turnRef,
        contextMode: request.contextMode,
      },
    },
  ],
  alreadyDone: runAlreadyQueued,
};
