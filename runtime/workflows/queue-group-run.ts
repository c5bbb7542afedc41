/** A group's turn requested → its run queued (group.requestRun → run `queue`). */
import { homeGroupId } from '../../actors/group.js';
import type { RunTrigger } from '../../events/catalogue/run.js';
import type { EffectParams } from '../actor-host/effects.js';
import { WorkflowRefusedError, type RefusedCommand, type Workflow } from './workflow.js';

/** How a group's turn trigger reads as a run trigger. */
const RUN_TRIGGER_OF_TURN: Readonly<Record<EffectParams<'group.requestRun'>['trigger'], RunTrigger>> = {
  mention: 'mention',
  dm: 'dm',
  thread_follow_up: 'thread',
  all: 'channel',
  queued: 'queued',
};

/** A run past `new` was queued before. */
export function runAlreadyQueued(refused: RefusedCommand): boolean {
  return refused.kind === 'run' && refused.command.type === 'queue' && refused.target.state !== 'new';
}

export const queueGroupRun: Workflow<'group.requestRun'> = {
  effect: 'group.requestRun',
  decide(request) {
    // Looked up, not trusted: the params come from stored events, which an older version may have written.
    const trigger: RunTrigger | undefined = RUN_TRIGGER_OF_TURN[request.trigger];
    if (!trigger) throw new WorkflowRefusedError(`group turn trigger '${request.trigger}' has no run trigger`);
    return [
      {
        kind: 'run',
        id: request.runId,
        command: {
          type: 'queue',
          // A thread's run belongs to its channel (memory, workspace, budget, slot) and answers the thread.
          groupId: homeGroupId(request.groupId),
          conversationId: request.groupId,
          trigger,
          // The messages the turn answers; the context builder reads them from the group's stream.
          turnRef: `group-${request.groupId}@${request.messageIds.join(',')}`.slice(0, 500),
          contextMode: 'group',
        },
      },
    ];
  },
  alreadyDone: runAlreadyQueued,
};
